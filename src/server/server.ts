/**
 * The policy server: RLlib's PolicyServerInput as typed JSON over HTTP.
 *
 * Clients start episodes, ask for actions (or log their own), report rewards and end episodes.
 * Every acknowledged request is durable in the experience log first. Transitions of
 * training-enabled episodes feed PPO updates every `trainBatch` steps, each followed by an atomic
 * checkpoint; a restart loads the newest checkpoint and replays the log, so open episodes carry
 * on and no acknowledged step is lost.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { readCheckpointMeta, type CheckpointMeta } from '../agent/checkpoint';
import type { PpoConfig } from '../agent/ppo';
import { REWARD_NAMES, type RewardName } from '../reward';
import { ACTION_COUNT, SPACE_SCHEMA } from '../space';
import { MicroBatcher } from './batcher';
import { CheckpointStore } from './checkpoint-store';
import type { Decision, DecisionRequest } from './batch-decisions';
import { EpisodeStore, type Transition } from './episode-store';
import { EXPERIENCE_BODY_LIMIT, parseExperienceBatch } from './experience-batch';
import { HttpError } from './errors';
import type { ExperienceEvent } from './experience-events';
import { DEFAULT_DURABILITY, DEFAULT_SYNC_INTERVAL_MS, ExperienceLog, readExperienceLog, type Durability } from './experience-log';
import type { HttpRequest, Reply } from './exchange';
import { BearerAuth, DEFAULT_BODY_LIMIT, isLoopback, readJsonBody, sendError, sendJson } from './http-plumbing';
import { LeanHttp } from './lean-http';
import { DEFAULT_TRAIN_BATCH, loadPolicyWeights, PpoBackend, serverPpoConfig, serverReward, type LearnerBackend } from './learner';
import { ServerMetrics } from './server-metrics';
import { Router } from './router';
import { DEFAULT_MAX_STALENESS, Trainer } from './experience-training';
import { OffloadedPpoBackend } from './threaded-learner';
import type { LearnerMode } from './learner-channel';
import { currentThreadId } from './thread-cpu';
import { parseActionRequest, parseEnd, parseEpisodeId, parseLogAction, parseReturns, parseStartEpisode, USAGE_LIMITS } from './validation';
import { encodeWeights } from './weights-codec';

export interface PolicyServerOptions {
  /** Where the experience log and the server's checkpoints live. */
  stateDir: string;
  /** Start from this checkpoint folder when the state dir has none of its own. */
  checkpoint?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Required for a non-loopback host; every request must then carry it as a bearer token. */
  token?: string;
  /** Transitions per PPO update (default: the policy-server preset's). */
  trainBatch?: number;
  /**
   * The reward clients compute, recorded in the server's checkpoints and announced in /v1/status.
   * Default: the reward of the checkpoint the server resumes or starts from, else classic.
   */
  reward?: RewardName;
  /** Checkpoints kept in the state dir. */
  keepCheckpoints?: number;
  seed?: number;
  ppo?: Partial<PpoConfig>;
  bodyLimit?: number;
  /** Largest forward-pass batch, and how long a request may wait for others to join it. */
  maxBatch?: number;
  maxBatchDelayMs?: number;
  /** A learner to use instead of PPO (tests). */
  backend?: LearnerBackend;
  /** Run PPO updates off the event loop, so requests never wait for them (default true). */
  learnerThread?: boolean;
  /** Where those updates run: a child process (default) or a worker thread. */
  learnerMode?: LearnerMode;
  /** Policy versions a step may lag behind and still be trained on (default 1). */
  maxStaleness?: number;
  /** Niceness the learner adds to the server's (default 10; 0 for an even share of the CPUs). */
  learnerNiceness?: number;
  /** Run the learner under Linux's SCHED_IDLE: it learns only on CPU time requests leave (default false). */
  learnerIdle?: boolean;
  /**
   * What an acknowledged step survives (see experience-log.ts): `machine` (default) answers once
   * the step is fsynced; `process` once it is written to the file, which survives a crash or
   * SIGKILL of the server, with an fsync at most `syncIntervalMs` later for a machine crash.
   */
  durability?: Durability;
  syncIntervalMs?: number;
  /**
   * `lean` (default): the lean HTTP/1.1 layer (lean-http.ts) answers simple requests itself and
   * hands everything else to node:http; `node`: node:http answers every request. Default: the
   * POLICY_SERVER_HTTP environment variable, else lean.
   */
  http?: HttpLayer;
  log?: (message: string) => void;
}

