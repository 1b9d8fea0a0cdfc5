/** `rl-autoscaler collect`: measure a deployment over configurations x load levels into a v2 dataset. */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { collect, type CollectTimings } from '../collect/collector';
import { planPoints, PlanError, type PlanKind, type PlanSpec } from '../collect/plan';
import { parseConfigText } from '../env/start';
import { DeploymentClient, loadKubeConfig, type DeploymentTarget } from '../kube';
import { startSimulatorStack, type SimulatorStack } from '../live/simulator-stack';
import { SCENARIO_NAMES, type ScenarioName } from '../load/scenarios';
import { MetricClient } from '../metric';
import type { ScalingConfig } from '../space';
import { intOption, parseOptions } from './args';
import { COLLECT } from './definitions';
import { UsageError } from './types';

function config(text: string, option: string): ScalingConfig {
  try {
    return parseConfigText(text, `--${option}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function strideOption(text: string): ScalingConfig {
  const m = /^(\d+),(\d+),(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--stride must be <replicas>,<cpuMillis>,<heapMB> steps, e.g. 1,200,400; got ${JSON.stringify(text)}`);
  return { replicas: Number(m[1]), cpuMillis: Number(m[2]), heapMB: Number(m[3]) };
}

function rates(text: string): number[] {
  const values = text.split(',').map((t) => Number(t.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v <= 0)) throw new UsageError(`--rates must be positive request rates separated by commas, got ${JSON.stringify(text)}`);
  return values;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], option: string): T {
  if (!allowed.includes(value as T)) throw new UsageError(`--${option} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

/** Timings for the simulator (seconds-long steps) and for a real cluster (the original's minutes). */
const SIMULATOR_TIMINGS: CollectTimings = { warmupS: 3, windowS: 5, rolloutTimeoutMs: 30_000 };
const CLUSTER_TIMINGS: CollectTimings = { warmupS: 60, windowS: 60, rolloutTimeoutMs: 300_000 };

export async function run(args: string[]): Promise<number> {
  const o = parseOptions(args, COLLECT.options);
  if (!o.target && !o.simulator) throw new UsageError('--target URL is required: the application the load generator sends to');
  if (o.target && !/^https?:\/\//.test(o.target)) throw new UsageError(`--target must be an http:// or https:// URL, got ${JSON.stringify(o.target)}`);
  if (!o.simulator && !o.prometheus) throw new UsageError('pass --simulator, or --prometheus URL (with --kubeconfig F or the default kubeconfig)');
  if (o.simulator && (o.prometheus || o.kubeconfig)) throw new UsageError('--simulator starts its own simulator and Prometheus; do not combine it with --kubeconfig/--prometheus');
  const kind = oneOf<PlanKind>(o.plan!, ['walk', 'grid'], 'plan');
  if (kind === 'grid' && (o.configs || o['walk-start'])) throw new UsageError('--configs and --walk-start belong to --plan walk');
  if (kind === 'walk' && o.stride) throw new UsageError('--stride belongs to --plan grid');
  const scenario = oneOf<ScenarioName>(o.scenario!, SCENARIO_NAMES, 'scenario');
  const seed = intOption(o.seed, 'seed', 1);
  const plan: PlanSpec = {
    kind,
    bounds: { min: config(o.min!, 'min'), max: config(o.max!, 'max') },
    ratesRps: rates(o.rates!),
    seed,
    ...(kind === 'walk' ? { configs: intOption(o.configs, 'configs', 10) } : {}),
    ...(o['walk-start'] ? { start: config(o['walk-start'], 'walk-start') } : {}),
    ...(o.stride ? { stride: strideOption(o.stride) } : {}),
  };
  try {
    planPoints(plan); // a bad plan fails here, before a simulator or a load starts
  } catch (err) {
    if (err instanceof PlanError) throw new UsageError(err.message);
    throw err;
  }
  const base = o.simulator ? SIMULATOR_TIMINGS : CLUSTER_TIMINGS;
  const timings: CollectTimings = { ...base, warmupS: intOption(o['warmup-s'], 'warmup-s', base.warmupS), windowS: intOption(o['window-s'], 'window-s', base.windowS) };
  if (timings.warmupS < 0 || timings.windowS < 1) throw new UsageError('--warmup-s must be >= 0 and --window-s >= 1');
  const target: DeploymentTarget = { namespace: o.namespace!, deployment: o.deployment!, container: o.container!, heapEnvVar: o['heap-env']! };
  const file = o.out ?? path.join('out', 'collect', `dataset-${Date.now()}.csv`);
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });

  let stack: SimulatorStack | undefined;
  let kube: DeploymentClient;
  let metrics: MetricClient;
  let targetUrl = o.target;
  if (o.simulator) {
    console.log('starting the cluster simulator and a local Prometheus...');
    stack = await startSimulatorStack({ seed, target });
    ({ kube, metrics } = stack);
    // By default the load goes to the simulator's own web UI, whose pods follow the performance model.
    targetUrl ??= stack.simulator.appUrl;
    console.log(`load to ${targetUrl}`);
  } else {
    kube = new DeploymentClient(loadKubeConfig(o.kubeconfig), target);
    metrics = new MetricClient({ url: o.prometheus! });
  }
  const interrupt = new AbortController();
  const onSignal = () => {
    console.log('stopping after the current point is recorded or abandoned...');
    interrupt.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await collect({ plan, timings, targetUrl: targetUrl!, scenario, file, kube, metrics, signal: interrupt.signal, onProgress: (line) => console.log(line) });
    const done = result.resumedFrom + result.measured;
    console.log(`${done}/${result.planned} points in ${file}${result.interrupted ? ' (interrupted: run the same command again to resume)' : ''}`);
    return result.interrupted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stack?.stop();
  }
}
