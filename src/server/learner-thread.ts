/**
 * Entry of the learner worker thread: lowers this thread's priority, then serves learner-body.ts.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { serveLearner } from './learner-body';
import type { LearnerInit, LearnerReply } from './learner-protocol';
import { currentThreadId } from './thread-cpu';

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
  await serveLearner(init, { send: (reply) => port.postMessage(reply), onRequest: (listener) => port.on('message', listener) }, () => ({ priority, threadId: currentThreadId() }));
}

main().catch((err: Error) => {
  parentPort?.postMessage({ id: 0, kind: 'failed', message: err.stack ?? err.message } satisfies LearnerReply);
});
