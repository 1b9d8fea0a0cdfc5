/**
 * The offline environment: replays the recorded TeaStore dataset.
 *
 * The state is a dataset row (its configuration and measured usage). A valid move samples one
 * logged row of the target configuration uniformly (seeded); an invalid move keeps the state and
 * pays the reward's penalty. `makeDatasetEnv` adds the episode wrappers: episodes last `maxSteps`
 * steps and end `truncated`, and stepping before a reset is refused.
 * Each step is O(1): rows are indexed by configuration once, rewards are precomputed per row.
 */
import { loadTeastoreData, type TeastoreTable } from '../data';
import { Rng } from '../random';
import { datasetNormalisers, makeReward, rowRewards, type RewardFunction, type RewardName } from '../reward';
import * as space from '../space';
import { FULL_BOUNDS, configFromIndex, configIndex, nextConfigTable, SpaceError, type Bounds, type Observation } from '../space';
import { withEpisodeWrappers, type EpisodeEnv } from './episode-wrappers';
import { checkStart, ORIGINAL_START, type Start } from './start';
import type { ResetOptions, ResetResult, StepInfo, StepResult, SyncEnv } from './types';

export const DEFAULT_MAX_STEPS = 50;
// A local copy: imported bindings compile to getter calls on the hot path.
const ACTION_COUNT = space.ACTION_COUNT;

export interface DatasetEnvOptions {
  /** A model to share (its precomputed tables); otherwise one is built from table, reward and bounds. */
  model?: DatasetModel;
  table?: TeastoreTable;
  /** A reward function, or the name of a built-in one using the dataset's normalisers. */
  reward?: RewardFunction | RewardName;
  start?: Start;
  seed?: number;
  bounds?: Bounds;
}

/** The smallest bounds holding every configuration the dataset measured (the full grid for the bundled one). */
export function measuredBounds(table: TeastoreTable): Bounds {
  if (table.rowCount === 0) return FULL_BOUNDS;
  const min = { replicas: Infinity, cpuMillis: Infinity, heapMB: Infinity };
  const max = { replicas: -Infinity, cpuMillis: -Infinity, heapMB: -Infinity };
  for (let i = 0; i < table.rowCount; i++) {
    const config = { replicas: table.replicas[i], cpuMillis: table.cpuMillis[i], heapMB: table.heapMB[i] };
    for (const knob of space.KNOBS) {
      min[knob] = Math.min(min[knob], config[knob]);
      max[knob] = Math.max(max[knob], config[knob]);
    }
  }
  return { min, max };
}

/** A replay can reach every configuration within its bounds, so each must have been measured. */
function assertMeasured(table: TeastoreTable, bounds: Bounds): void {
  for (let c = 0; c < space.CONFIG_COUNT; c++) {
    const config = configFromIndex(c);
    if (space.withinBounds(config, bounds) && table.configStart[c + 1] === table.configStart[c]) {
      throw new SpaceError(`${table.file}: no rows for ${space.formatConfig(config)}, a configuration within the bounds ${space.formatConfig(bounds.min)} .. ${space.formatConfig(bounds.max)}; measure it, or narrow the bounds to what was measured`);
    }
  }
}

/** Everything the dataset environments share: rows per configuration, rewards, transitions. */
export class DatasetModel {
  readonly table: TeastoreTable;
  readonly reward: RewardFunction;
  readonly rewards: Float64Array;
  readonly next: Int16Array;
  /** masks[c*7 + a] = 1 when action a is valid in configuration c. */
  readonly masks: Uint8Array;
  readonly bounds: Bounds;

  constructor(options: { table?: TeastoreTable; reward?: RewardFunction | RewardName; bounds?: Bounds } = {}) {
    this.table = options.table ?? loadTeastoreData();
    const reward = options.reward ?? 'classic';
    this.reward = typeof reward === 'string' ? makeReward(reward, datasetNormalisers(this.table)) : reward;
    this.rewards = rowRewards(this.table, this.reward);
    this.bounds = options.bounds ?? measuredBounds(this.table);
    assertMeasured(this.table, this.bounds);
    this.next = nextConfigTable(this.bounds);
    this.masks = Uint8Array.from(this.next, (target) => (target >= 0 ? 1 : 0));
  }

