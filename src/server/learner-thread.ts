/**
 * The learner thread's body: a PpoBackend that only learns and saves. The server's event loop
 * keeps acting from its own copy of the weights; after each update this thread sends the new
 * weights back, and the event loop swaps them in at once with their version.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { LearnerInit, LearnerReply, LearnerRequest } from './learner-protocol';
import { PpoBackend, serverReward, type CheckpointRecord } from './learner';
import { currentThreadId } from './thread-cpu';
import { encodeWeights } from './weights-codec';

/** The `GET /v1/weights` body, serialised here so the request thread never does it. */
function weightsBody(backend: PpoBackend): string {
  return JSON.stringify({ version: backend.version, weights: encodeWeights(backend.weights()) });
}

/**
 * Lowers this thread's (only this thread's) scheduling priority: on Linux a thread id names one
 * thread to setpriority and to sched_setscheduler (through util-linux's `chrt`, as Node has no
 * binding for it). When CPUs are scarce, answering requests goes first and learning waits.
 * Elsewhere, or where /proc/thread-self or chrt is missing, the thread keeps the process's
 * priority. Returns what the thread runs at, for /v1/status.
 */
function yieldToRequests(niceness: number, schedIdle: boolean): string {
  let tid: number;
  try {
    tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return 'normal (no per-thread priority on this platform)';
  }
  if (!Number.isInteger(tid) || tid <= 0) return 'normal (no thread id)';
  const shown: string[] = [];
  if (niceness > 0) {
    try {
      os.setPriority(tid, Math.min(19, os.getPriority() + niceness));
      shown.push(`niceness ${os.getPriority(tid)}`);
    } catch (err) {
      shown.push(`niceness unchanged (${(err as Error).message})`);
    }
  }
  if (schedIdle) {
    try {
      execFileSync('chrt', ['--idle', '--pid', '0', String(tid)], { stdio: 'ignore', timeout: 5000 });
      shown.push('SCHED_IDLE');
    } catch (err) {
      shown.push(`SCHED_IDLE unavailable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  return shown.length ? shown.join(', ') : 'normal';
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('learner-thread.ts runs only as a worker thread');
  const init = workerData as LearnerInit;
  const priority = yieldToRequests(init.niceness, init.schedIdle ?? false);
  const backend = await PpoBackend.create({ config: init.config, reward: serverReward(init.reward), weights: init.weights, version: init.version });
  const send = (reply: LearnerReply) => port.postMessage(reply);
  send({ id: 0, kind: 'ready', weights: backend.weights(), version: backend.version, backend: backend.backendName, weightsBody: weightsBody(backend), priority, threadId: currentThreadId() });
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
