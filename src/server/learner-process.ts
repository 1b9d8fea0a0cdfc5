/**
 * Entry of the learner child process (learner-channel.ts's ProcessChannel): waits for its
 * LearnerInit as the first IPC message, then serves learner-body.ts. The parent started it niced;
 * once its policy is initialised it moves all its threads to SCHED_IDLE (when asked, and where
 * util-linux's `chrt` exists). It exits when the server goes away (the IPC channel closes), so
 * no learner outlives its server.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { serveLearner } from './learner-body';
import type { LearnerInit, LearnerReply, LearnerRequest } from './learner-protocol';

const SCHED_IDLE = 5;

/**
 * Puts every thread of this process under SCHED_IDLE (`chrt --all-tasks`): it then learns only on
 * CPU time nothing else wants. Done after start-up, which therefore runs at the niceness alone and
 * does not wait for an idle CPU; threads started later inherit it from the thread that starts them.
 * Returns why it could not, or null.
 */
function idleAllThreads(): string | null {
  try {
    execFileSync('chrt', ['--all-tasks', '--idle', '--pid', '0', String(process.pid)], { stdio: 'ignore', timeout: 5000 });
    return null;
  } catch (err) {
    return `SCHED_IDLE unavailable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

/** What this process runs at, e.g. "niceness 10, SCHED_IDLE (whole process)", for /v1/status. */
function processPriority(idleFailure: string | null): string {
  const shown = [`niceness ${os.getPriority()}`];
  try {
    // Fields after the command name (which may hold spaces); the 41st field is the policy.
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    if (Number(fields[41 - 3]) === SCHED_IDLE) shown.push('SCHED_IDLE');
  } catch {
    // no /proc: niceness only
  }
  if (idleFailure) shown.push(idleFailure);
  return `${shown.join(', ')} (whole process)`;
}

function send(reply: LearnerReply): void {
  process.send?.(reply);
}

function main(): void {
  if (!process.send) throw new Error('learner-process.ts runs only as a child process with an IPC channel');
  process.once('disconnect', () => process.exit(0));
  process.once('message', (init: LearnerInit) => {
    const requests: ((request: LearnerRequest) => void)[] = [];
    process.on('message', (message) => {
      for (const listener of requests) listener(message as LearnerRequest);
    });
    serveLearner(init, { send, onRequest: (listener) => requests.push(listener) }, () => ({ priority: processPriority(init.schedIdle ? idleAllThreads() : null), threadId: null })).catch((err: Error) => {
      send({ id: 0, kind: 'failed', message: err.stack ?? err.message });
    });
  });
}

main();