  /** A uniformly drawn logged row of configuration `config`. */
  sampleRow(config: number, rng: Rng): number {
    const start = this.table.configStart[config];
    const count = this.table.configStart[config + 1] - start;
    if (count === 0) throw new Error(`the dataset has no rows for configuration #${config}`);
    return this.table.rowsOfConfig[start + rng.int(count)];
  }

  startRow(start: Start, rng: Rng): number {
    switch (start.kind) {
      case 'row':
        return start.row;
      case 'random-row':
        return rng.int(this.table.rowCount);
      case 'config':
        return this.sampleRow(configIndex(start.config), rng);
    }
  }

  observation(row: number): Observation {
    const t = this.table;
    return { replicas: t.replicas[row], cpuMillis: t.cpuMillis[row], heapMB: t.heapMB[row], usedCpu: t.usedCpuCores[row], usedRam: t.usedRamGiB[row] };
  }

  info(row: number, step: number, invalidAction: boolean): StepInfo {
    const t = this.table;
    return {
      config: configFromIndex(t.config[row]),
      metrics: {
        incomingPacketsPerSec: t.incomingPacketsPerSec[row],
        outgoingPacketsPerSec: t.outgoingPacketsPerSec[row],
        usedCpuCores: t.usedCpuCores[row],
        usedRamGiB: t.usedRamGiB[row],
        costPerHour: t.costPerHour[row],
      },
      invalidAction,
      step,
      row,
    };
  }
}

/** The dataset replay itself, without a time limit; `makeDatasetEnv` gives the wrapped one. */
export class DatasetEnv implements SyncEnv {
  readonly actionCount = ACTION_COUNT;
  readonly model: DatasetModel;
  start: Start;
  private rng: Rng;
  private row = -1;
  private steps = 0;

  constructor(options: DatasetEnvOptions = {}) {
    this.model = options.model ?? new DatasetModel(options);
    this.start = options.start ?? ORIGINAL_START;
    checkStart(this.start, this.model.table.rowCount);
    this.rng = new Rng(options.seed ?? 0);
  }

  reset(options: ResetOptions = {}): ResetResult {
    if (options.resumeAfterStep !== undefined) throw new Error('the dataset replay cannot resume an episode: it has no running state to observe');
    if (options.seed !== undefined) this.rng = new Rng(options.seed);
    this.steps = 0;
    this.row = this.model.startRow(this.start, this.rng);
    return { observation: this.model.observation(this.row), info: this.model.info(this.row, 0, false) };
  }

  step(action: number): StepResult {
    if (!Number.isInteger(action) || action < 0 || action >= ACTION_COUNT) {
      throw new SpaceError(`action ${JSON.stringify(action)} is not one of 0..${ACTION_COUNT - 1}`);
    }
    this.steps++;
    const target = this.model.next[this.model.table.config[this.row] * ACTION_COUNT + action];
    const invalid = target < 0;
    let reward: number;
    if (invalid) {
      reward = this.model.reward.invalidPenalty;
    } else {
      this.row = this.model.sampleRow(target, this.rng);
      reward = this.model.rewards[this.row];
    }
    return {
      observation: this.model.observation(this.row),
      reward,
      terminated: false,
      truncated: false,
      info: this.model.info(this.row, this.steps, invalid),
    };
  }

  actionMask(): boolean[] {
    const c = this.model.table.config[this.row];
    const mask = new Array<boolean>(ACTION_COUNT);
    for (let a = 0; a < ACTION_COUNT; a++) mask[a] = this.model.next[c * ACTION_COUNT + a] >= 0;
    return mask;
  }
}

/** The dataset replay inside the episode wrappers: `maxSteps`-step episodes (default 50), call order checked. */
export function makeDatasetEnv(options: DatasetEnvOptions & { maxSteps?: number } = {}): EpisodeEnv<DatasetEnv> {
  return withEpisodeWrappers(new DatasetEnv(options), options.maxSteps ?? DEFAULT_MAX_STEPS);
}
