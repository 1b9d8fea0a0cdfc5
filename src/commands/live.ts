/** `rl-autoscaler live`: fine-tune or test a checkpoint on a cluster (or on the cluster simulator). */
import * as path from 'node:path';
import { observationKindOf, readCheckpointMeta } from '../agent/checkpoint';
import { ClusterEnv, CLUSTER_TIMINGS, SIMULATOR_TIMINGS, type LiveTimings } from '../env/cluster-env';
import { DeploymentClient, loadKubeConfig, type DeploymentTarget } from '../kube';
import { parseUpdatePolicy, type UpdatePolicy } from '../kube-resize';
import { MetricClient } from '../metric';
import { runLive, unfinishedRun, type LiveRunConfig } from '../live/run';
import { formatComparison, formatTimings } from '../live/summary';
import { startSimulatorStack, type SimulatorStack } from '../live/simulator-stack';
import { isLiveRewardName, isRequestReward, LIVE_REWARD_NAMES, liveRewardFor } from '../live/live-reward';
import { parseConfigText } from '../env/start';
import type { Bounds, ScalingConfig } from '../space';
import { intOption, parseOptions } from './args';
import { UsageError } from './types';
import { LIVE } from './definitions';
import { checkLoadCoversRun, liveLoadSetup, serveGeneratorMetrics, startLiveLoad, type LiveLoadSetup } from './live-load-options';

