/**
 * Dataset schema v2: what `rl-autoscaler collect` measures, one row per point, as CSV.
 *
 * The bundled dataset (v1, data.ts) was recorded at one constant load and has no request-level
 * columns. A v2 file generalises it: each row is one configuration under one offered load, with
 * what was served, what failed, the latency percentiles and the pods' usage. Layout:
 *
 *   # rl-autoscaler dataset v2
 *   # plan {...one line of JSON: how the points were chosen and measured...}
 *   time,point,replicas,cpu_millis,heap_mb,offered_rps,...
 *   2026-12-02T18:00:00.000Z,0,1,500,500,100,...
 *
 * Rates are HTTP requests per second over the measurement window; packet rates, CPU and memory
 * are means per pod; cost is USD/hour for the whole deployment. Latency percentiles are of the
 * requests served in the window, in milliseconds (empty when nothing was served).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DatasetError, indexByConfig, type TeastoreTable } from './data';
import type { PodUsage } from './measurement';
import { assertOnGrid, SpaceError, type ScalingConfig } from './space';

export const DATASET_V2_MAGIC = '# rl-autoscaler dataset v2';
const PLAN_PREFIX = '# plan ';

export const DATASET_V2_COLUMNS = [
  'time', 'point', 'replicas', 'cpu_millis', 'heap_mb',
  'offered_rps', 'served_rps', 'failed_rps', 'latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms',
  'used_cpu_cores', 'used_ram_gib', 'incoming_packets_per_s', 'outgoing_packets_per_s', 'cost_per_hour',
] as const;

/** One measured point: a configuration under an offered load. */
export interface CollectedPoint {
  /** End of the measurement window, ISO 8601. */
  time: string;
  /** Index of the point in its plan. */
  point: number;
  config: ScalingConfig;
  offeredRps: number;
  servedRps: number;
  failedRps: number;
  /** Of the requests served in the window; NaN when none was. */
  latencyMs: { p50: number; p95: number; p99: number };
  /** Mean per pod. */
  usage: PodUsage;
  costPerHour: number;
}

export interface DatasetV2 {
  file: string;
  sha256: string;
  /** The plan line's JSON: how the points were chosen and measured. */
  plan: Record<string, unknown>;
  points: CollectedPoint[];
  /** The file ended in a partly written row (a crash mid-write); it is not in `points`. */
  tornTail: boolean;
}

/** The first three lines of a v2 file. */
export function datasetV2Header(plan: Record<string, unknown>): string {
  return `${DATASET_V2_MAGIC}\n${PLAN_PREFIX}${JSON.stringify(plan)}\n${DATASET_V2_COLUMNS.join(',')}\n`;
}

export function isDatasetV2(text: string): boolean {
  return text.startsWith(DATASET_V2_MAGIC);
}

const formatNumber = (value: number) => (Number.isNaN(value) ? '' : String(value));

/** One CSV row, newline included. */
export function formatPointRow(p: CollectedPoint): string {
  const values = [
    p.time, p.point, p.config.replicas, p.config.cpuMillis, p.config.heapMB,
    p.offeredRps, p.servedRps, p.failedRps, p.latencyMs.p50, p.latencyMs.p95, p.latencyMs.p99,
    p.usage.usedCpuCores, p.usage.usedRamGiB, p.usage.incomingPacketsPerSec, p.usage.outgoingPacketsPerSec, p.costPerHour,
  ];
  return values.map((v) => (typeof v === 'number' ? formatNumber(v) : v)).join(',') + '\n';
}

