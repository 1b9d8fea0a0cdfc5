/**
 * A training run's record: `history.jsonl` beside `meta.json` in the checkpoint folder, one JSON
 * object per PPO update, with the names CleanRL and TensorBoard users know. Offline training writes
 * one line per iteration; live fine-tuning and the policy server one per update, each checkpoint
 * holding its run's lines up to it (the run's previous checkpoint's lines plus its own).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IterationStats, ReturnSummary, UpdateStats } from './ppo';

export const HISTORY_FILE = 'history.jsonl';

/** One line of history.jsonl. Numbers a run could not measure are null. */
export interface HistoryRecord {
  /** Update number within the run, from 1. */
  iteration: number;
  /** Environment steps of the run so far. */
  env_steps: number;
  /** Episodes that ended in this update's batch, and their undiscounted returns (null: none ended). */
  episodes: number;
  episodic_return_mean: number | null;
  episodic_return_min: number | null;
  episodic_return_max: number | null;
  /** Mean reward per step of the batch. */
  step_reward_mean: number | null;
  policy_loss: number | null;
  value_loss: number | null;
  entropy: number | null;
  approx_kl: number | null;
  clip_fraction: number | null;
  /** 1 - Var(returns - values) / Var(returns). */
  explained_variance: number | null;
  learning_rate: number | null;
  /** Coefficient of the adaptive KL penalty after the update (0: off). */
  kl_coef: number | null;
  /** Environment steps per second: offline, of training time; live, of wall time (the environment's pace). */
  steps_per_s: number | null;
  /** Seconds the run has taken so far: offline, training time (pauses excluded); live, wall time. */
  time_s: number | null;
  /** Seconds of this update's gradient steps. */
  update_s: number | null;
  /** When the update finished (ISO 8601). */
  time: string;
}

/** What a live run (fine-tuning, policy server) knows of one update besides its statistics. */
export interface UpdateProgress {
  iteration: number;
  envSteps: number;
  /** Returns of the episodes that ended in the batch (and started within the run). */
  episodeReturns: readonly number[];
  /** Wall seconds of the run so far, and of this update's batch (collecting and updating). */
  runSeconds: number;
  batchSeconds: number;
  batchSteps: number;
  updateSeconds: number;
}

const finite = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

function returnFields(r: ReturnSummary | null): Pick<HistoryRecord, 'episodic_return_mean' | 'episodic_return_min' | 'episodic_return_max'> {
  return { episodic_return_mean: finite(r?.mean), episodic_return_min: finite(r?.min), episodic_return_max: finite(r?.max) };
}

function updateFields(u: Partial<UpdateStats>): Pick<HistoryRecord, 'step_reward_mean' | 'policy_loss' | 'value_loss' | 'entropy' | 'approx_kl' | 'clip_fraction' | 'explained_variance' | 'learning_rate' | 'kl_coef'> {
  return {
    step_reward_mean: finite(u.meanStepReward),
    policy_loss: finite(u.policyLoss),
    value_loss: finite(u.valueLoss),
    entropy: finite(u.entropy),
    approx_kl: finite(u.approxKl),
    clip_fraction: finite(u.clipFraction),
    explained_variance: finite(u.explainedVariance),
    learning_rate: finite(u.learningRate),
    kl_coef: finite(u.klCoef),
  };
}

/** The history line of one offline training iteration. */
export function historyRecordOf(s: IterationStats, time = new Date()): HistoryRecord {
  return {
    iteration: s.iteration,
    env_steps: s.envSteps,
    episodes: s.episodes,
    ...returnFields(s.episodicReturn),
    ...updateFields(s),
    steps_per_s: finite(s.stepsPerSecond),
    time_s: finite(s.trainingSeconds),
    update_s: finite(s.updateSeconds),
    time: time.toISOString(),
  };
}

/** The history line of one update on live experience. */
export function updateHistoryRecord(stats: Partial<UpdateStats>, p: UpdateProgress, time = new Date()): HistoryRecord {
  const returns = p.episodeReturns;
  const summary = returns.length ? { mean: returns.reduce((s, r) => s + r, 0) / returns.length, min: Math.min(...returns), max: Math.max(...returns) } : null;
  return {
    iteration: p.iteration,
    env_steps: p.envSteps,
    episodes: returns.length,
    ...returnFields(summary),
    ...updateFields(stats),
    steps_per_s: p.batchSeconds > 0 ? p.batchSteps / p.batchSeconds : null,
    time_s: finite(p.runSeconds),
    update_s: finite(p.updateSeconds),
    time: time.toISOString(),
  };
}

/** The records as JSONL text (one line each, newline-terminated). */
export function formatHistory(records: readonly HistoryRecord[]): string {
  return records.map((r) => JSON.stringify(r) + '\n').join('');
}

export class HistoryError extends Error {
  override name = 'HistoryError';
  constructor(
    readonly file: string,
    readonly line: number | null,
    problem: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${problem}`);
  }
}

const NUMBER_OR_NULL: (keyof HistoryRecord)[] = [
  'episodic_return_mean', 'episodic_return_min', 'episodic_return_max', 'step_reward_mean', 'policy_loss', 'value_loss', 'entropy',
  'approx_kl', 'clip_fraction', 'explained_variance', 'learning_rate', 'kl_coef', 'steps_per_s', 'time_s', 'update_s',
];

/** Why a parsed line is not a history record, or null when it is one. */
function problemOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object (one update per line)';
  const r = value as Record<string, unknown>;
  if (!Number.isInteger(r.iteration) || (r.iteration as number) < 1) return `iteration must be a positive integer, got ${JSON.stringify(r.iteration)}`;
  if (typeof r.env_steps !== 'number' || !(r.env_steps >= 0)) return `env_steps must be a number >= 0, got ${JSON.stringify(r.env_steps)}`;
  for (const key of NUMBER_OR_NULL) {
    const v = r[key];
    if (v !== undefined && v !== null && typeof v !== 'number') return `${key} must be a number or null, got ${JSON.stringify(v)}`;
  }
  return null;
}

/**
 * Reads a run's history: `dir` is a checkpoint folder (or the history.jsonl file itself). A
 * malformed line is an error naming the file, the line and what is wrong, except a torn last line
 * (no newline after it: a write cut short), which is ignored.
 */
export function readHistory(dir: string): HistoryRecord[] {
  const file = path.basename(dir) === HISTORY_FILE ? path.resolve(dir) : path.resolve(dir, HISTORY_FILE);
  if (!fs.existsSync(file)) throw new HistoryError(file, null, 'missing (checkpoints written before training histories were recorded have none)');
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const records: HistoryRecord[] = [];
  lines.forEach((line, k) => {
    if (line.trim() === '') return;
    const torn = k === lines.length - 1; // the text does not end with a newline after this line
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      if (torn) return;
      throw new HistoryError(file, k + 1, `not valid JSON (${(err as Error).message})`);
    }
    const problem = problemOf(value);
    if (problem !== null) {
      if (torn) return;
      throw new HistoryError(file, k + 1, problem);
    }
    records.push(value as HistoryRecord);
  });
  return records;
}

/**
 * A run's history so far when it continues from `checkpoint` (a resumed fine-tuning run, a
 * restarted policy server): that checkpoint's lines, or none when it has no history.jsonl.
 */
export function historyToContinue(checkpoint: string | null): HistoryRecord[] {
  if (checkpoint === null || !fs.existsSync(path.join(checkpoint, HISTORY_FILE))) return [];
  return readHistory(checkpoint);
}