function parseConfig(text: string, option: string): ScalingConfig {
  try {
    return parseConfigText(text, `--${option}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}


export async function run(args: string[]): Promise<number> {
  const o = parseOptions(args, LIVE.options);
  if (!o.checkpoint && !o.resume) throw new UsageError('--checkpoint DIR is required');
  if (o.resume && !o.log) throw new UsageError('--resume needs --log FILE (the step log of the run to continue)');
  // A resumed run keeps its recorded settings: episode length, bounds, timings, start, reward.
  const previous = o.resume ? unfinishedRun(o.log!) : null;
  if (o.resume && !previous) throw new UsageError(`${o.log}: no unfinished run to resume`);
  const recorded = previous?.header.config as LiveRunConfig | undefined;
  const recordedSetup = (recorded?.setup ?? {}) as { timings?: LiveTimings; bounds?: Bounds; startConfig?: ScalingConfig | 'current'; dryRun?: boolean; reward?: string; updatePolicy?: UpdatePolicy; load?: LiveLoadSetup | null };
  if (!o.simulator && !o.prometheus) throw new UsageError('pass --simulator, or --prometheus URL (with --kubeconfig F or the default kubeconfig)');
  if (o.simulator && (o.prometheus || o.kubeconfig)) throw new UsageError('--simulator starts its own simulator and Prometheus; do not combine it with --kubeconfig/--prometheus');
  if (o.reward !== undefined && !isLiveRewardName(o.reward)) throw new UsageError(`--reward must be one of ${LIVE_REWARD_NAMES.join(', ')}`);
  const episodes = recorded?.episodes ?? intOption(o.episodes, 'episodes', 1);
  const steps = recorded?.steps ?? intOption(o.steps, 'steps', 10);
  const seed = recorded?.seed ?? intOption(o.seed, 'seed', 1);
  const target: DeploymentTarget = { namespace: o.namespace!, deployment: o.deployment!, container: o.container!, heapEnvVar: o['heap-env']! };
  const base = o.simulator ? SIMULATOR_TIMINGS : CLUSTER_TIMINGS;
  const timings: LiveTimings = recordedSetup.timings ?? { ...base, warmupMs: intOption(o['warmup-ms'], 'warmup-ms', base.warmupMs), windowSeconds: intOption(o['window-s'], 'window-s', base.windowSeconds) };
  const startText = o['start-config']!;
  const startConfig = recordedSetup.startConfig ? (recordedSetup.startConfig === 'current' ? undefined : recordedSetup.startConfig) : startText === 'current' ? undefined : parseConfig(startText, 'start-config');
  const bounds: Bounds = recordedSetup.bounds ?? { min: parseConfig(o.min!, 'min'), max: parseConfig(o.max!, 'max') };
  const dryRun = recordedSetup.dryRun ?? o['dry-run']!;
  let updatePolicy: UpdatePolicy;
  try {
    updatePolicy = recordedSetup.updatePolicy ?? parseUpdatePolicy(o['update-policy']!, '--update-policy');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // The reward the policy was trained on (with its recorded parameters), unless the run (or its record) names another.
  const checkpointDir = o.checkpoint ?? recorded!.checkpoint;
  const checkpointMeta = readCheckpointMeta(checkpointDir);
  const liveReward = liveRewardFor(recordedSetup.reward ?? o.reward, checkpointMeta, checkpointDir);
  const reward = liveReward.name;
  const mode = recorded?.mode ?? (o.finetune ? 'finetune' : 'test');
  const logFile = o.log ?? path.join('out', 'live', `${mode}-${Date.now()}.jsonl`);
  const loadSetup = recordedSetup.load !== undefined ? recordedSetup.load : liveLoadSetup(o, { simulator: Boolean(o.simulator) });
  // Refused before anything starts: what needs the load cannot run without a load source.
  if (!loadSetup && observationKindOf(checkpointMeta) === 'load') {
    throw new UsageError(`${checkpointDir}: the policy reads the load observation (schema version 2): give it a load source, --load-profile SPEC --app URL (or --load-selector MATCHERS)`);
  }
  if (!loadSetup && isRequestReward(liveReward)) {
    throw new UsageError(`--reward ${liveReward.name} is computed from the requests of each window: give it a load source, --load-profile SPEC --app URL (or --load-selector MATCHERS)`);
  }
  // Test mode plays each episode with three policies (the checkpoint's, static-best, threshold).
  checkLoadCoversRun(loadSetup, { steps, episodesOfAllPolicies: episodes * (mode === 'test' ? 3 : 1), minStepSeconds: timings.warmupMs / 1000 + timings.windowSeconds });
  const served = await serveGeneratorMetrics(loadSetup, Boolean(o.simulator));

  let stack: SimulatorStack | undefined;
  let kube: DeploymentClient;
  let metrics: MetricClient;
  let prometheusUrl: string;
  try {
    if (o.simulator) {
      console.log('starting the cluster simulator and a local Prometheus...');
      stack = await startSimulatorStack({ seed, target, scrapeTargets: served ? [served.server.url] : [] });
      ({ kube, metrics } = stack);
      prometheusUrl = stack.prometheus.url;
      console.log(`simulator api=${stack.simulator.apiUrl} prometheus=${stack.prometheus.url} app=${stack.simulator.appUrl}`);
    } else {
      kube = new DeploymentClient(loadKubeConfig(o.kubeconfig), target);
      metrics = new MetricClient({ url: o.prometheus! });
      prometheusUrl = o.prometheus!;
      if (served) console.log(`load generator metrics on ${served.server.url.replace('0.0.0.0', '<this host>')}: your Prometheus must scrape it`);
    }
  } catch (err) {
    await served?.server.close();
    throw err;
  }
  const load = startLiveLoad(loadSetup, served, prometheusUrl, seed, stack?.simulator.appUrl);
  const shutdown = () => Promise.all([load?.close(), served?.server.close(), stack?.stop()]);
  const stop = () => void shutdown().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const env = new ClusterEnv({ kube, metrics, reward: liveReward, bounds, timings, dryRun, startConfig, updatePolicy, load });
    const config: LiveRunConfig = {
      mode,
      checkpoint: o.checkpoint ? path.resolve(o.checkpoint) : '',
      episodes,
      steps,
      seed,
      finetune: { batchSteps: intOption(o['batch-steps'], 'batch-steps', 8) },
      setup: { target, timings, bounds, startConfig: startConfig ?? 'current', dryRun, reward, simulator: Boolean(o.simulator), updatePolicy, load: loadSetup },
    };
    const result = await runLive(env, config, logFile, o.checkpoints!, { resume: o.resume, onProgress: (line) => console.log(line) });
    console.log(`\nrun ${result.runId}${result.resumed ? ' (resumed)' : ''}: step log ${result.logFile}`);
    if (result.comparison) console.log(`live comparison, ${steps}-step episodes:\n${formatComparison(result.comparison)}`);
    if (result.checkpoint) console.log(`fine-tuned checkpoint: ${result.checkpoint} (${result.updates?.length ?? 0} updates)`);
    console.log(`step time:\n${formatTimings(result.timings)}`);
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await shutdown();
  }
}
