/**
 * An environment runner (RLlib's rollout worker): acts in its own environment with a copy of the
 * server's policy, and reports what it collected in batches (POST /v1/experience), each batch
 * tagged with the policy version that acted. Between batches it fetches newer weights, so the
 * learner gets experience at most one batch behind; while a full batch waits for the learner, it
 * pauses instead of producing experience that would only go stale. A batch is sent only whole: a runner killed
 * mid-batch loses that batch's steps, and nothing the server acknowledged.
 *
 * An environment episode longer than what is left of a batch is cut at the batch's end: the
 * stretch is reported as a truncated episode whose return the critic bootstraps (as PPO does at
 * the end of any rollout), and the next batch carries on in the same environment episode.
 */
import { PpoPolicy } from '../agent/policy';
import type { Env } from '../env/types';
import { Rng } from '../random';
import type { Observation } from '../space';
import { decideBatch } from './batch-decisions';
import { PolicyServerError, type ExperienceAck, type ExperienceBatchBody, type PolicyClient } from './client';
import { decodeWeights } from './weights-codec';

export interface RunnerOptions {
  /** Environment steps to take in all. */
  steps: number;
  /** Steps per reported batch. */
  batchSteps: number;
  seed: number;
  /** How long to keep retrying a batch while the server is unreachable or restarting. */
  retryForMs?: number;
  onBatch?: (info: { batch: number; steps: number; totalSteps: number; policyVersion: number; ack: ExperienceAck }) => void;
}

export interface RunnerSummary {
  steps: number;
  batches: number;
  episodes: number;
  /** Policy version of the last batch's actions. */
  lastPolicyVersion: number;
}

type EpisodeRecord = ExperienceBatchBody['episodes'][number];

export async function runRunner(env: Env, client: PolicyClient, options: RunnerOptions): Promise<RunnerSummary> {
  if (!Number.isInteger(options.steps) || options.steps < 1) throw new Error(`runner steps must be a positive integer, got ${options.steps}`);
  if (!Number.isInteger(options.batchSteps) || options.batchSteps < 1) throw new Error(`runner batch steps must be a positive integer, got ${options.batchSteps}`);
  const rng = new Rng(options.seed);
  const summary: RunnerSummary = { steps: 0, batches: 0, episodes: 0, lastPolicyVersion: -1 };
  let policy: PpoPolicy | null = null;
  let version = -1;
  const refresh = async () => {
    const fresh = await withRetry(() => client.weights(version), options.retryForMs);
    if (fresh) {
      policy = new PpoPolicy(decodeWeights(fresh.weights));
      version = fresh.version;
    }
  };
  const decide = (observation: Observation, explore: boolean) => decideBatch(policy!, [{ observation, explore }], rng)[0];

  let observation = (await env.reset({ seed: options.seed })).observation;
  while (summary.steps < options.steps) {
    await refresh();
    const actedBy = version;
    const n = Math.min(options.batchSteps, options.steps - summary.steps);
    const episodes: EpisodeRecord[] = [];
    let current: EpisodeRecord['steps'] = [];
    for (let i = 0; i < n; i++) {
      const d = decide(observation, true);
      const result = await env.step(d.action);
      current.push({ observation, action: d.action, log_prob: d.logProb, value: d.value, reward: result.reward });
      observation = result.observation;
      if (result.terminated || result.truncated) {
        const end = result.terminated ? { observation, terminated: true } : { observation, terminated: false, bootstrap_value: decide(observation, false).value };
        episodes.push({ steps: current, end });
        current = [];
        observation = (await env.reset()).observation;
      }
    }
    if (current.length) episodes.push({ steps: current, end: { observation, terminated: false, bootstrap_value: decide(observation, false).value } });
    const ack = await withRetry(() => client.postExperience({ policy_version: actedBy, episodes }), options.retryForMs);
    summary.steps += n;
    summary.batches++;
    summary.episodes += episodes.length;
    summary.lastPolicyVersion = actedBy;
    options.onBatch?.({ batch: summary.batches, steps: n, totalSteps: summary.steps, policyVersion: actedBy, ack });
    // Backpressure: with a full batch already waiting, more experience from this version would
    // only go stale; wait until the learner has taken it.
    if (ack.queued_steps >= ack.train_batch && summary.steps < options.steps) await waitForLearner(client, ack.train_batch, options.retryForMs);
  }
  return summary;
}

/**
 * Waits while a full batch waits for a learner that is training. A full batch always starts an
 * update, so this ends; if an update failed (the learner idle with a full batch), the next batch
 * sent is what makes it try again, so the runner goes on.
 */
async function waitForLearner(client: PolicyClient, trainBatch: number, retryForMs?: number): Promise<void> {
  for (;;) {
    const status = await withRetry(() => client.status(), retryForMs);
    if (status.transitions_buffered < trainBatch || !status.training) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Retries while the server cannot be reached or cannot store (a restart); other refusals are final. */
async function withRetry<T>(call: () => Promise<T>, retryForMs = 60_000): Promise<T> {
  const deadline = Date.now() + retryForMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await call();
    } catch (err) {
      const retriable = err instanceof PolicyServerError && (err.status === 0 || err.status === 503);
      if (!retriable || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
