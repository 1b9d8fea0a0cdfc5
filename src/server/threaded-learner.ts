/**
 * A LearnerBackend whose PPO updates and checkpoint saves run in a worker thread.
 *
 * The event loop acts from its own copy of the weights, so decisions never wait for an update:
 * a request that arrives while the learner trains is answered at once by the current version.
 * When an update finishes, the new weights and their version replace the old ones in one
 * assignment (no request ever sees weights of one version with the number of another).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PpoPolicy, type PolicyWeights } from '../agent/policy';
import type { PpoConfig, Trajectory } from '../agent/ppo';
import { Rng } from '../random';
import type { RewardName } from '../reward';
import { decideBatch, type Decision, type DecisionRequest } from './batch-decisions';
import type { CheckpointRecord, LearnerBackend } from './learner';
import type { LearnerCommand, LearnerInit, LearnerReply, LearnerRequest } from './learner-protocol';

export interface ThreadedLearnerOptions {
  config: PpoConfig;
  reward: RewardName;
  weights?: PolicyWeights;
  version?: number;
  /** Lower CPU priority of the learner thread (default DEFAULT_LEARNER_NICENESS; 0: the process's). */
  niceness?: number;
  /** Run the learner thread under SCHED_IDLE (Linux, needs util-linux's chrt; default false). */
  schedIdle?: boolean;
}

/** Niceness the learner thread adds by default: answering requests goes before learning. */
export const DEFAULT_LEARNER_NICENESS = 10;

interface Pending {
  resolve: (reply: LearnerReply) => void;
  reject: (err: Error) => void;
}

/** The worker's entry: the compiled .js next to this file, or a tsx shim when running from source. */
function threadEntry(): string {
  return __filename.endsWith('.ts') ? path.join(__dirname, 'learner-thread-tsx.js') : path.join(__dirname, 'learner-thread.js');
}

export class ThreadedPpoBackend implements LearnerBackend {
  /** Weights and version swap together, as one object. */
  private current: { policy: PpoPolicy; version: number; body: string };
  private readonly actRng: Rng;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  /** History records the thread holds, as of its last successful save (0: unknown, send all). */
  private threadHistory = 0;
  backendName = 'unknown';
  /** The learner thread's scheduling priority as it reported it (e.g. "niceness 10, SCHED_IDLE"). */
  priority = 'unknown';
  /** The learner thread's kernel id (Linux), for its CPU time; null where unknown. */
  readonly threadId: number | null;

  private constructor(
    private readonly worker: Worker,
    ready: Extract<LearnerReply, { kind: 'ready' }>,
    seed: number,
  ) {
    // Same stream layout as PpoBackend: the first fork initialises weights, the second acts.
    const root = new Rng(seed);
    root.fork();
    this.actRng = root.fork();
    this.current = { policy: new PpoPolicy(ready.weights), version: ready.version, body: ready.weightsBody };
    this.backendName = ready.backend;
    this.priority = ready.priority;
    this.threadId = ready.threadId ?? null;
    worker.on('message', (reply: LearnerReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.kind === 'failed') waiter.reject(new Error(`learner thread: ${reply.message}`));
      else waiter.resolve(reply);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`learner thread exited with code ${code}`)));
  }

  static async create(options: ThreadedLearnerOptions): Promise<ThreadedPpoBackend> {
    const init: LearnerInit = { config: options.config, reward: options.reward, weights: options.weights, version: options.version ?? 0, niceness: options.niceness ?? DEFAULT_LEARNER_NICENESS, schedIdle: options.schedIdle ?? false };
    const worker = new Worker(threadEntry(), { workerData: init });
    const ready = await new Promise<Extract<LearnerReply, { kind: 'ready' }>>((resolve, reject) => {
      const onMessage = (reply: LearnerReply) => {
        worker.off('error', reject);
        if (reply.kind === 'ready') resolve(reply);
        else reject(new Error(`learner thread failed to start: ${reply.kind === 'failed' ? reply.message : reply.kind}`));
      };
      worker.once('message', onMessage);
      worker.once('error', reject);
    }).catch(async (err: Error) => {
      await worker.terminate();
      throw err;
    });
    return new ThreadedPpoBackend(worker, ready, options.config.seed);
  }

  get version(): number {
    return this.current.version;
  }

  decide(requests: readonly DecisionRequest[]): Decision[] {
    return decideBatch(this.current.policy, requests, this.actRng);
  }

  async update(batch: Trajectory): Promise<Record<string, number>> {
    // The trajectory is built for this update alone: its arrays move to the thread instead of
    // being copied on the request thread.
    const buffers = Object.values(batch).filter((v): v is ArrayBufferView => ArrayBuffer.isView(v)).map((v) => v.buffer as ArrayBuffer);
    const reply = await this.call({ kind: 'update', trajectory: batch }, [...new Set(buffers)]);
    if (reply.kind !== 'updated') throw new Error(`learner thread answered ${reply.kind} to an update`);
    this.current = { policy: new PpoPolicy(reply.weights), version: reply.version, body: reply.weightsBody };
    return reply.stats;
  }

  async save(dir: string, record: CheckpointRecord): Promise<void> {
    // The server's history only ever grows by what a successful save recorded.
    const from = Math.min(this.threadHistory, record.history.length);
    try {
      await this.call({ kind: 'save', dir, record: { ...record, history: record.history.slice(from) }, historyFrom: from });
      this.threadHistory = record.history.length;
    } catch (err) {
      this.threadHistory = 0;
      throw err;
    }
  }

  weights(): PolicyWeights {
    return this.current.policy.getWeights();
  }

  weightsBody(): { version: number; body: string } {
    return { version: this.current.version, body: this.current.body };
  }

  /** Stops the thread (after the server has waited for its running update). */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
    this.fail(new Error('the learner thread was stopped'));
  }

  private call(request: LearnerCommand, transfer: ArrayBuffer[] = []): Promise<LearnerReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } as LearnerRequest, transfer);
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}
