/**
 * A typed client of the policy server (RLlib's PolicyClient over JSON), fetch-based with timeouts.
 *
 * Inference modes as in RLlib: `remote` asks the server for every action; `local` keeps a copy of
 * the policy, refreshes its weights from `GET /v1/weights` at most every `updateIntervalMs`, acts
 * locally and reports each action with `log-action`, so the server still learns from it.
 */
import { PpoPolicy } from '../agent/policy';
import { Rng } from '../random';
import { SPACE_SCHEMA, type Observation } from '../space';
import { decideBatch } from './batch-decisions';
import { decodeWeights, type EncodedWeights } from './weights-codec';

export type InferenceMode = 'remote' | 'local';

export interface PolicyClientOptions {
  /** Bearer token, when the server requires one. */
  token?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  inferenceMode?: InferenceMode;
  /** Local mode: how old the weights may get before the next call refreshes them. */
  updateIntervalMs?: number;
  /** Local mode: seed for sampled actions. */
  seed?: number;
}

/** A request the server refused (status >= 400) or could not be reached for (status 0). */
export class PolicyServerError extends Error {
  override name = 'PolicyServerError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface SpacesResponse {
  version: number;
  observation: { fields: string[]; size: number; grid: Record<string, number[]>; limits: Record<string, { min: number; max: number }> };
  action: { n: number; names: string[] };
  inference_modes: InferenceMode[];
}

export interface ServerStatus {
  policy_version: number;
  episodes_open: number;
  experience_events: number;
  transitions_buffered: number;
  steps_trained: number;
  training: boolean;
  train_batch: number;
  /** What an acknowledged step survives: a crash of the server process, or of its machine. */
  durability?: 'process' | 'machine';
  /** The reward the server's policy learns from: the one its clients are to compute. */
  reward: string;
  checkpoint: string | null;
  learner?: LearnerStatus;
}

export interface LearnerStatus {
  /** `failed`: the learner died or exited; `error` says how, and no more updates happen. */
  state: 'idle' | 'training' | 'failed';
  policy_version: number;
  queued_steps: number;
  dropped_stale_steps: number;
  max_staleness: number;
  /** Where the learner runs. */
  mode?: 'process' | 'thread';
  /** The learner's scheduling priority, e.g. "niceness 10" or "niceness 10, SCHED_IDLE (whole process)". */
  priority?: string;
  /** Why the learner stopped, or null while it works. */
  error?: string | null;
  last_update_time: string | null;
}

/** A runner's batch: each episode a stretch of steps acted by the policy of `policy_version`. */
export interface ExperienceBatchBody {
  policy_version: number;
  episodes: {
    steps: { observation: Observation; action: number; log_prob: number; value: number; reward: number }[];
    end: { observation: Observation; terminated: boolean; bootstrap_value?: number };
  }[];
}

export interface ExperienceAck {
  accepted_steps: number;
  episodes: number;
  /** The server's policy version now: a runner behind it fetches new weights. */
  policy_version: number;
  /** Steps waiting for the learner, and steps per update: a runner ahead of the learner waits. */
  queued_steps: number;
  train_batch: number;
}

export interface EndResult {
  episode_id: string;
  steps: number;
  total_reward: number;
}

/** The local mode's copy of the policy. */
export class LocalPolicy {
  private policy: PpoPolicy | null = null;
  private readonly rng: Rng;
  version = -1;
  fetchedAt = 0;

  constructor(seed = 0) {
    this.rng = new Rng(seed);
  }

  setWeights(version: number, encoded: EncodedWeights): void {
    this.policy = new PpoPolicy(decodeWeights(encoded));
    this.version = version;
  }

  /** The action the server would choose for these weights (greedy), or a sample when exploring. */
  act(observation: Observation, explore: boolean): number {
    if (!this.policy) throw new Error('the local policy has no weights yet');
    return decideBatch(this.policy, [{ observation, explore }], this.rng)[0].action;
  }
}

export class PolicyClient {
  readonly url: string;
  readonly inferenceMode: InferenceMode;
  private readonly timeoutMs: number;
  private readonly updateIntervalMs: number;
  private readonly headers: Record<string, string>;
  private readonly local: LocalPolicy | null;
  /** Whether each episode explores, for acting locally as the server would. */
  private readonly explore = new Map<string, boolean>();

