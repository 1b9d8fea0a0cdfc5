/**
 * The three knobs of the TeaStore web UI, the seven relative actions, and the observation.
 *
 * Everything is named by meaning. The original offline environment addressed dataset columns by
 * position and so read the heap column as "cpu"; here a configuration is always
 * `{replicas, cpuMillis, heapMB}` and levels are derived from it in one place.
 */

/** A deployment configuration in physical units. */
export interface ScalingConfig {
  /** Number of pods, 1..9. */
  replicas: number;
  /** Container CPU limit in millicores, 100..900 in steps of 100. */
  cpuMillis: number;
  /** JVM maximum heap (-Xmx) in MB, 100..900 in steps of 100. */
  heapMB: number;
}

/** What the agent sees: the configuration plus the measured usage per pod. */
export interface Observation extends ScalingConfig {
  /** Mean CPU usage per pod, in cores. */
  usedCpu: number;
  /** Mean working-set memory per pod, in GiB. */
  usedRam: number;
}

export type Knob = keyof ScalingConfig;
export const KNOBS: readonly Knob[] = ['replicas', 'cpuMillis', 'heapMB'];

/** Levels 1..LEVELS per knob; a level is the knob's value divided by its unit. */
export const LEVELS = 9;
export const KNOB_UNIT: Readonly<Record<Knob, number>> = { replicas: 1, cpuMillis: 100, heapMB: 100 };
export const CONFIG_COUNT = LEVELS * LEVELS * LEVELS;

export interface ActionSpec {
  id: number;
  name: string;
  knob: Knob | null;
  /** Change in levels of `knob`. */
  delta: -1 | 0 | 1;
}

/** The seven actions, with the original's ids and names. */
export const ACTIONS: readonly ActionSpec[] = [
  { id: 0, name: 'DO_NOTHING', knob: null, delta: 0 },
  { id: 1, name: 'INCREASE_REPLICA', knob: 'replicas', delta: 1 },
  { id: 2, name: 'DECREASE_REPLICA', knob: 'replicas', delta: -1 },
  { id: 3, name: 'INCREASE_CPU', knob: 'cpuMillis', delta: 1 },
  { id: 4, name: 'DECREASE_CPU', knob: 'cpuMillis', delta: -1 },
  { id: 5, name: 'INCREASE_HEAP', knob: 'heapMB', delta: 1 },
  { id: 6, name: 'DECREASE_HEAP', knob: 'heapMB', delta: -1 },
];
export const ACTION_COUNT = ACTIONS.length;
export const Action = {
  DO_NOTHING: 0,
  INCREASE_REPLICA: 1,
  DECREASE_REPLICA: 2,
  INCREASE_CPU: 3,
  DECREASE_CPU: 4,
  INCREASE_HEAP: 5,
  DECREASE_HEAP: 6,
} as const;

/** Inclusive limits per knob, in physical units. */
export interface Bounds {
  min: ScalingConfig;
  max: ScalingConfig;
}

export const FULL_BOUNDS: Bounds = {
  min: { replicas: 1, cpuMillis: 100, heapMB: 100 },
  max: { replicas: 9, cpuMillis: 900, heapMB: 900 },
};

export class SpaceError extends Error {
  override name = 'SpaceError';
}

function levelOf(knob: Knob, value: number): number {
  return value / KNOB_UNIT[knob];
}

/** Throws a SpaceError naming the first knob that is off the 9-level grid. */
export function assertOnGrid(config: ScalingConfig, what = 'config'): void {
  for (const knob of KNOBS) {
    const value = config[knob];
    const level = levelOf(knob, value);
    if (typeof value !== 'number' || !Number.isInteger(level) || level < 1 || level > LEVELS) {
      const unit = KNOB_UNIT[knob];
      throw new SpaceError(
        `${what}.${knob} = ${JSON.stringify(value)} is not on the grid (${unit}..${unit * LEVELS} in steps of ${unit})`,
      );
    }
  }
}

export function withinBounds(config: ScalingConfig, bounds: Bounds = FULL_BOUNDS): boolean {
  return KNOBS.every((k) => config[k] >= bounds.min[k] && config[k] <= bounds.max[k]);
}

/** Dense index 0..728 of a configuration: ((replicas-1)*9 + cpuLevel-1)*9 + heapLevel-1. */
export function configIndex(config: ScalingConfig): number {
  return ((config.replicas - 1) * LEVELS + config.cpuMillis / 100 - 1) * LEVELS + config.heapMB / 100 - 1;
}

export function configFromIndex(index: number): ScalingConfig {
  const heapLevel = (index % LEVELS) + 1;
  const cpuLevel = (Math.floor(index / LEVELS) % LEVELS) + 1;
  const replicas = Math.floor(index / (LEVELS * LEVELS)) + 1;
  return { replicas, cpuMillis: cpuLevel * 100, heapMB: heapLevel * 100 };
}

/** Change in config index that each action causes (when valid). */
const INDEX_DELTA: Readonly<Record<Knob, number>> = { replicas: LEVELS * LEVELS, cpuMillis: LEVELS, heapMB: 1 };

