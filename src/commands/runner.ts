/**
 * `rl-autoscaler runner`: one environment runner of many feeding one policy server. The dataset
 * runner acts with a local copy of the policy and reports batches (POST /v1/experience); the
 * simulator runner drives the cluster simulator through the per-step protocol, as `client` does.
 */
import { PolicyClient } from '../server/client';
import { driveEnv } from '../server/drive';
import { runRunner } from '../server/runner';
import { intOption, parseOptions, rewardOption } from './args';
import { createClientEnv } from './client';
import { RUNNER } from './definitions';
import { UsageError } from './types';

const RUNNER_ENVS = ['dataset', 'simulator'] as const;

export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, RUNNER.options);
  const envName = opts.env as (typeof RUNNER_ENVS)[number];
  if (!RUNNER_ENVS.includes(envName)) throw new UsageError(`--env must be one of ${RUNNER_ENVS.join(', ')}, got ${JSON.stringify(opts.env)}`);
  const steps = intOption(opts.steps, 'steps', 10_000);
  if (steps < 1) throw new UsageError(`--steps must be at least 1, got ${steps}`);
  const batchSteps = intOption(opts.batch, 'batch', 256);
  if (batchSteps < 1) throw new UsageError(`--batch must be at least 1, got ${batchSteps}`);
  const maxSteps = intOption(opts['max-steps'], 'max-steps', 50);
  if (maxSteps < 1) throw new UsageError(`--max-steps must be at least 1, got ${maxSteps}`);
  const seed = intOption(opts.seed, 'seed', 0);
  try {
    new URL(opts.server!);
  } catch {
    throw new UsageError(`--server is not a URL: ${JSON.stringify(opts.server)}`);
  }
  const client = new PolicyClient(opts.server!, { token: opts.token ?? process.env.POLICY_SERVER_TOKEN, timeoutMs: intOption(opts['timeout-ms'], 'timeout-ms', 30_000), seed });
  await client.handshake();
  const reward = rewardOption((await client.status()).reward ?? 'classic');
  const env = await createClientEnv(envName === 'dataset' ? 'dataset' : 'cluster', { maxSteps, seed, start: opts.start!, reward });
  const started = performance.now();
  try {
    if (envName === 'dataset') {
      const summary = await runRunner(env, client, {
        steps,
        batchSteps,
        seed,
        onBatch: ({ batch, totalSteps, policyVersion, ack }) =>
          console.log(JSON.stringify({ batch, steps: totalSteps, acted_by: policyVersion, server_version: ack.policy_version, seconds: (performance.now() - started) / 1000 })),
      });
      console.log(`${summary.steps} steps in ${summary.batches} batches (${summary.episodes} episode stretches), last acted by policy version ${summary.lastPolicyVersion}`);
    } else {
      const summary = await driveEnv(env, client, { steps, seed });
      console.log(`${summary.steps} steps in ${summary.episodes.length} episodes`);
    }
  } finally {
    await env.close?.();
  }
  return 0;
}