  constructor(url: string, options: PolicyClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.inferenceMode = options.inferenceMode ?? 'remote';
    if (this.inferenceMode !== 'remote' && this.inferenceMode !== 'local') throw new Error(`inference mode must be remote or local, got ${JSON.stringify(this.inferenceMode)}`);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.updateIntervalMs = options.updateIntervalMs ?? 10_000;
    this.headers = { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
    this.local = this.inferenceMode === 'local' ? new LocalPolicy(options.seed) : null;
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const what = `${method} ${this.url}${path}`;
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: { ...this.headers, ...extraHeaders },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') throw new PolicyServerError(`${what}: no answer within ${this.timeoutMs} ms`, 0, 'timeout');
      throw new PolicyServerError(`${what}: cannot reach the policy server (${e.cause?.code ?? e.cause?.message ?? e.message})`, 0, 'unreachable');
    }
    if (res.status === 304) return { status: 304, body: undefined as T };
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new PolicyServerError(`${what}: answer ${res.status} is not JSON: ${text.slice(0, 200)}`, res.status, 'bad_response');
    }
    if (res.status >= 400) {
      const error = (parsed as { error?: { code: string; message: string; field?: string } })?.error;
      throw new PolicyServerError(`${what}: ${res.status} ${error?.message ?? text.slice(0, 200)}`, res.status, error?.code ?? 'http_error', error?.field);
    }
    return { status: res.status, body: parsed as T };
  }

  async spaces(): Promise<SpacesResponse> {
    return (await this.request<SpacesResponse>('GET', '/v1/spaces')).body;
  }

  /** Checks that the server's observation and action spaces are this client's (the original's v5 were not). */
  async handshake(): Promise<SpacesResponse> {
    const s = await this.spaces();
    const mine = JSON.stringify({ v: SPACE_SCHEMA.version, f: SPACE_SCHEMA.observation.fields, g: SPACE_SCHEMA.observation.grid, a: SPACE_SCHEMA.action.names });
    const theirs = JSON.stringify({ v: s.version, f: s.observation.fields, g: s.observation.grid, a: s.action.names });
    if (mine !== theirs) throw new PolicyServerError(`the server's spaces differ from this client's: server ${theirs}, client ${mine}`, 0, 'space_mismatch');
    if (!s.inference_modes.includes(this.inferenceMode)) throw new PolicyServerError(`the server does not offer ${this.inferenceMode} inference`, 0, 'mode_unsupported');
    if (this.local) await this.refreshWeights(true);
    return s;
  }

  async health(): Promise<{ status: string; policy_version: number }> {
    return (await this.request<{ status: string; policy_version: number }>('GET', '/healthz')).body;
  }

  async status(): Promise<ServerStatus> {
    return (await this.request<ServerStatus>('GET', '/v1/status')).body;
  }

  /** Current weights; null when `knownVersion` is still current. */
  async weights(knownVersion?: number): Promise<{ version: number; weights: EncodedWeights } | null> {
    const headers: Record<string, string> = knownVersion !== undefined && knownVersion >= 0 ? { 'if-none-match': `"v${knownVersion}"` } : {};
    const res = await this.request<{ version: number; weights: EncodedWeights }>('GET', '/v1/weights', undefined, headers);
    return res.status === 304 ? null : res.body;
  }

  /** Local mode: fetches new weights if the copy is older than the update interval (or `force`). */
  async refreshWeights(force = false): Promise<void> {
    const local = this.local;
    if (!local) return;
    if (!force && Date.now() - local.fetchedAt < this.updateIntervalMs) return;
    const fresh = await this.weights(local.version);
    if (fresh) local.setWeights(fresh.version, fresh.weights);
    local.fetchedAt = Date.now();
  }

  /** The version of the local copy's weights (-1 before the first fetch, or in remote mode). */
  get localPolicyVersion(): number {
    return this.local?.version ?? -1;
  }

  async startEpisode(options: { trainingEnabled?: boolean; explore?: boolean } = {}): Promise<string> {
    const trainingEnabled = options.trainingEnabled ?? true;
    const body = { training_enabled: trainingEnabled, ...(options.explore !== undefined ? { explore: options.explore } : {}) };
    const id = (await this.request<{ episode_id: string }>('POST', '/v1/episodes', body)).body.episode_id;
    this.explore.set(id, options.explore ?? trainingEnabled);
    return id;
  }

  /** The policy's action for an observation: from the server (remote) or the local copy (local). */
  async getAction(episodeId: string, observation: Observation): Promise<number> {
    if (!this.local) return (await this.request<{ action: number }>('POST', `/v1/episodes/${encodeURIComponent(episodeId)}/action`, { observation })).body.action;
    await this.refreshWeights(this.local.version < 0);
    const action = this.local.act(observation, this.explore.get(episodeId) ?? false);
    await this.logAction(episodeId, observation, action);
    return action;
  }

  /** Records an action chosen outside the policy. */
  async logAction(episodeId: string, observation: Observation, action: number): Promise<void> {
    await this.request('POST', `/v1/episodes/${encodeURIComponent(episodeId)}/log-action`, { observation, action });
  }

  /** Credits a reward to the episode's last action (rewards add up until the next action). */
  async logReturns(episodeId: string, reward: number, info?: Record<string, unknown>): Promise<void> {
    await this.request('POST', `/v1/episodes/${encodeURIComponent(episodeId)}/returns`, info === undefined ? { reward } : { reward, info });
  }

  /** Reports finished stretches of experience in one request (POST /v1/experience; see runner.ts). */
  async postExperience(batch: ExperienceBatchBody): Promise<ExperienceAck> {
    return (await this.request<ExperienceAck>('POST', '/v1/experience', batch)).body;
  }

  /** Ends an episode; `terminated` only for a true terminal state (a time limit is not one). */
  async endEpisode(episodeId: string, observation: Observation, options: { terminated?: boolean } = {}): Promise<EndResult> {
    const body = options.terminated ? { observation, terminated: true } : { observation };
    const result = (await this.request<EndResult>('POST', `/v1/episodes/${encodeURIComponent(episodeId)}/end`, body)).body;
    this.explore.delete(episodeId);
    return result;
  }
}
