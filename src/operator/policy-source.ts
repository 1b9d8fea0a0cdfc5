/**
 * Where decisions come from: a checkpoint folder (loaded once per spec generation, greedy
 * actions) or the policy server (one inference-only episode per generation, asked every
 * interval). Every failure is a PolicyUnavailableError naming the source.
 */
import { loadCheckpoint } from '../agent/checkpoint';
import type { PpoPolicy } from '../agent/policy';
import { PolicyClient } from '../server/client';
import type { Observation } from '../space';
import type { PolicySpec } from './spec';

export class PolicyUnavailableError extends Error {
  override name = 'PolicyUnavailableError';
}

export interface PolicySource {
  /** e.g. `checkpoint /models/run-1` or `policy server http://...`. */
  readonly description: string;
  act(observation: Observation, mask: boolean[]): Promise<number>;
  close(): Promise<void>;
}

class CheckpointSource implements PolicySource {
  readonly description: string;
  private policy: PpoPolicy | null = null;

  constructor(private readonly dir: string) {
    this.description = `checkpoint ${dir}`;
  }

  async act(observation: Observation, mask: boolean[]): Promise<number> {
    if (!this.policy) {
      // Retried every interval until it loads: the folder may be mounted after the operator starts.
      try {
        this.policy = loadCheckpoint(this.dir).policy;
      } catch (err) {
        throw new PolicyUnavailableError(`cannot load the checkpoint: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return this.policy.act(observation, mask);
  }

  async close(): Promise<void> {
    this.policy = null;
  }
}

class ServerSource implements PolicySource {
  readonly description: string;
  private readonly client: PolicyClient;
  private episodeId: string | null = null;
  private lastObservation: Observation | null = null;

  constructor(url: string, token: string | undefined, timeoutMs: number) {
    this.description = `policy server ${url}`;
    this.client = new PolicyClient(url, { token, timeoutMs, inferenceMode: 'remote' });
  }

  async act(observation: Observation): Promise<number> {
    try {
      if (!this.episodeId) {
        await this.client.handshake();
        this.episodeId = await this.client.startEpisode({ trainingEnabled: false, explore: false });
      }
      const action = await this.client.getAction(this.episodeId, observation);
      this.lastObservation = observation;
      return action;
    } catch (err) {
      // Start over (handshake and a new episode) next time: the server may have restarted.
      this.episodeId = null;
      throw new PolicyUnavailableError(err instanceof Error ? err.message : String(err));
    }
  }

  async close(): Promise<void> {
    const id = this.episodeId;
    this.episodeId = null;
    if (id && this.lastObservation) await this.client.endEpisode(id, this.lastObservation).catch(() => undefined);
  }
}

export function createPolicySource(spec: PolicySpec, options: { timeoutMs: number }): PolicySource {
  return spec.kind === 'checkpoint' ? new CheckpointSource(spec.path) : new ServerSource(spec.url, spec.token, options.timeoutMs);
}