export const HTTP_LAYERS = ['lean', 'node'] as const;
export type HttpLayer = (typeof HTTP_LAYERS)[number];

/** Routes left to node:http: experience batches are large bodies, streamed against their own limit. */
const NODE_ONLY_ROUTES = new Set(['POST /v1/experience']);

export const EXPERIENCE_FILE = 'experience.jsonl';

/** The answers of the hot routes, serialised once. */
const ACTION_BODIES = Array.from({ length: ACTION_COUNT }, (_, action) => JSON.stringify({ action }));
const OK_BODY = JSON.stringify({ ok: true });

export class PolicyServer {
  readonly metrics = new ServerMetrics();
  readonly episodes = new EpisodeStore();
  private http!: http.Server;
  private experience!: ExperienceLog;
  private trainer!: Trainer;
  private backend!: LearnerBackend;
  private batcher!: MicroBatcher<DecisionRequest, Decision>;
  private auth: BearerAuth | null = null;
  /** The lean HTTP layer in front of node:http (null with `http: 'node'`). */
  lean: LeanHttp | null = null;
  private readonly router = new Router();
  private weightsCache: { version: number; body: string } | null = null;
  private lastTrainingError: string | null = null;
  private readonly log: (message: string) => void;
  /** The reward the policy learns from (see PolicyServerOptions.reward). */
  reward: RewardName = 'classic';
  url = '';

  private constructor(private readonly options: PolicyServerOptions) {
    this.log = options.log ?? ((m) => console.error(m));
  }

