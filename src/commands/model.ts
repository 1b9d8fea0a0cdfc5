/** `rl-autoscaler model`: predictions of the calibrated performance model, or its fit to the dataset. */
import { loadTeastoreData } from '../data';
import { planWindowS, readDatasetV2File, type DatasetV2 } from '../dataset-v2';
import { calibrateFromPoints, createPerformanceModel, fitReport, loadPerformanceModel, noNoise, type FitReport, type Prediction } from '../model';
import { pointFitReport, type PointFitReport } from '../model/point-fit-report';
import type { ScalingConfig } from '../space';
import { parseOptions } from './args';
import { MODEL } from './definitions';
import { UsageError } from './types';

/** `R,CPU,HEAP` as positive integers; the model extrapolates, so the grid is not enforced. */
function configOption(text: string): ScalingConfig {
  const m = /^(\d+),(\d+),(\d+)$/.exec(text);
  const config = m ? { replicas: Number(m[1]), cpuMillis: Number(m[2]), heapMB: Number(m[3]) } : undefined;
  if (!config || config.replicas < 1 || config.cpuMillis < 1 || config.heapMB < 1) throw new UsageError(`--config must be <replicas>,<cpuMillis>,<heapMB> with each at least 1, e.g. 1,500,500; got ${JSON.stringify(text)}`);
  return config;
}

function ratesOption(text: string | undefined): number[] {
  if (text === undefined) return [100];
  return text.split(',').map((part) => {
    const rate = Number(part);
    if (part.trim() === '' || !Number.isFinite(rate) || rate < 0) throw new UsageError(`--rate must be request rates >= 0 separated by commas, got ${JSON.stringify(text)}`);
    return rate;
  });
}

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'NaN');

function predictionTable(predictions: Prediction[]): string {
  const header = ['offered', 'served', 'failed', 'p50 ms', 'p95 ms', 'p99 ms', 'cpu/pod', 'GiB/pod', 'tx pkt/s/pod', 'util', 'capacity'];
  const rows = predictions.map((p) => [
    fixed(p.offeredRps, 1), fixed(p.servedRps, 1), fixed(p.failedRps, 1), fixed(p.latencyMs.p50, 1), fixed(p.latencyMs.p95, 1), fixed(p.latencyMs.p99, 1),
    fixed(p.cpuCores, 3), fixed(p.memoryGiB, 3), fixed(p.transmittedPacketsPerSec, 0), fixed(p.utilisation, 3), fixed(p.capacityRps, 1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padStart(widths[i])).join('  ')).join('\n');
}

function fitTable(report: FitReport): string {
  const lines = [`fit over ${report.rows.length} configurations at ${report.offeredRps} req/s (data sha256 ${report.dataSha256.slice(0, 12)}…)`, 'metric                   R^2     median |error| %'];
  for (const m of report.metrics) lines.push(`${m.metric.padEnd(22)}  ${fixed(m.rSquared, 3).padStart(6)}  ${fixed(m.medianAbsPercentError, 1).padStart(8)}`);
  lines.push(`classic reward ranking: Spearman ${fixed(report.classicRewardSpearman, 3)}`);
  return lines.join('\n');
}

function parameterLines(p: Record<string, number>): string {
  const fitted = ['capacityPerCore', 'cpuExponent', 'heapPenalty', 'heapScaleMB', 'cpuBusyExponent', 'outPacketsPerRequest', 'inPacketsPerRequest'];
  return `calibrated: ${fitted.map((k) => `${k}=${p[k].toPrecision(4)}`).join(' ')}`;
}

function pointFitTable(report: PointFitReport): string {
  const saturated = report.rows.filter((r) => r.role === 'saturated').length;
  const lines = [`fit over ${report.rows.length} collected points, ${saturated} saturated, each at its own offered load (data sha256 ${report.dataSha256.slice(0, 12)}…)`, 'metric                   R^2     median |error| %'];
  for (const m of report.metrics) lines.push(`${m.metric.padEnd(22)}  ${fixed(m.rSquared, 3).padStart(6)}  ${fixed(m.medianAbsPercentError, 1).padStart(8)}`);
  lines.push('latency: unsaturated points only');
  return lines.join('\n');
}

/** `--fit` on a v2 dataset: the calibration, what it could not identify, and each point against the model. */
function collectedFit(dataset: DatasetV2, json: boolean): void {
  const calibration = calibrateFromPoints(dataset.points, { windowS: planWindowS(dataset) });
  const model = createPerformanceModel(calibration.parameters, noNoise, { dataFile: dataset.file, dataSha256: dataset.sha256 });
  const points = pointFitReport(model, dataset);
  const kept = CAPACITY_PARAMETERS.filter((name) => !calibration.fitted.includes(name));
  if (json) {
    console.log(JSON.stringify({ parameters: model.parameters, fitted: calibration.fitted, standardErrors: calibration.standardErrors, latencyOverheadMs: calibration.latencyOverheadMs, ...points }));
    return;
  }
  const se = calibration.standardErrors;
  const lines = [
    parameterLines(model.parameters),
    `standard errors: outPacketsPerRequest ${se.outPacketsPerRequest?.toPrecision(2)}, inPacketsPerRequest ${se.inPacketsPerRequest?.toPrecision(2)} (from the points' scatter)`,
    `client latency overhead ${calibration.latencyOverheadMs.toFixed(1)} ms`,
  ];
  if (kept.length > 0) lines.push(`not identified by these points, kept at their starting values: ${kept.join(', ')} (capacity needs two CPU limits for the exponent, two heaps for the penalty, three for its scale)`);
  console.log(`${lines.join('\n')}\n${pointFitTable(points)}`);
}

const CAPACITY_PARAMETERS = ['capacityPerCore', 'cpuExponent', 'heapPenalty', 'heapScaleMB'] as const;

export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, MODEL.options);
  const collected = opts.fit && opts.data !== undefined ? readDatasetV2File(opts.data) : undefined;
  if (opts.fit && opts.rate !== undefined) throw new UsageError('--fit compares at the dataset\'s own rate; leave out --rate');
  if (collected) {
    collectedFit(collected, opts.json === true);
    return 0;
  }
  const model = loadPerformanceModel(opts.data);
  if (opts.fit) {
    const report = fitReport(model, loadTeastoreData(opts.data));
    console.log(opts.json ? JSON.stringify({ parameters: model.parameters, ...report }) : fitTable(report));
    return 0;
  }
  const config = configOption(opts.config!);
  const predictions = ratesOption(opts.rate).map((rate) => model.predict(config, rate));
  if (opts.json) {
    console.log(JSON.stringify({ config, parameters: model.parameters, predictions }));
    return 0;
  }
  console.log(`${config.replicas} replicas x ${config.cpuMillis}m CPU, ${config.heapMB} MB heap: capacity ${fixed(model.capacity(config), 1)} req/s`);
  console.log(predictionTable(predictions));
  return 0;
}