/**
 * Applies an action. Returns the new configuration, or null when the move would leave the bounds.
 */
export function applyAction(config: ScalingConfig, action: number, bounds: Bounds = FULL_BOUNDS): ScalingConfig | null {
  const spec = ACTIONS[action];
  if (spec === undefined) throw new SpaceError(`action ${JSON.stringify(action)} is not one of 0..${ACTION_COUNT - 1}`);
  if (spec.knob === null) return { ...config };
  const next = { ...config, [spec.knob]: config[spec.knob] + spec.delta * KNOB_UNIT[spec.knob] };
  return withinBounds(next, bounds) ? next : null;
}

/**
 * Transition table over config indices: NEXT_CONFIG[c * 7 + a] is the index reached from c by a,
 * or -1 when a would leave the full grid. Used by the fast environments and the exact solvers.
 */
export const NEXT_CONFIG: Int16Array = (() => {
  const table = new Int16Array(CONFIG_COUNT * ACTION_COUNT);
  for (let c = 0; c < CONFIG_COUNT; c++) {
    const config = configFromIndex(c);
    for (const spec of ACTIONS) {
      const next = applyAction(config, spec.id);
      table[c * ACTION_COUNT + spec.id] = next === null ? -1 : c + (spec.knob ? spec.delta * INDEX_DELTA[spec.knob] : 0);
    }
  }
  return table;
})();

/** Transition table restricted to `bounds` (-1 where the move leaves them). */
export function nextConfigTable(bounds: Bounds = FULL_BOUNDS): Int16Array {
  const table = NEXT_CONFIG.slice();
  for (let i = 0; i < table.length; i++) {
    if (table[i] >= 0 && !withinBounds(configFromIndex(table[i]), bounds)) table[i] = -1;
  }
  return table;
}

/** Valid-action mask: mask[a] is true when action a keeps the config within bounds. */
export function actionMask(config: ScalingConfig, bounds: Bounds = FULL_BOUNDS): boolean[] {
  return ACTIONS.map((spec) => applyAction(config, spec.id, bounds) !== null);
}

/** The action that moves `from` one level towards `to` (replicas first, then CPU, then heap). */
export function actionTowards(from: ScalingConfig, to: ScalingConfig): number {
  if (to.replicas !== from.replicas) return to.replicas > from.replicas ? Action.INCREASE_REPLICA : Action.DECREASE_REPLICA;
  if (to.cpuMillis !== from.cpuMillis) return to.cpuMillis > from.cpuMillis ? Action.INCREASE_CPU : Action.DECREASE_CPU;
  if (to.heapMB !== from.heapMB) return to.heapMB > from.heapMB ? Action.INCREASE_HEAP : Action.DECREASE_HEAP;
  return Action.DO_NOTHING;
}

export function formatConfig(config: ScalingConfig): string {
  return `${config.replicas}x ${config.cpuMillis}m cpu ${config.heapMB}MB heap`;
}

/**
 * Network encoding of an observation: one-hot replicas, CPU and heap levels (9 each), then used
 * CPU (cores) and used memory (GiB). The same 29 floats RLlib built for the original.
 */
export const OBSERVATION_SIZE = 3 * LEVELS + 2;

export function encodeObservation(obs: Observation, out: Float32Array = new Float32Array(OBSERVATION_SIZE), offset = 0): Float32Array {
  out.fill(0, offset, offset + OBSERVATION_SIZE);
  out[offset + obs.replicas - 1] = 1;
  out[offset + LEVELS + obs.cpuMillis / 100 - 1] = 1;
  out[offset + 2 * LEVELS + obs.heapMB / 100 - 1] = 1;
  out[offset + 3 * LEVELS] = obs.usedCpu;
  out[offset + 3 * LEVELS + 1] = obs.usedRam;
  return out;
}

/** Encodes straight from a config index and usages (the hot path of the vectorised env). */
export function encodeIndex(index: number, usedCpu: number, usedRam: number, out: Float32Array, offset: number): void {
  out.fill(0, offset, offset + OBSERVATION_SIZE);
  out[offset + Math.floor(index / (LEVELS * LEVELS))] = 1;
  out[offset + LEVELS + (Math.floor(index / LEVELS) % LEVELS)] = 1;
  out[offset + 2 * LEVELS + (index % LEVELS)] = 1;
  out[offset + 3 * LEVELS] = usedCpu;
  out[offset + 3 * LEVELS + 1] = usedRam;
}

/** The schema recorded in checkpoints and served to clients, so both ends can check they agree. */
export const SPACE_SCHEMA = {
  version: 1,
  observation: {
    fields: ['replicas', 'cpuMillis', 'heapMB', 'usedCpu', 'usedRam'],
    encoding: 'one-hot replicas/cpu/heap levels (9 each) + usedCpu cores + usedRam GiB',
    size: OBSERVATION_SIZE,
    grid: { replicas: [1, 9, 1], cpuMillis: [100, 900, 100], heapMB: [100, 900, 100] },
  },
  action: { n: ACTION_COUNT, names: ACTIONS.map((a) => a.name) },
} as const;
