/**
 * The pipe between the policy server's event loop and its learner, wherever the learner runs: a
 * worker thread of the server's process, or a child process of its own. Both carry the messages
 * of learner-protocol.ts as structured clones (a child's IPC uses Node's `advanced`
 * serialisation, so typed arrays arrive as typed arrays).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { findBinary } from '../find-binary';
import type { LearnerInit, LearnerReply, LearnerRequest } from './learner-protocol';

/** Where the learner runs. */
export type LearnerMode = 'process' | 'thread';
export const LEARNER_MODES: readonly LearnerMode[] = ['process', 'thread'];

export interface LearnerChannel {
  readonly mode: LearnerMode;
  /** The child's process id (process mode), for its CPU time; null for a thread. */
  readonly pid: number | null;
  send(request: LearnerRequest, transfer: ArrayBuffer[]): void;
  onReply(listener: (reply: LearnerReply) => void): void;
  /** Called once if the learner dies, exits or the channel breaks, with what happened. */
  onFailure(listener: (err: Error) => void): void;
  /** Stops the learner and resolves once it is gone; no failure is reported for it. */
  close(): Promise<void>;
}

/** An entry file next to this one: the compiled .js, or a tsx shim when running from source. */
function entry(name: string): string {
  return __filename.endsWith('.ts') ? path.join(__dirname, `${name}-tsx.js`) : path.join(__dirname, `${name}.js`);
}

export class ThreadChannel implements LearnerChannel {
  readonly mode = 'thread';
  readonly pid = null;
  private readonly worker: Worker;
  private closing = false;

  constructor(init: LearnerInit) {
    this.worker = new Worker(entry('learner-thread'), { workerData: init });
  }

  send(request: LearnerRequest, transfer: ArrayBuffer[]): void {
    this.worker.postMessage(request, transfer);
  }

  onReply(listener: (reply: LearnerReply) => void): void {
    this.worker.on('message', listener);
  }

  onFailure(listener: (err: Error) => void): void {
    const report = firstFailure(listener, () => this.closing);
    this.worker.on('error', (err) => report(new Error(`learner thread failed: ${err.message}`)));
    this.worker.on('exit', (code) => report(new Error(`learner thread exited with code ${code}`)));
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

/**
 * Passes on the first failure only (an 'error' is often followed by an 'exit'), and none once the
 * channel is being closed on purpose.
 */
function firstFailure(listener: (err: Error) => void, closing: () => boolean): (err: Error) => void {
  let reported = false;
  return (err) => {
    if (reported || closing()) return;
    reported = true;
    listener(err);
  };
}

/**
 * The command that starts the learner process niced from its first instruction (`nice -n N`),
 * so that every thread it ever has, V8's GC and compiler helpers included, inherits it: a
 * priority set from inside a running Node process reaches only the thread that sets it.
 * (SCHED_IDLE comes later, from the child itself, for all its threads at once: see
 * learner-process.ts.)
 */
export function learnerProcessCommand(niceness: number, script: string): { command: string; args: string[] } {
  const nice = niceness > 0 ? findBinary('nice') : undefined;
  return nice ? { command: nice, args: ['-n', String(niceness), process.execPath, script] } : { command: process.execPath, args: [script] };
}

export class ProcessChannel implements LearnerChannel {
  readonly mode = 'process';
  private readonly child: ChildProcess;
  private closing = false;
  private readonly exited: Promise<void>;

  /** Starts the child; it waits for `init`, sent as the channel's first message. */
  constructor(init: LearnerInit) {
    const { command, args } = learnerProcessCommand(init.niceness, entry('learner-process'));
    // stdout is not the server's to share (the CLI prints its URL there); the child's own
    // diagnostics go to stderr. No execArgv: the server's own flags (a profiler, --test) are not the learner's.
    this.child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    // A spawn error (no such program) comes as 'error' with no 'exit': onFailure reports it.
    this.child.on('error', () => {});
    this.child.send({ ...init });
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  send(request: LearnerRequest, _transfer: ArrayBuffer[]): void {
    // Copied through the IPC pipe either way: nothing can be transferred to another process.
    this.child.send(request);
  }

  onReply(listener: (reply: LearnerReply) => void): void {
    this.child.on('message', (message) => listener(message as LearnerReply));
  }

  onFailure(listener: (err: Error) => void): void {
    const report = firstFailure(listener, () => this.closing);
    this.child.on('error', (err) => report(new Error(`learner process failed: ${err.message}`)));
    this.child.on('exit', (code, signal) => report(new Error(`learner process ${this.child.pid} exited ${signal ? `on signal ${signal}` : `with code ${code}`}`)));
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export function openLearnerChannel(mode: LearnerMode, init: LearnerInit): LearnerChannel {
  return mode === 'process' ? new ProcessChannel(init) : new ThreadChannel(init);
}
