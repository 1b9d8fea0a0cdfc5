/**
 * Which points a collection measures, in which order. A plan is a pure function of its spec, so a
 * resumed collection recomputes the same list and continues after the last recorded point.
 *
 * - grid: every configuration within the bounds, heap outermost and replicas innermost (a replica
 *   change is the one move that restarts nothing), each at every load level; a stride (a multiple
 *   of each knob's unit) thins the grid, e.g. heaps 100, 500, 900 with a heap stride of 400;
 * - walk: a bounded random walk that changes one knob by one level per move, as the original's
 *   recorder did, each configuration measured at every load level.
 */
import { Rng } from '../random';
import { ACTIONS, applyAction, assertOnGrid, KNOB_UNIT, withinBounds, type Bounds, type ScalingConfig } from '../space';

export type PlanKind = 'grid' | 'walk';

export interface PlanSpec {
  kind: PlanKind;
  bounds: Bounds;
  /** Offered load levels, HTTP requests per second. */
  ratesRps: number[];
  /** grid: step between measured levels per knob (default: one level, KNOB_UNIT). */
  stride?: Partial<ScalingConfig>;
  /** walk: configurations visited (the start included). */
  configs?: number;
  /** walk: where it starts (default: the middle of the bounds, rounded down to the grid). */
  start?: ScalingConfig;
  seed: number;
}

export interface PlanPoint {
  config: ScalingConfig;
  offeredRps: number;
}

export class PlanError extends Error {
  override name = 'PlanError';
}

/** The points of a plan, in measuring order. */
export function planPoints(spec: PlanSpec): PlanPoint[] {
  assertOnGrid(spec.bounds.min, 'bounds.min');
  assertOnGrid(spec.bounds.max, 'bounds.max');
  if (spec.ratesRps.length === 0) throw new PlanError('a plan needs at least one load level');
  for (const rate of spec.ratesRps) {
    if (!Number.isFinite(rate) || rate <= 0) throw new PlanError(`load level ${rate} req/s is not a positive number`);
  }
  const configs = spec.kind === 'grid' ? gridConfigs(spec.bounds, gridStride(spec.stride)) : walkConfigs(spec);
  return configs.flatMap((config) => spec.ratesRps.map((offeredRps) => ({ config, offeredRps })));
}

function range(min: number, max: number, step: number): number[] {
  const values: number[] = [];
  for (let v = min; v <= max; v += step) values.push(v);
  return values;
}

function gridStride(stride: Partial<ScalingConfig> = {}): ScalingConfig {
  const full = { ...KNOB_UNIT, ...stride };
  for (const knob of ['replicas', 'cpuMillis', 'heapMB'] as const) {
    const step = full[knob];
    if (!Number.isInteger(step) || step < KNOB_UNIT[knob] || step % KNOB_UNIT[knob] !== 0) throw new PlanError(`grid stride ${knob}=${step} is not a positive multiple of ${KNOB_UNIT[knob]}`);
  }
  return full;
}

function gridConfigs({ min, max }: Bounds, stride: ScalingConfig): ScalingConfig[] {
  const configs: ScalingConfig[] = [];
  for (const heapMB of range(min.heapMB, max.heapMB, stride.heapMB)) {
    for (const cpuMillis of range(min.cpuMillis, max.cpuMillis, stride.cpuMillis)) {
      for (const replicas of range(min.replicas, max.replicas, stride.replicas)) configs.push({ replicas, cpuMillis, heapMB });
    }
  }
  return configs;
}

function middle(min: number, max: number, unit: number): number {
  return Math.floor((min + max) / 2 / unit) * unit;
}

function walkConfigs(spec: PlanSpec): ScalingConfig[] {
  const count = spec.configs ?? 10;
  if (!Number.isInteger(count) || count < 1) throw new PlanError(`a walk visits a whole number of configurations >= 1, not ${count}`);
  const { min, max } = spec.bounds;
  let config: ScalingConfig = spec.start ?? {
    replicas: middle(min.replicas, max.replicas, KNOB_UNIT.replicas),
    cpuMillis: middle(min.cpuMillis, max.cpuMillis, KNOB_UNIT.cpuMillis),
    heapMB: middle(min.heapMB, max.heapMB, KNOB_UNIT.heapMB),
  };
  assertOnGrid(config, 'walk start');
  if (!withinBounds(config, spec.bounds)) throw new PlanError(`the walk's start ${JSON.stringify(config)} is outside the bounds`);
  const rng = new Rng(spec.seed);
  const moves = ACTIONS.filter((a) => a.knob !== null).map((a) => a.id);
  const configs = [config];
  while (configs.length < count) {
    const possible = moves.map((a) => applyAction(config, a, spec.bounds)).filter((c): c is ScalingConfig => c !== null);
    // Bounds of a single configuration leave nowhere to go: the walk stays.
    config = possible.length === 0 ? config : possible[rng.int(possible.length)];
    configs.push(config);
  }
  return configs;
}
