/** `rl-autoscaler live`: fine-tune or test a checkpoint on a cluster (or on the cluster simulator). */
import * as path from 'node:path';
import { ClusterEnv, CLUSTER_TIMINGS, SIMULATOR_TIMINGS, type LiveTimings } from '../env/cluster-env';
import { DeploymentClient, DEFAULT_TARGET, loadKubeConfig, type DeploymentTarget } from '../kube';
import { MetricClient } from '../metric';
import { runLive, unfinishedRun, type LiveRunConfig } from '../live/run';
import { formatComparison, formatTimings } from '../live/report';
import { startSimulatorStack, type SimulatorStack } from '../live/simulator-stack';
import type { RewardName } from '../reward';
import { parseConfigText } from '../env/start';
import type { Bounds, ScalingConfig } from '../space';
import { intOption, parseOptions, rewardOption } from './args';
import { UsageError, type CliCommand } from './types';

function parseConfig(text: string, option: string): ScalingConfig {
  try {
    return parseConfigText(text, `--${option}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export const liveCommand: CliCommand = {
  name: 'live',
  usage:
    'live --checkpoint DIR [--kubeconfig F --prometheus URL | --twin] [--episodes N] [--steps N] [--finetune] [--dry-run] [--log FILE] [--resume] ' +
    '[--seed N] [--batch-steps N] [--start-config R,CPU,HEAP|current] [--min R,CPU,HEAP] [--max R,CPU,HEAP] [--warmup-ms N] [--window-s N] [--reward classic|total-throughput] ' +
    '[--namespace NS] [--deployment NAME] [--container NAME] [--heap-env VAR] [--checkpoints DIR]',
  summary: 'fine-tune (--finetune) or test a checkpoint live: actions through the Kubernetes API, rewards from Prometheus',
  async run(args) {
    const o = parseOptions(args, {
      checkpoint: { type: 'string' },
      kubeconfig: { type: 'string' },
      prometheus: { type: 'string' },
      twin: { type: 'boolean', default: false },
      episodes: { type: 'string' },
      steps: { type: 'string' },
      finetune: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      log: { type: 'string' },
      resume: { type: 'boolean', default: false },
      seed: { type: 'string' },
      'batch-steps': { type: 'string' },
      'start-config': { type: 'string', default: '1,500,500' },
      min: { type: 'string', default: '1,100,100' },
      max: { type: 'string', default: '9,900,900' },
      'warmup-ms': { type: 'string' },
      'window-s': { type: 'string' },
      reward: { type: 'string', default: 'classic' },
      namespace: { type: 'string', default: DEFAULT_TARGET.namespace },
      deployment: { type: 'string', default: DEFAULT_TARGET.deployment },
      container: { type: 'string', default: DEFAULT_TARGET.container },
      'heap-env': { type: 'string', default: DEFAULT_TARGET.heapEnvVar },
      checkpoints: { type: 'string', default: 'checkpoints' },
    });
    if (!o.checkpoint && !o.resume) throw new UsageError('--checkpoint DIR is required');
    if (o.resume && !o.log) throw new UsageError('--resume needs --log FILE (the step log of the run to continue)');
    // A resumed run keeps its recorded settings: episode length, bounds, timings, start, reward.
    const previous = o.resume ? unfinishedRun(o.log!) : null;
    if (o.resume && !previous) throw new UsageError(`${o.log}: no unfinished run to resume`);
    const recorded = previous?.header.config as LiveRunConfig | undefined;
    const recordedSetup = (recorded?.setup ?? {}) as { timings?: LiveTimings; bounds?: Bounds; startConfig?: ScalingConfig | 'current'; dryRun?: boolean; reward?: RewardName };
    if (!o.twin && !o.prometheus) throw new UsageError('pass --twin, or --prometheus URL (with --kubeconfig F or the default kubeconfig)');
    if (o.twin && (o.prometheus || o.kubeconfig)) throw new UsageError('--twin starts its own simulator and Prometheus; do not combine it with --kubeconfig/--prometheus');
    rewardOption(o.reward);
    const episodes = recorded?.episodes ?? intOption(o.episodes, 'episodes', 1);
    const steps = recorded?.steps ?? intOption(o.steps, 'steps', 10);
    const seed = recorded?.seed ?? intOption(o.seed, 'seed', 1);
    const target: DeploymentTarget = { namespace: o.namespace!, deployment: o.deployment!, container: o.container!, heapEnvVar: o['heap-env']! };
    const base = o.twin ? SIMULATOR_TIMINGS : CLUSTER_TIMINGS;
    const timings: LiveTimings = recordedSetup.timings ?? { ...base, warmupMs: intOption(o['warmup-ms'], 'warmup-ms', base.warmupMs), windowSeconds: intOption(o['window-s'], 'window-s', base.windowSeconds) };
    const startText = o['start-config']!;
    const startConfig = recordedSetup.startConfig ? (recordedSetup.startConfig === 'current' ? undefined : recordedSetup.startConfig) : startText === 'current' ? undefined : parseConfig(startText, 'start-config');
    const bounds: Bounds = recordedSetup.bounds ?? { min: parseConfig(o.min!, 'min'), max: parseConfig(o.max!, 'max') };
    const dryRun = recordedSetup.dryRun ?? o['dry-run']!;
    const reward = (recordedSetup.reward ?? o.reward) as RewardName;
    const mode = recorded?.mode ?? (o.finetune ? 'finetune' : 'test');
    const logFile = o.log ?? path.join('out', 'live', `${mode}-${Date.now()}.jsonl`);

    let stack: SimulatorStack | undefined;
    let kube: DeploymentClient;
    let metrics: MetricClient;
    if (o.twin) {
      console.log('starting the cluster simulator and a local Prometheus...');
      stack = await startSimulatorStack({ seed, target });
      ({ kube, metrics } = stack);
      console.log(`simulator api=${stack.twin.apiUrl} prometheus=${stack.prometheus.url}`);
    } else {
      kube = new DeploymentClient(loadKubeConfig(o.kubeconfig), target);
      metrics = new MetricClient({ url: o.prometheus! });
    }
    const stop = () => void stack?.stop().finally(() => process.exit(130));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const env = new ClusterEnv({ kube, metrics, reward, bounds, timings, dryRun, startConfig });
      const config: LiveRunConfig = {
        mode,
        checkpoint: o.checkpoint ? path.resolve(o.checkpoint) : '',
        episodes,
        steps,
        seed,
        finetune: { batchSteps: intOption(o['batch-steps'], 'batch-steps', 8) },
        setup: { target, timings, bounds, startConfig: startConfig ?? 'current', dryRun, reward, simulator: Boolean(o.twin) },
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
      await stack?.stop();
    }
  },
};