/** Columns that may be empty: latency when nothing was served, packets when the network series were missing. */
const MAY_BE_EMPTY = new Set<string>(['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'incoming_packets_per_s', 'outgoing_packets_per_s']);

/** Parses and validates a v2 file; errors name the file, line, column and value. */
export function parseDatasetV2(text: string, file = '<memory>'): DatasetV2 {
  const fail = (line: number, message: string, column?: string, value?: string) => new DatasetError(`${file}:${line}: ${message}`, file, line, column, value);
  const tornTail = text.length > 0 && !text.endsWith('\n');
  const complete = tornTail ? text.slice(0, text.lastIndexOf('\n') + 1) : text;
  const lines = complete.split('\n');
  lines.pop(); // after the final newline
  if (lines[0] !== DATASET_V2_MAGIC) throw fail(1, `expected ${JSON.stringify(DATASET_V2_MAGIC)} as the first line`, 'header', lines[0]);
  if (!lines[1]?.startsWith(PLAN_PREFIX)) throw fail(2, `expected the plan line "${PLAN_PREFIX}{...}"`, 'plan', lines[1]);
  let plan: Record<string, unknown>;
  try {
    plan = JSON.parse(lines[1].slice(PLAN_PREFIX.length)) as Record<string, unknown>;
  } catch (err) {
    throw fail(2, `the plan is not valid JSON (${(err as Error).message})`, 'plan', lines[1]);
  }
  if (lines[2] !== DATASET_V2_COLUMNS.join(',')) throw fail(3, `unexpected column header; expected ${DATASET_V2_COLUMNS.join(',')}`, 'header', lines[2]);

  const points: CollectedPoint[] = [];
  for (let i = 3; i < lines.length; i++) {
    const lineNo = i + 1;
    const fields = lines[i].split(',');
    if (fields.length !== DATASET_V2_COLUMNS.length) throw fail(lineNo, `expected ${DATASET_V2_COLUMNS.length} fields, found ${fields.length}`, undefined, lines[i]);
    const num = (c: number): number => {
      const column = DATASET_V2_COLUMNS[c];
      const token = fields[c];
      if (token === '' && MAY_BE_EMPTY.has(column)) return Number.NaN;
      const value = token === '' ? Number.NaN : Number(token);
      if (!Number.isFinite(value)) throw fail(lineNo, `column ${column}: ${JSON.stringify(token)} is not a finite number`, column, token);
      if (value < 0) throw fail(lineNo, `column ${column}: ${token} is negative (a rate, usage, latency or cost cannot be)`, column, token);
      return value;
    };
    const time = fields[0];
    if (Number.isNaN(Date.parse(time))) throw fail(lineNo, `column time: ${JSON.stringify(time)} is not an ISO 8601 time`, 'time', time);
    const point = num(1);
    if (!Number.isInteger(point)) throw fail(lineNo, `column point: ${fields[1]} is not an integer`, 'point', fields[1]);
    const config = { replicas: num(2), cpuMillis: num(3), heapMB: num(4) };
    try {
      assertOnGrid(config, 'configuration');
    } catch (err) {
      if (err instanceof SpaceError) throw fail(lineNo, err.message, 'configuration', fields.slice(2, 5).join(','));
      throw err;
    }
    const offeredRps = num(5);
    const servedRps = num(6);
    const failedRps = num(7);
    points.push({
      time,
      point,
      config,
      offeredRps,
      servedRps,
      failedRps,
      latencyMs: { p50: num(8), p95: num(9), p99: num(10) },
      usage: { usedCpuCores: num(11), usedRamGiB: num(12), incomingPacketsPerSec: num(13), outgoingPacketsPerSec: num(14) },
      costPerHour: num(15),
    });
  }
  return { file, sha256: createHash('sha256').update(text).digest('hex'), plan, points, tornTail };
}

/** A file's v2 dataset; undefined when it is not one or cannot be read (the v1 loader then says why). */
export function readDatasetV2File(file: string): DatasetV2 | undefined {
  const resolved = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch {
    return undefined;
  }
  return isDatasetV2(text) ? parseDatasetV2(text, resolved) : undefined;
}

/** The measurement window the plan line records, s (undefined when it records none). */
export function planWindowS(dataset: DatasetV2): number | undefined {
  const windowS = dataset.plan.windowS;
  return typeof windowS === 'number' && windowS > 0 ? windowS : undefined;
}

/** The distinct offered loads of a dataset's points, rounded to 0.1 req/s, ascending. */
export function loadLevels(points: readonly CollectedPoint[]): number[] {
  return [...new Set(points.map((p) => Math.round(p.offeredRps * 10) / 10))].sort((a, b) => a - b);
}

/**
 * The points at one offered load as a v1-shaped table, so the offline environments replay a
 * collected dataset as they replay the bundled one. `offeredRps` picks the load level (within 5%);
 * it may be left out when the file holds a single level. Columns v2 does not have (HAProxy session
 * rates, the recorder's goodness and Q values) are NaN, the next configuration is the point's own.
 */
export function tableFromDatasetV2(dataset: DatasetV2, offeredRps?: number): TeastoreTable {
  const { file, points } = dataset;
  if (points.length === 0) throw new DatasetError(`${file}: the dataset has a header but no measured points`, file, 4);
  const levels = loadLevels(points);
  if (offeredRps === undefined && levels.length > 1) {
    throw new DatasetError(`${file}: the dataset holds ${levels.length} load levels (${levels.join(', ')} req/s); pick one (--data-rate N)`, file);
  }
  const level = offeredRps ?? levels[0];
  const rows = points.filter((p) => Math.abs(p.offeredRps - level) <= 0.05 * level);
  if (rows.length === 0) throw new DatasetError(`${file}: no point was measured at ${level} req/s (levels: ${levels.join(', ')} req/s)`, file);
  const n = rows.length;
  const column = (get: (p: CollectedPoint) => number) => Float64Array.from(rows, get);
  const replicas = Uint8Array.from(rows, (p) => p.config.replicas);
  const cpuMillis = Uint16Array.from(rows, (p) => p.config.cpuMillis);
  const heapMB = Uint16Array.from(rows, (p) => p.config.heapMB);
  const nan = () => new Float64Array(n).fill(Number.NaN);
  return {
    file,
    sha256: dataset.sha256,
    rowCount: n,
    replicas,
    cpuMillis,
    heapMB,
    incomingPacketsPerSec: column((p) => p.usage.incomingPacketsPerSec),
    outgoingPacketsPerSec: column((p) => p.usage.outgoingPacketsPerSec),
    maxSessionRate: nan(),
    currentSessionRate: nan(),
    usedCpuCores: column((p) => p.usage.usedCpuCores),
    usedRamGiB: column((p) => p.usage.usedRamGiB),
    costPerHour: column((p) => p.costPerHour),
    goodness: nan(),
    loggedReward: nan(),
    nextReplicas: replicas.slice(),
    nextHeapMB: heapMB.slice(),
    nextCpuCores: Float64Array.from(cpuMillis, (m) => m / 1000),
    actionState: rows.map((p) => `${p.config.replicas}-${p.config.heapMB}-${p.config.cpuMillis}-0`),
    qValue: nan(),
    ...indexByConfig(replicas, cpuMillis, heapMB),
  };
}
