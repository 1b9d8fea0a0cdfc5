/**
 * What the learner does wherever it runs (a worker thread or a child process): a PpoBackend that
 * only learns and saves. The server's event loop keeps acting from its own copy of the weights;
 * after each update the learner sends the new weights back, and the event loop swaps them in at
 * once with their version.
 */
import { PpoBackend, serverReward, type CheckpointRecord } from './learner';
import type { LearnerInit, LearnerReply, LearnerRequest } from './learner-protocol';
import { encodeWeights } from './weights-codec';

/** The `GET /v1/weights` body, serialised here so the request thread never does it. */
function weightsBody(backend: PpoBackend): string {
  return JSON.stringify({ version: backend.version, weights: encodeWeights(backend.weights()) });
}

export interface LearnerPort {
  send(reply: LearnerReply): void;
  onRequest(listener: (request: LearnerRequest) => void): void;
}

/**
 * Starts the backend, takes its working priority (`settle`, which says what it runs at), says it
 * is ready, then answers requests one at a time, in order.
 */
export async function serveLearner(init: LearnerInit, port: LearnerPort, settle: () => { priority: string; threadId: number | null }): Promise<void> {
  const backend = await PpoBackend.create({ config: init.config, reward: serverReward(init.reward), weights: init.weights, version: init.version });
  port.send({ id: 0, kind: 'ready', weights: backend.weights(), version: backend.version, backend: backend.backendName, weightsBody: weightsBody(backend), ...settle() });
  // One request at a time, in order: the server never has two updates in flight.
  let chain = Promise.resolve();
  let history: CheckpointRecord['history'] = [];
  port.onRequest((request) => {
    chain = chain.then(async () => {
      try {
        if (request.kind === 'update') {
          const stats = await backend.update(request.trajectory);
          port.send({ id: request.id, kind: 'updated', weights: backend.weights(), version: backend.version, stats, weightsBody: weightsBody(backend) });
        } else {
          history = history.slice(0, request.historyFrom).concat(request.record.history);
          await backend.save(request.dir, { ...request.record, history });
          port.send({ id: request.id, kind: 'saved' });
        }
      } catch (err) {
        port.send({ id: request.id, kind: 'failed', message: (err as Error).message });
      }
    });
  });
}
