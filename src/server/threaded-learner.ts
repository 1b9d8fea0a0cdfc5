/**
 * A LearnerBackend whose PPO updates and checkpoint saves run elsewhere: in a child process of
 * their own (the default) or a worker thread (learner-channel.ts).
 *
 * The event loop acts from its own copy of the weights, so decisions never wait for an update:
 * a request that arrives while the learner trains is answered at once by the current version.
 * When an update finishes, the new weights and their version replace the old ones in one
 * assignment (no request ever sees weights of one version with the number of another).
 */
import { PpoPolicy, type PolicyWeights } from '../agent/policy';
import type { PpoConfig, Trajectory } from '../agent/ppo';
import { Rng } from '../random';
import type { RewardName } from '../reward';
import { decideBatch, type Decision, type DecisionRequest } from './batch-decisions';
import type { CheckpointRecord, LearnerBackend } from './learner';
import { openLearnerChannel, type LearnerChannel, type LearnerMode } from './learner-channel';
import type { LearnerCommand, LearnerInit, LearnerReply, LearnerRequest } from './learner-protocol';

export interface OffloadedLearnerOptions {
  /** Where the learner runs (default DEFAULT_LEARNER_MODE). */
  mode?: LearnerMode;
  config: PpoConfig;
  reward: RewardName;
  weights?: PolicyWeights;
  version?: number;
  /** Lower CPU priority of the learner (default DEFAULT_LEARNER_NICENESS; 0: the server's). */
  niceness?: number;
  /**
   * Run the learner under SCHED_IDLE (Linux, needs util-linux's chrt; default false: on a machine
   * busy with other work an idle learner gets next to no CPU and updates wait indefinitely).
   */
  schedIdle?: boolean;
}

/** Niceness the learner adds by default: answering requests goes before learning. */
export const DEFAULT_LEARNER_NICENESS = 10;

/** Where the learner runs unless told. */
export const DEFAULT_LEARNER_MODE: LearnerMode = 'process';

interface Pending {
  resolve: (reply: LearnerReply) => void;
  reject: (err: Error) => void;
}

export class OffloadedPpoBackend implements LearnerBackend {
  /** Weights and version swap together, as one object. */
  private current: { policy: PpoPolicy; version: number; body: string };
  private readonly actRng: Rng;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  /** History records the learner holds, as of its last successful save (0: unknown, send all). */
  private learnerHistory = 0;
  backendName = 'unknown';
  /** The learner's scheduling priority as it reported it (e.g. "niceness 10, SCHED_IDLE"). */
  priority = 'unknown';
  /** The learner thread's kernel id (thread mode, Linux), for its CPU time; null otherwise. */
  readonly threadId: number | null;

  private constructor(
    private readonly channel: LearnerChannel,
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
    channel.onReply((reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.kind === 'failed') waiter.reject(new Error(`learner ${channel.mode}: ${reply.message}`));
      else waiter.resolve(reply);
    });
  }

  static async create(options: OffloadedLearnerOptions): Promise<OffloadedPpoBackend> {
    const mode = options.mode ?? DEFAULT_LEARNER_MODE;
    const init: LearnerInit = {
      config: options.config,
      reward: options.reward,
      weights: options.weights,
      version: options.version ?? 0,
      niceness: options.niceness ?? DEFAULT_LEARNER_NICENESS,
      schedIdle: options.schedIdle ?? false,
    };
    const channel = openLearnerChannel(mode, init);
    // Failures before 'ready' reject the start; later ones fail the backend (see fail()).
    let failLater: ((err: Error) => void) | null = null;
    const ready = await new Promise<Extract<LearnerReply, { kind: 'ready' }>>((resolve, reject) => {
      channel.onFailure((err) => (failLater ? failLater(err) : reject(err)));
      channel.onReply((reply) => {
        if (reply.id !== 0 || failLater) return;
        if (reply.kind === 'ready') resolve(reply);
        else reject(new Error(`learner ${mode} failed to start: ${reply.kind === 'failed' ? reply.message : reply.kind}`));
      });
    }).catch(async (err: Error) => {
      await channel.close();
      throw err;
    });
    const backend = new OffloadedPpoBackend(channel, ready, options.config.seed);
    failLater = (err) => backend.fail(err);
    return backend;
  }

  /** Where the learner runs. */
  get mode(): LearnerMode {
    return this.channel.mode;
  }

  /** The learner process's id (process mode), for its CPU time; null for a thread. */
  get pid(): number | null {
    return this.channel.pid;
  }

  /** Why the learner stopped working (it died, exited, or was closed), or null while it works. */
  get error(): string | null {
    return this.failure?.message ?? null;
  }

  get version(): number {
    return this.current.version;
  }

  decide(requests: readonly DecisionRequest[]): Decision[] {
    return decideBatch(this.current.policy, requests, this.actRng);
  }

  async update(batch: Trajectory): Promise<Record<string, number>> {
    // The trajectory is built for this update alone: its arrays move to a learner thread instead
    // of being copied on the request thread (a learner process gets them through its pipe).
    const buffers = Object.values(batch).filter((v): v is ArrayBufferView => ArrayBuffer.isView(v)).map((v) => v.buffer as ArrayBuffer);
    const reply = await this.call({ kind: 'update', trajectory: batch }, [...new Set(buffers)]);
    if (reply.kind !== 'updated') throw new Error(`learner ${this.channel.mode} answered ${reply.kind} to an update`);
    this.current = { policy: new PpoPolicy(reply.weights), version: reply.version, body: reply.weightsBody };
    return reply.stats;
  }

  async save(dir: string, record: CheckpointRecord): Promise<void> {
    // The server's history only ever grows by what a successful save recorded.
    const from = Math.min(this.learnerHistory, record.history.length);
    try {
      await this.call({ kind: 'save', dir, record: { ...record, history: record.history.slice(from) }, historyFrom: from });
      this.learnerHistory = record.history.length;
    } catch (err) {
      this.learnerHistory = 0;
      throw err;
    }
  }

  weights(): PolicyWeights {
    return this.current.policy.getWeights();
  }

  weightsBody(): { version: number; body: string } {
    return { version: this.current.version, body: this.current.body };
  }

  /** Stops the learner (after the server has waited for its running update). */
  async close(): Promise<void> {
    await this.channel.close();
    this.fail(new Error(`the learner ${this.channel.mode} was stopped`));
  }

  private call(request: LearnerCommand, transfer: ArrayBuffer[] = []): Promise<LearnerReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.channel.send({ ...request, id } as LearnerRequest, transfer);
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}
