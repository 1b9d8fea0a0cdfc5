/**
 * The learner thread's body: a PpoBackend that only learns and saves. The server's event loop
 * keeps acting from its own copy of the weights; after each update this thread sends the new
 * weights back, and the event loop swaps them in at once with their version.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { LearnerInit, LearnerReply, LearnerRequest } from './learner-protocol';
import { PpoBackend, serverReward, type CheckpointRecord } from './learner';
import { encodeWeights } from './weights-codec';

/** The `GET /v1/weights` body, serialised here so the request thread never does it. */
function weightsBody(backend: PpoBackend): string {
  return JSON.stringify({ version: backend.version, weights: encodeWeights(backend.weights()) });
}

/**
 * Lowers this thread's (only this thread's) scheduling priority: on Linux a thread id names one
 * thread to setpriority. When CPUs are scarce, answering requests goes first and learning waits.
 * Elsewhere, or where /proc/thread-self is missing, the thread keeps the process's priority.
 */
function yieldToRequests(niceness: number): void {
  if (niceness <= 0) return;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.min(19, os.getPriority() + niceness));
  } catch {
    // Not Linux, or not permitted: the learner runs at normal priority.
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('learner-thread.ts runs only as a worker thread');
  const init = workerData as LearnerInit;
  yieldToRequests(init.niceness);
  const backend = await PpoBackend.create({ config: init.config, reward: serverReward(init.reward), weights: init.weights, version: init.version });
  const send = (reply: LearnerReply) => port.postMessage(reply);
  send({ id: 0, kind: 'ready', weights: backend.weights(), version: backend.version, backend: backend.backendName, weightsBody: weightsBody(backend) });
  // One request at a time, in order: the server never has two updates in flight.
  let chain = Promise.resolve();
  let history: CheckpointRecord['history'] = [];
  port.on('message', (request: LearnerRequest) => {
    chain = chain.then(async () => {
      try {
        if (request.kind === 'update') {
          const stats = await backend.update(request.trajectory);
          send({ id: request.id, kind: 'updated', weights: backend.weights(), version: backend.version, stats, weightsBody: weightsBody(backend) });
        } else {
          history = history.slice(0, request.historyFrom).concat(request.record.history);
          await backend.save(request.dir, { ...request.record, history });
          send({ id: request.id, kind: 'saved' });
        }
      } catch (err) {
        send({ id: request.id, kind: 'failed', message: (err as Error).message });
      }
    });
  });
}

main().catch((err: Error) => {
  parentPort?.postMessage({ id: 0, kind: 'failed', message: err.stack ?? err.message } satisfies LearnerReply);
});
