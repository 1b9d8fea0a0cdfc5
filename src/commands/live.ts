/** `rl-autoscaler live`: fine-tune or test a checkpoint on a cluster (or on the cluster simulator). */
import * as path from 'node:path';
import { readCheckpointMeta, trainedRewardName } from '../agent/checkpoint';
import { ClusterEnv, CLUSTER_TIMINGS, SIMULATOR_TIMINGS, type LiveTimings } from '../env/cluster-env';
import { DeploymentClient, DEFAULT_TARGET, loadKubeConfig, type DeploymentTarget } from '../kube';
import { MetricClient } from '../metric';
import { runLive, unfinishedRun, type LiveRunConfig } from '../live/run';
import { formatComparison, formatTimings } from '../live/summary';
import { startSimulatorStack, type SimulatorStack } from '../live/simulator-stack';
import type { RewardName } from '../reward';
import { parseConfigText } from '../env/start';
import type { Bounds, ScalingConfig } from '../space';
import { intOption, parseOptions, rewardOption } from './args';
import { UsageError, type CliCommand, type OptionTable } from './types';

function parseConfig(text: string, option: string): ScalingConfig {
  try {
    return parseConfigText(text, `--${option}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const OPTIONS = {
  checkpoint: { type: 'string', value: 'DIR', help: 'the policy to test or fine-tune (required unless --resume)' },
  kubeconfig: { type: 'string', value: 'FILE', help: 'kubeconfig of the cluster (default: KUBECONFIG or ~/.kube/config)' },
  prometheus: { type: 'string', value: 'URL', help: "the Prometheus that scrapes the pods' cAdvisor metrics" },
  simulator: { type: 'boolean', default: false, help: 'start the cluster simulator and a local Prometheus instead of using a cluster' },
  episodes: { type: 'string', value: 'N', help: 'episodes per policy (default: 1)' },
  steps: { type: 'string', value: 'N', help: 'steps per episode (default: 10)' },
  finetune: { type: 'boolean', default: false, help: 'fine-tune with PPO instead of testing against the baselines' },
  'dry-run': { type: 'boolean', default: false, help: 'decide and log, change nothing' },
  log: { type: 'string', value: 'FILE', help: 'the append-only step log (default: out/live/<mode>-<time>.jsonl)' },
  resume: { type: 'boolean', default: false, help: 'continue the unfinished run of --log with its recorded settings' },
  seed: { type: 'string', value: 'N', help: 'seed of sampling and of the simulator (default: 1)' },
  'batch-steps': { type: 'string', value: 'N', help: 'steps per PPO update when fine-tuning (default: 8)' },
  'start-config': { type: 'string', default: '1,500,500', value: 'R,CPU,HEAP|current', help: 'configuration every episode starts from; current keeps what runs' },
  min: { type: 'string', default: '1,100,100', value: 'R,CPU,HEAP', help: 'lower bounds; a move below them is refused and penalised' },
  max: { type: 'string', default: '9,900,900', value: 'R,CPU,HEAP', help: 'upper bounds; a move above them is refused and penalised' },
  'warmup-ms': { type: 'string', value: 'N', help: 'wait after a change before measuring (default: 2000 on the simulator, 10000 on a cluster)' },
  'window-s': { type: 'string', value: 'N', help: 'measurement window in seconds (default: 3 on the simulator, 20 on a cluster)' },
  reward: { type: 'string', value: 'classic|total-throughput', help: "the reward function (default: the checkpoint's)" },
  namespace: { type: 'string', default: DEFAULT_TARGET.namespace, value: 'NS', help: "the Deployment's namespace" },
  deployment: { type: 'string', default: DEFAULT_TARGET.deployment, value: 'NAME', help: 'the Deployment to scale' },
  container: { type: 'string', default: DEFAULT_TARGET.container, value: 'NAME', help: 'the container whose CPU limit and heap change' },
  'heap-env': { type: 'string', default: DEFAULT_TARGET.heapEnvVar, value: 'VAR', help: 'the env var holding -Xmx<N>M' },
  checkpoints: { type: 'string', default: 'checkpoints', value: 'DIR', help: 'where fine-tuned checkpoints are saved' },
} as const satisfies OptionTable;

export const liveCommand: CliCommand = {
  name: 'live',
  summary: 'fine-tune (--finetune) or test a checkpoint live: actions through the Kubernetes API, rewards from Prometheus',
  options: OPTIONS,
  examples: ['--simulator --checkpoint checkpoints/<run-id> --episodes 1 --steps 4', '--simulator --finetune --checkpoint checkpoints/<run-id> --episodes 2 --steps 8 --batch-steps 8', '--kubeconfig ~/.kube/config --prometheus http://prometheus.example:9090 --checkpoint DIR --dry-run', '--simulator --log out/live/test.jsonl --resume'],
  async run(args) {
    const o = parseOptions(args, OPTIONS);
    if (!o.checkpoint && !o.resume) throw new UsageError('--checkpoint DIR is required');
    if (o.resume && !o.log) throw new UsageError('--resume needs --log FILE (the step log of the run to continue)');
    // A resumed run keeps its recorded settings: episode length, bounds, timings, start, reward.
    const previous = o.resume ? unfinishedRun(o.log!) : null;
    if (o.resume && !previous) throw new UsageError(`${o.log}: no unfinished run to resume`);
    const recorded = previous?.header.config as LiveRunConfig | undefined;
    const recordedSetup = (recorded?.setup ?? {}) as { timings?: LiveTimings; bounds?: Bounds; startConfig?: ScalingConfig | 'current'; dryRun?: boolean; reward?: RewardName };
    if (!o.simulator && !o.prometheus) throw new UsageError('pass --simulator, or --prometheus URL (with --kubeconfig F or the default kubeconfig)');
    if (o.simulator && (o.prometheus || o.kubeconfig)) throw new UsageError('--simulator starts its own simulator and Prometheus; do not combine it with --kubeconfig/--prometheus');
    if (o.reward !== undefined) rewardOption(o.reward);
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
    // The reward the policy was trained on, unless the run (or its record) names another.
    const reward = recordedSetup.reward ?? (o.reward as RewardName | undefined) ?? trainedRewardName(readCheckpointMeta(o.checkpoint ?? recorded!.checkpoint), o.checkpoint ?? recorded!.checkpoint);
    const mode = recorded?.mode ?? (o.finetune ? 'finetune' : 'test');
    const logFile = o.log ?? path.join('out', 'live', `${mode}-${Date.now()}.jsonl`);

    let stack: SimulatorStack | undefined;
    let kube: DeploymentClient;
    let metrics: MetricClient;
    if (o.simulator) {
      console.log('starting the cluster simulator and a local Prometheus...');
      stack = await startSimulatorStack({ seed, target });
      ({ kube, metrics } = stack);
      console.log(`simulator api=${stack.simulator.apiUrl} prometheus=${stack.prometheus.url}`);
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
        setup: { target, timings, bounds, startConfig: startConfig ?? 'current', dryRun, reward, simulator: Boolean(o.simulator) },
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
