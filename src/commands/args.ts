/** Thin wrapper over node:util parseArgs that turns its errors into usage errors. */
import { parseArgs } from 'node:util';
import { loadTeastoreData, type TeastoreTable } from '../data';
import { parseStart, type Start } from '../env/start';
import { REWARD_NAMES, type RewardName } from '../reward';
import { UsageError, type OptionTable } from './types';

/** Parses `args` against a command's option table (its help lines are ignored here). */
export function parseOptions<T extends OptionTable>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Parses an integer option, naming it in the error. */
export function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses `--start` (row:N, random-row or config:R,CPU,HEAP) as a usage error when malformed. */
export function startOption(text: string): Start {
  try {
    return parseStart(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Checks `--reward` against the built-in reward names. */
export function rewardOption(text: string | undefined): RewardName {
  if (!REWARD_NAMES.includes(text as RewardName)) throw new UsageError(`--reward must be one of ${REWARD_NAMES.join(', ')}`);
  return text as RewardName;
}

/** The dataset named by `--data` (and `--data-rate` for a v2 file), or the bundled one. */
export function datasetOption(opts: { data?: string; 'data-rate'?: string }): TeastoreTable {
  let offeredRps: number | undefined;
  if (opts['data-rate'] !== undefined) {
    if (opts.data === undefined) throw new UsageError('--data-rate goes with --data FILE');
    offeredRps = Number(opts['data-rate']);
    if (!Number.isFinite(offeredRps) || offeredRps <= 0) throw new UsageError(`--data-rate must be a positive request rate, got ${JSON.stringify(opts['data-rate'])}`);
  }
  return loadTeastoreData(opts.data, { offeredRps });
}
