/**
 * The original project's load shape (app2scale server_client v2..v4 clients): 113 daily user
 * counts (3..21) cut from a transactions series, one value per RL step, each user sending the
 * 8-request browse iteration once a second. data/load/README.md gives the provenance.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LoadProfile, ProfileError, checkPositive, formatDuration } from './profile';
import { Interpolation, piecewiseProfile } from './profile-piecewise';

export const APP2SCALE_DAILY_USERS_PATH = path.resolve(__dirname, '..', '..', 'data', 'load', 'app2scale-daily-users.csv');
export const APP2SCALE_HEADER = 'day,date,users';
/** Requests per user per second in the original: one 8-request iteration at constant_throughput(1). */
export const APP2SCALE_REQUESTS_PER_USER = 8;
/**
 * Seconds each daily value holds by default. The original advanced once per RL step (2 to 10
 * minutes there); one minute is this project's choice, and every caller can change it.
 */
export const APP2SCALE_DEFAULT_STEP_SECONDS = 60;

export interface DailyUsers {
  /** Index of the day in the source series (0 = 2015-10-01). */
  day: number;
  date: string;
  users: number;
}

/** Parses the shipped file strictly: its header, then `day,date,users` rows. */
export function parseApp2scaleDailyUsers(text: string, file = '<memory>'): DailyUsers[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new ProfileError(`${file}: the file is empty (expected the header ${APP2SCALE_HEADER})`, file, 1, '');
  if (lines[0].trim() !== APP2SCALE_HEADER) {
    throw new ProfileError(`${file}:1: unexpected header ${JSON.stringify(lines[0])}; expected ${JSON.stringify(APP2SCALE_HEADER)}`, file, 1, lines[0]);
  }
  const rows: DailyUsers[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = i + 1;
    const fields = lines[i].split(',').map((f) => f.trim());
    const bad = (value: string, why: string) => new ProfileError(`${file}:${line}: ${why}`, file, line, value);
    if (fields.length !== 3) throw bad(lines[i], `expected 3 fields (day,date,users), found ${fields.length}`);
    const [dayText, date, usersText] = fields;
    if (!/^\d+$/.test(dayText)) throw bad(dayText, `day ${JSON.stringify(dayText)} is not a non-negative integer`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw bad(date, `date ${JSON.stringify(date)} is not YYYY-MM-DD`);
    if (!/^\d+$/.test(usersText) || Number(usersText) < 1) throw bad(usersText, `users ${JSON.stringify(usersText)} is not a positive integer`);
    const day = Number(dayText);
    if (rows.length > 0 && day <= rows[rows.length - 1].day) throw bad(dayText, `day ${day} does not come after day ${rows[rows.length - 1].day}`);
    rows.push({ day, date, users: Number(usersText) });
  }
  if (rows.length === 0) throw new ProfileError(`${file}: the file has a header but no rows`, file, 2, '');
  return rows;
}

export function loadApp2scaleDailyUsers(file = APP2SCALE_DAILY_USERS_PATH): DailyUsers[] {
  return parseApp2scaleDailyUsers(readFileSync(file, 'utf8'), file);
}

export interface App2scaleProfileOptions {
  /** Seconds each daily value holds (default APP2SCALE_DEFAULT_STEP_SECONDS). */
  stepSeconds?: number;
  /** Requests/s per user (default 8). */
  requestsPerUser?: number;
  /** step (default): as the original, which set the user count once per step; or linear. */
  interpolation?: Interpolation;
  file?: string;
}

/** The original's 113-value shape as requests/s: users x 8, each value held for one step. */
export function app2scaleDailyProfile(options: App2scaleProfileOptions = {}): LoadProfile {
  const step = checkPositive(options.stepSeconds ?? APP2SCALE_DEFAULT_STEP_SECONDS, 'app2scale: step');
  const perUser = checkPositive(options.requestsPerUser ?? APP2SCALE_REQUESTS_PER_USER, 'app2scale: requests per user');
  const interpolation = options.interpolation ?? 'step';
  const days = loadApp2scaleDailyUsers(options.file);
  return piecewiseProfile({
    name: `app2scale:${formatDuration(step)}`,
    description: `app2scale daily users (${days.length} values) x ${perUser} requests/s, ${formatDuration(step)} per value, ${interpolation} interpolation`,
    times: days.map((_, i) => i * step),
    rates: days.map((d) => d.users * perUser),
    interpolation,
    // Every value gets its full step, the last one included.
    durationSeconds: days.length * step,
  });
}