  static async start(options: PolicyServerOptions): Promise<PolicyServer> {
    const server = new PolicyServer(options);
    await server.init();
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get policyVersion(): number {
    return this.backend.version;
  }

  private async init(): Promise<void> {
    const o = this.options;
    const host = o.host ?? '127.0.0.1';
    if (!isLoopback(host) && !o.token) throw new Error(`refusing to listen on ${host} without a token: anyone who can reach it could steer the deployment (pass --token)`);
    if (o.token !== undefined) {
      if (o.token.length < 16) throw new Error('the token must be at least 16 characters');
      this.auth = new BearerAuth(o.token);
    }
    const trainBatch = o.trainBatch ?? DEFAULT_TRAIN_BATCH;
    const maxStaleness = o.maxStaleness ?? DEFAULT_MAX_STALENESS;
    if (!Number.isInteger(maxStaleness) || maxStaleness < 0) throw new Error(`max staleness must be an integer >= 0, got ${maxStaleness}`);
    if (!Number.isInteger(trainBatch) || trainBatch < 2) throw new Error(`train batch must be an integer >= 2, got ${trainBatch}`);
    fs.mkdirSync(o.stateDir, { recursive: true });

    // Weights: the state dir's own newest checkpoint (a restart), else the given one, else fresh.
    const store = new CheckpointStore(o.stateDir, o.keepCheckpoints ?? 3);
    const resumed = store.latest();
    let parent: string | null = null;
    if (resumed) {
      this.log(`resuming from ${resumed.dir} (policy version ${resumed.meta.version}, ${resumed.meta.stepsTrained} steps trained)`);
      if (o.checkpoint) this.log(`note: ${o.checkpoint} is ignored, the state dir has checkpoints of its own`);
    } else if (o.checkpoint) {
      parent = path.resolve(o.checkpoint);
      this.log(`starting from checkpoint ${parent}`);
    } else {
      this.log('starting from a freshly initialised policy');
    }
    const startMeta = resumed ? readCheckpointMeta(resumed.dir) : parent ? readCheckpointMeta(parent) : null;
    this.reward = rewardToLearn(o.reward, startMeta, resumed !== null);
    this.log(`learning from rewards computed with ${this.reward}`);
    const learning = {
      config: serverPpoConfig(trainBatch, o.seed ?? 1, o.ppo, startMeta?.config),
      weights: resumed ? loadPolicyWeights(resumed.dir) : parent ? loadPolicyWeights(parent) : undefined,
      version: resumed?.meta.version ?? 0,
    };
    this.backend =
      o.backend ??
      (o.learnerThread === false
        ? await PpoBackend.create({ ...learning, reward: serverReward(this.reward) })
        : await OffloadedPpoBackend.create({ ...learning, reward: this.reward, mode: o.learnerMode, niceness: o.learnerNiceness, schedIdle: o.learnerIdle }));

    const file = path.resolve(o.stateDir, EXPERIENCE_FILE);
    this.trainer = new Trainer(this.backend, store, trainBatch, resumed, parent, file, {
      // A checkpoint records how far into the log it learned: that part must be on disk first.
      beforeCheckpoint: () => this.experience.sync(),
      onUpdate: ({ version, stats, seconds, checkpoint }) => {
        this.metrics.updates.inc();
        this.metrics.transitionsBuffered.set(this.trainer.buffered);
        this.metrics.updateSeconds.observe(seconds);
        this.metrics.policyVersion.set(version);
        this.log(`update ${version} in ${seconds.toFixed(2)} s: policy loss ${stats.policyLoss?.toFixed(4)}, value loss ${stats.valueLoss?.toFixed(4)}, entropy ${stats.entropy?.toFixed(3)} -> ${checkpoint}`);
      },
      onError: (err) => {
        // A learner that died fails every attempt the same way: say so once.
        if (err.message !== this.lastTrainingError) this.log(`training failed, experience kept for the next attempt: ${err.message}`);
        this.lastTrainingError = err.message;
      },
    });
    this.trainer.maxStaleness = maxStaleness;
    this.metrics.policyVersion.set(this.backend.version);
    this.metrics.watchThread('request', currentThreadId());
    if (this.backend instanceof OffloadedPpoBackend) this.metrics.watchLearner(this.backend);

    // Replay: the same code path as live requests rebuilds episodes and the training buffer.
    const replay = readExperienceLog(file);
    for (const event of replay.events) {
      const transition = this.episodes.apply(event, event.seq);
      if (transition) this.trainer.add(transition);
    }
    if (replay.events.length) {
      this.log(`replayed ${replay.events.length} events: ${this.episodes.openCount} open episodes, ${this.trainer.buffered} transitions waiting for an update`);
    }
    if (replay.droppedBytes) this.log(`dropped a torn last line of ${replay.droppedBytes} bytes (never acknowledged)`);
    this.experience = ExperienceLog.open(file, replay.events.at(-1)?.seq ?? 0, replay.droppedBytes, { durability: o.durability ?? DEFAULT_DURABILITY, syncIntervalMs: o.syncIntervalMs });
    this.experience.onFailure = (err) => this.log(`experience log write failed, nothing more can be recorded: ${err.message}`);
    this.metrics.countStoredEvents(() => this.experience.durableEvents);
    if (this.experience.durability === 'process') {
      this.log(`durability process: steps are acknowledged once written to ${EXPERIENCE_FILE} (they survive a server crash); a machine crash can lose the last ${o.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS} ms or so`);
    }
    this.metrics.episodesOpen.set(this.episodes.openCount);
    this.metrics.transitionsBuffered.set(this.trainer.buffered);

    this.batcher = new MicroBatcher((requests) => this.backend.decide(requests), { maxBatch: o.maxBatch ?? 64, maxDelayMs: o.maxBatchDelayMs ?? 0 });
    this.batcher.onBatch = (size) => this.metrics.batchSize.observe(size);
    // The steps decided by a batch are logged by its requests' callbacks: one write for them all, now.
    this.batcher.afterBatch = () => this.experience.writeSoon();
    this.addRoutes();

    this.http = http.createServer((req, res) => void this.handle(req, res));
    this.http.keepAliveTimeout = 30_000;
    const layer = (o.http ?? process.env.POLICY_SERVER_HTTP ?? 'lean') as HttpLayer;
    if (!HTTP_LAYERS.includes(layer)) throw new Error(`the http layer must be ${HTTP_LAYERS.join(' or ')}, got ${JSON.stringify(layer)}${o.http === undefined ? ' (from POLICY_SERVER_HTTP)' : ''}`);
    if (layer === 'lean') {
      this.lean = new LeanHttp(this.http, {
        serves: (method, target) => this.servesLean(method, target),
        handle: (req, res) => void this.handle(req, res),
        maxBodyBytes: o.bodyLimit ?? DEFAULT_BODY_LIMIT,
      });
    }
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(o.port ?? 9900, host, () => resolve());
    });
    const shownHost = host.includes(':') ? `[${host}]` : host;
    this.url = `http://${shownHost}:${this.port}`;
  }

  /** Whether the lean layer may answer a request: a route exists and is not left to node:http. */
  private servesLean(method: string, target: string): boolean {
    const query = target.indexOf('?');
    try {
      return !NODE_ONLY_ROUTES.has(this.router.match(method, query < 0 ? target : target.slice(0, query)).route.name);
    } catch {
      // 404, 405 and bad escapes: node:http answers them, through the same router.
      return false;
    }
  }

  private async handle(req: HttpRequest, res: Reply): Promise<void> {
    const started = performance.now();
    let routeName = 'unmatched';
    try {
      const target = req.url ?? '/';
      const query = target.indexOf('?');
      const { route, params } = this.router.match(req.method ?? 'GET', query < 0 ? target : target.slice(0, query));
      routeName = route.name;
      this.auth?.check(req.headers.authorization);
      await route.handler(req, res, params);
    } catch (err) {
      if (err instanceof HttpError) {
        sendError(res, err, err.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
      } else {
        this.log(`internal error on ${req.method} ${req.url}: ${(err as Error).stack ?? err}`);
        sendError(res, new HttpError(500, 'internal_error', (err as Error).message));
      }
    } finally {
      this.metrics.observeRequest(routeName, res.statusCode, (performance.now() - started) / 1000);
    }
  }

  private body(req: HttpRequest): Promise<unknown> {
    return readJsonBody(req, this.options.bodyLimit ?? DEFAULT_BODY_LIMIT);
  }

  /**
   * Logs and applies an event. With `waitForDisk` (experience the server learns from, and every
   * episode's start and end) the caller answers only once the event is fsynced. Steps and rewards
   * of training-disabled episodes train nothing, so their answers do not wait for the disk; they
   * are still logged in order, and a crash can lose only the last moments of them.
   */
  private record(event: ExperienceEvent, waitForDisk = true): Promise<void> | void {
    if (waitForDisk) return this.recordDurably(event);
    // Nobody waits for these: no promise per event; a failure of the log is logged once (onFailure).
    const seq = this.experience.appendUnacknowledged(event);
    if (seq < 0) throw new HttpError(503, 'storage_failed', 'the experience log has failed; nothing can be recorded');
    this.episodes.apply(event, seq);
  }

  private async recordDurably(event: ExperienceEvent): Promise<void> {
    const { seq, durable } = this.experience.append(event);
    const transition = seq > 0 ? this.episodes.apply(event, seq) : null;
    try {
      await durable;
    } catch (err) {
      throw new HttpError(503, 'storage_failed', `experience could not be stored, nothing was recorded: ${(err as Error).message}`);
    }
    if (transition) {
      this.trainer.add(transition);
      this.metrics.transitionsBuffered.set(this.trainer.buffered);
    }
  }

  /**
   * Logs and applies a run of events as one group: they share one fsync, and their transitions
   * reach the learner once all are durable. The events must be valid (parsed) already.
   */
  private async recordBatch(events: ExperienceEvent[]): Promise<void> {
    const transitions: Transition[] = [];
    const durables: Promise<void>[] = [];
    for (const event of events) {
      const { seq, durable } = this.experience.append(event);
      if (seq < 0) throw new HttpError(503, 'storage_failed', 'the experience log has failed; nothing can be recorded');
      durables.push(durable);
      const transition = this.episodes.apply(event, seq);
      if (transition) transitions.push(transition);
    }
    try {
      await Promise.all(durables);
    } catch (err) {
      throw new HttpError(503, 'storage_failed', `experience could not be stored: ${(err as Error).message}`);
    }
    for (const t of transitions) this.trainer.add(t);
    this.metrics.transitionsBuffered.set(this.trainer.buffered);
  }

  /** Runs a handler holding the episode, so that its requests cannot interleave. */
  private async withEpisode<T>(id: string, body: (episode: ReturnType<EpisodeStore['get']>) => Promise<T>): Promise<T> {
    const episode = this.episodes.acquire(parseEpisodeId(id));
    try {
      return await body(episode);
    } finally {
      this.episodes.release(episode);
    }
  }

  private addRoutes(): void {
    const r = this.router;
    r.add('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok', policy_version: this.backend.version }));
    r.add('GET', '/metrics', async (_req, res) => {
      const text = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(text);
    });
    r.add('GET', '/v1/spaces', (_req, res) =>
      sendJson(res, 200, { ...SPACE_SCHEMA, observation: { ...SPACE_SCHEMA.observation, limits: USAGE_LIMITS }, inference_modes: ['remote', 'local'] }),
    );
    r.add('GET', '/v1/status', (_req, res) =>
      sendJson(res, 200, {
        policy_version: this.backend.version,
        episodes_open: this.episodes.openCount,
        experience_events: this.experience.nextSequence - 1,
        transitions_buffered: this.trainer.buffered,
        steps_trained: this.trainer.stepsTrained,
        training: this.trainer.busy,
        train_batch: this.trainer.trainBatch,
        durability: this.experience.durability,
        http: this.lean ? 'lean' : 'node',
        reward: this.reward,
        checkpoint: this.trainer.lastCheckpoint,
        learner: {
          state: this.backend instanceof OffloadedPpoBackend && this.backend.error ? 'failed' : this.trainer.busy ? 'training' : 'idle',
          policy_version: this.backend.version,
          queued_steps: this.trainer.buffered,
          dropped_stale_steps: this.trainer.droppedStale,
          max_staleness: this.trainer.maxStaleness,
          ...(this.backend instanceof OffloadedPpoBackend ? { mode: this.backend.mode, priority: this.backend.priority, error: this.backend.error } : {}),
          last_update_time: this.trainer.lastUpdateTime === null ? null : new Date(this.trainer.lastUpdateTime).toISOString(),
        },
      }),
    );
    r.add('GET', '/v1/weights', (req, res) => {
      const version = this.backend.version;
      const etag = `"v${version}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      if (this.weightsCache?.version !== version) this.weightsCache = this.backend.weightsBody?.() ?? null;
      if (this.weightsCache?.version !== version) {
        this.weightsCache = { version, body: JSON.stringify({ version, weights: encodeWeights(this.backend.weights()) }) };
      }
      sendJson(res, 200, this.weightsCache.body, { etag });
    });

    r.add('POST', '/v1/episodes', async (req, res) => {
      const request = parseStartEpisode(await this.body(req));
      const id = randomUUID();
      await this.record({ type: 'start', episode: id, trainingEnabled: request.trainingEnabled, explore: request.explore, time: Date.now() });
      this.metrics.episodesStarted.inc({ training: String(request.trainingEnabled) });
      this.metrics.episodesOpen.set(this.episodes.openCount);
      sendJson(res, 201, { episode_id: id });
    });

    r.add('POST', '/v1/episodes/:id/action', async (req, res, { id }) => {
      const body = await this.body(req);
      // withEpisode's hold, written out: the hot route saves two promises per request.
      const episode = this.episodes.acquire(parseEpisodeId(id));
      try {
        const { observation } = parseActionRequest(body);
        const d = await this.batcher.submit({ observation, explore: episode.explore });
        const recorded = this.record({ type: 'step', episode: episode.id, observation, action: d.action, logProb: d.logProb, value: d.value, mask: d.mask, logged: false, policyVersion: this.backend.version }, episode.trainingEnabled);
        if (recorded) await recorded;
        this.metrics.countDecisions('policy');
        sendJson(res, 200, ACTION_BODIES[d.action]);
      } finally {
        this.episodes.release(episode);
      }
    });

    r.add('POST', '/v1/episodes/:id/log-action', async (req, res, { id }) => {
      const body = await this.body(req);
      await this.withEpisode(id, async (episode) => {
        const { observation, action } = parseLogAction(body);
        const d = await this.batcher.submit({ observation, explore: false, action });
        const recorded = this.record({ type: 'step', episode: episode.id, observation, action, logProb: d.logProb, value: d.value, mask: d.mask, logged: true, policyVersion: this.backend.version }, episode.trainingEnabled);
        if (recorded) await recorded;
        this.metrics.countDecisions('client');
        sendJson(res, 200, OK_BODY);
      });
    });

    r.add('POST', '/v1/episodes/:id/returns', async (req, res, { id }) => {
      const body = await this.body(req);
      const episode = this.episodes.acquire(parseEpisodeId(id));
      try {
        const { reward, info } = parseReturns(body);
        this.episodes.checkCanReward(episode);
        const recorded = this.record({ type: 'reward', episode: episode.id, reward, ...(info ? { info } : {}) }, episode.trainingEnabled);
        if (recorded) await recorded;
        sendJson(res, 200, OK_BODY);
      } finally {
        this.episodes.release(episode);
      }
    });

    r.add('POST', '/v1/experience', async (req, res) => {
      const body = await readJsonBody(req, Math.max(EXPERIENCE_BODY_LIMIT, this.options.bodyLimit ?? 0));
      const batch = parseExperienceBatch(body, this.backend.version, randomUUID);
      await this.recordBatch(batch.episodes.flat());
      this.metrics.episodesStarted.inc({ training: 'true' }, batch.episodes.length);
      this.metrics.episodesEnded.inc(batch.episodes.length);
      this.metrics.countDecisions('client', batch.steps);
      sendJson(res, 200, {
        accepted_steps: batch.steps,
        episodes: batch.episodes.length,
        policy_version: this.backend.version,
        queued_steps: this.trainer.buffered,
        train_batch: this.trainer.trainBatch,
      });
    });

    r.add('POST', '/v1/episodes/:id/end', async (req, res, { id }) => {
      const body = await this.body(req);
      await this.withEpisode(id, async (episode) => {
        const { observation, terminated } = parseEnd(body);
        const { value } = await this.batcher.submit({ observation, explore: false });
        await this.record({ type: 'end', episode: episode.id, observation, terminated, bootstrapValue: value });
        this.metrics.episodesEnded.inc();
        this.metrics.episodesOpen.set(this.episodes.openCount);
        sendJson(res, 200, { episode_id: episode.id, steps: episode.steps, total_reward: episode.totalReward });
      });
    });
  }

  /** Waits for a running update, so that a checkpoint is complete (tests, orderly shutdown). */
  async waitForTraining(): Promise<void> {
    await this.trainer.idle();
  }

  get stats(): { stepsTrained: number; buffered: number; lastCheckpoint: string | null } {
    return { stepsTrained: this.trainer.stepsTrained, buffered: this.trainer.buffered, lastCheckpoint: this.trainer.lastCheckpoint };
  }

  /** Stops accepting connections, lets an update finish, and closes the log. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeIdleConnections();
      this.lean?.closeIdleConnections();
    });
    await this.trainer.idle();
    await this.experience.close();
    await this.backend.close?.();
  }
}

/**
 * The reward the server learns from: the one asked for, else the checkpoint's it resumes or starts
 * from (older server checkpoints say client-reported, which names none: then classic). A restart
 * keeps its reward: the experience log already holds rewards computed with it.
 */
function rewardToLearn(asked: RewardName | undefined, start: CheckpointMeta | null, resuming: boolean): RewardName {
  const recorded = start && REWARD_NAMES.includes(start.reward.name as RewardName) ? (start.reward.name as RewardName) : undefined;
  if (resuming && asked !== undefined && recorded !== undefined && asked !== recorded) {
    throw new Error(`the state dir's policy learns from reward ${recorded}; it cannot switch to ${asked} (start a new state dir)`);
  }
  return asked ?? recorded ?? 'classic';
}
