/**
 * `rl-autoscaler client`: drives an environment through the policy server for N steps, as the
 * original client did (reference section 7.3), in remote or local inference mode.
 */
import * as fs from 'node:fs';
import { makeClusterEnv, CLUSTER_TIMINGS, SIMULATOR_TIMINGS } from '../env/cluster-env';
import { makeDatasetEnv } from '../env/dataset-env';
import { Wrapper } from '../env/wrappers';
import { DeploymentClient, loadKubeConfig } from '../kube';
import { startSimulatorStack } from '../live/simulator-stack';
import { MetricClient } from '../metric';
import type { Env } from '../env/types';
import type { RewardName } from '../reward';
import { PolicyClient, type InferenceMode } from '../server/client';
import { driveEnv } from '../server/drive';
import { intOption, parseOptions, rewardOption, startOption } from './args';
import { UsageError } from './types';
import { CLIENT } from './definitions';

export const CLIENT_ENVS = ['cluster', 'dataset'] as const;
export type ClientEnvName = (typeof CLIENT_ENVS)[number];

export interface ClientEnvOptions {
  maxSteps: number;
  seed: number;
  start: string;
  reward: RewardName;
  /** Live environment on a real cluster: kubeconfig file (default: the usual lookup) and Prometheus URL. */
  kubeconfig?: string;
  prometheus?: string;
}

/** Builds the environment the client drives. */
export async function createClientEnv(name: ClientEnvName, o: ClientEnvOptions): Promise<Env> {
  if (name === 'dataset') {
    return makeDatasetEnv({ maxSteps: o.maxSteps, seed: o.seed, start: startOption(o.start), reward: o.reward });
  }
  // The live environment: a real cluster (kubeconfig + Prometheus URL), or the cluster simulator
  // with a local Prometheus, started here and stopped when the environment closes.
  if (o.prometheus) {
    const kube = new DeploymentClient(loadKubeConfig(o.kubeconfig));
    return makeClusterEnv({ kube, metrics: new MetricClient({ url: o.prometheus }), reward: o.reward, maxSteps: o.maxSteps, timings: CLUSTER_TIMINGS });
  }
  if (o.kubeconfig) throw new UsageError('--kubeconfig needs --prometheus URL as well (or neither, for the simulator)');
  console.log('starting the cluster simulator and a local Prometheus...');
  const stack = await startSimulatorStack({ seed: o.seed });
  const env = makeClusterEnv({ kube: stack.kube, metrics: stack.metrics, reward: o.reward, maxSteps: o.maxSteps, timings: SIMULATOR_TIMINGS });
  return new (class extends Wrapper {
    override async close() {
      await stack.stop();
    }
  })(env);
}


export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, CLIENT.options);
  if (!CLIENT_ENVS.includes(opts.env as ClientEnvName)) throw new UsageError(`--env must be one of ${CLIENT_ENVS.join(', ')}, got ${JSON.stringify(opts.env)}`);
  if (opts.inference !== 'remote' && opts.inference !== 'local') throw new UsageError(`--inference must be remote or local, got ${JSON.stringify(opts.inference)}`);
  if (opts.reward !== undefined) rewardOption(opts.reward);
  const steps = intOption(opts.steps, 'steps', 1000);
  if (steps < 1) throw new UsageError(`--steps must be at least 1, got ${steps}`);
  const maxSteps = intOption(opts['max-steps'], 'max-steps', 100);
  if (maxSteps < 1) throw new UsageError(`--max-steps must be at least 1, got ${maxSteps}`);
  const seed = intOption(opts.seed, 'seed', 0);
  try {
    new URL(opts.url!);
  } catch {
    throw new UsageError(`--url is not a URL: ${JSON.stringify(opts.url)}`);
  }

  const client = new PolicyClient(opts.url!, {
    token: opts.token ?? process.env.POLICY_SERVER_TOKEN,
    inferenceMode: opts.inference as InferenceMode,
    timeoutMs: intOption(opts['timeout-ms'], 'timeout-ms', 30_000),
    seed,
  });
  await client.handshake();
  // Compute the reward the server's policy learns from, unless told otherwise.
  const serverReward = (await client.status()).reward ?? 'classic'; // servers before the field learnt from any
  const reward = opts.reward !== undefined ? rewardOption(opts.reward) : rewardOption(serverReward);
  if (reward !== serverReward) console.error(`note: the server learns from reward ${serverReward}, this client computes ${reward}`);
  const env = await createClientEnv(opts.env as ClientEnvName, { maxSteps, seed, start: opts.start!, reward, kubeconfig: opts.kubeconfig, prometheus: opts.prometheus });
  // Append-only step log with timestamps, episode ids and step indices (the original rewrote a CSV each step).
  const log = opts.log ? fs.openSync(opts.log, 'a') : null;
  try {
    const summary = await driveEnv(env, client, {
      steps,
      seed,
      trainingEnabled: !opts['no-training'],
      onStep: ({ episodeId, index, action, result }) => {
        if (log !== null) {
          const row = { time: new Date().toISOString(), episode: episodeId, step: index, action, reward: result.reward, observation: result.observation, terminated: result.terminated, truncated: result.truncated, info: result.info };
          fs.writeSync(log, JSON.stringify(row) + '\n');
        }
      },
      onEpisodeEnd: ({ episodeId, steps: n, totalReward }) => console.log(`episode ${episodeId}: ${n} steps, return ${totalReward.toFixed(3)}`),
    });
    const status = await client.status();
    console.log(`${summary.steps} steps in ${summary.episodes.length} episodes; server policy version ${status.policy_version}, ${status.steps_trained} steps trained`);
  } finally {
    if (log !== null) fs.closeSync(log);
    await env.close?.();
  }
  return 0;
}
