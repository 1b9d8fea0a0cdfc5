/**
 * Load profiles from CSV files, in two formats.
 *
 * http-load-generator: the arrival-rate file of TeaStore's HTTP Load Generator (as LIMBO exports
 * it). No header; one `timestamp,rate` line per scheduling interval (a trailing `;` is allowed).
 * The timestamp is the MIDDLE of its interval (0.5, 1.5, 2.5, ... for 1 s intervals); intervals
 * all have the same length and none is skipped, so the first timestamp is half the interval.
 * The rate is requests/s during that interval.
 *
 * time-rate: a header line `time_s,rate_per_s` or `time_s,rate_per_min` (the unit of the rate),
 * then one `time,rate` row per knot, the first at time 0. Each rate applies from its time on;
 * with step interpolation the last row holds for as long as the gap before it.
 */
import { readFileSync } from 'node:fs';
import { LoadProfile, ProfileError } from './profile';
import { Interpolation, piecewiseProfile } from './profile-piecewise';

export type ProfileCsvFormat = 'http-load-generator' | 'time-rate';
export const PROFILE_CSV_FORMATS: readonly ProfileCsvFormat[] = ['http-load-generator', 'time-rate'];

/** Header of a time-rate file -> how many requests/s one unit of its rate column is. */
export const TIME_RATE_HEADERS: Readonly<Record<string, number>> = {
  'time_s,rate_per_s': 1,
  'time_s,rate_per_min': 1 / 60,
};

const NUMBER_PATTERN = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

interface Row {
  line: number;
  fields: string[];
  text: string;
}

function fail(file: string, line: number, value: string, why: string): ProfileError {
  return new ProfileError(`${file}:${line}: ${why}`, file, line, value);
}

/** Non-blank lines with their 1-based line numbers, split at commas. */
function rowsOf(text: string): Row[] {
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '').trim();
    if (raw === '') continue;
    rows.push({ line: i + 1, text: raw, fields: raw.split(',').map((f) => f.trim()) });
  }
  return rows;
}

function parseField(token: string, what: string, file: string, line: number): number {
  if (!NUMBER_PATTERN.test(token)) throw fail(file, line, token, `${what} ${JSON.stringify(token)} is not a finite number`);
  const value = Number(token);
  if (!Number.isFinite(value)) throw fail(file, line, token, `${what} ${token} is not finite`);
  return value;
}

function parseRate(token: string, file: string, line: number): number {
  const value = parseField(token, 'rate', file, line);
  if (value < 0) throw fail(file, line, token, `rate ${token} is negative`);
  return value;
}

/** Times must strictly increase: names the duplicate or the step back. */
function checkIncreasing(previous: number, current: number, token: string, file: string, line: number): void {
  if (current === previous) throw fail(file, line, token, `duplicate time ${token} (the previous row has the same time)`);
  if (current < previous) throw fail(file, line, token, `time ${token} is before the previous row's ${previous}; rows must be sorted by time`);
}

function baseName(file: string): string {
  return file.replace(/^.*[\\/]/, '');
}

/** Parses an HTTP Load Generator arrival-rate file (see the module comment). */
export function parseHttpLoadGeneratorCsv(text: string, file = '<memory>', interpolation: Interpolation = 'step'): LoadProfile {
  const rows = rowsOf(text);
  if (rows.length === 0) throw new ProfileError(`${file}: the file is empty (expected timestamp,rate lines)`, file, 1, '');
  const stamps: number[] = [];
  const rates: number[] = [];
  for (const row of rows) {
    const fields = row.text.replace(/;$/, '').split(',').map((f) => f.trim());
    if (fields.length !== 2) throw fail(file, row.line, row.text, `expected 2 fields (timestamp,rate), found ${fields.length}: ${JSON.stringify(row.text)}`);
    if (!NUMBER_PATTERN.test(fields[0]) && stamps.length === 0) {
      throw fail(file, row.line, row.text, `${JSON.stringify(row.text)} is not a timestamp,rate line; HTTP Load Generator files have no header (use a time-rate file for a header)`);
    }
    const t = parseField(fields[0], 'timestamp', file, row.line);
    if (t <= 0) throw fail(file, row.line, fields[0], `timestamp ${fields[0]} must be positive (it is the middle of its interval)`);
    if (stamps.length > 0) checkIncreasing(stamps[stamps.length - 1], t, fields[0], file, row.line);
    stamps.push(t);
    rates.push(parseRate(fields[1], file, row.line));
  }
  // One interval length for all; a lone line is the middle of [0, 2t).
  const step = stamps.length > 1 ? stamps[1] - stamps[0] : 2 * stamps[0];
  const tolerance = 1e-6 * step;
  if (Math.abs(stamps[0] - step / 2) > tolerance) {
    throw fail(file, rows[0].line, String(stamps[0]), `first timestamp ${stamps[0]} is not the middle of the first ${step} s interval (expected ${step / 2})`);
  }
  for (let i = 1; i < stamps.length; i++) {
    if (Math.abs(stamps[i] - stamps[i - 1] - step) > tolerance) {
      throw fail(file, rows[i].line, String(stamps[i]), `timestamp ${stamps[i]} breaks the interval of ${step} s (previous ${stamps[i - 1]}); intervals must be equal and none skipped`);
    }
  }
  const durationSeconds = stamps[stamps.length - 1] + step / 2;
  return piecewiseProfile({
    name: `file:${baseName(file)}`,
    description: `HTTP Load Generator profile ${baseName(file)}: ${stamps.length} intervals of ${step} s, ${interpolation} interpolation`,
    // step: each rate holds over its whole interval; linear: straight lines between the middles.
    times: interpolation === 'step' ? stamps.map((t) => t - step / 2) : stamps,
    rates,
    interpolation,
    durationSeconds,
  });
}

/** Parses a time-rate file with its header (see the module comment). */
export function parseTimeRateCsv(text: string, file = '<memory>', interpolation: Interpolation = 'step'): LoadProfile {
  const rows = rowsOf(text);
  if (rows.length === 0) throw new ProfileError(`${file}: the file is empty (expected a header line)`, file, 1, '');
  const header = rows[0].fields.join(',');
  const perSecond = TIME_RATE_HEADERS[header];
  if (perSecond === undefined) {
    throw fail(file, rows[0].line, rows[0].text, `unexpected header ${JSON.stringify(rows[0].text)}; expected one of ${Object.keys(TIME_RATE_HEADERS).map((h) => JSON.stringify(h)).join(', ')}`);
  }
  const data = rows.slice(1);
  if (data.length < 2) {
    throw new ProfileError(`${file}: needs at least two data rows after the header, found ${data.length} (a single rate is constant:RATE)`, file, rows[0].line + 1, '');
  }
  const times: number[] = [];
  const rates: number[] = [];
  for (const row of data) {
    if (row.fields.length !== 2) throw fail(file, row.line, row.text, `expected 2 fields (time,rate), found ${row.fields.length}: ${JSON.stringify(row.text)}`);
    const t = parseField(row.fields[0], 'time', file, row.line);
    if (times.length === 0 && t !== 0) throw fail(file, row.line, row.fields[0], `the first time must be 0, not ${row.fields[0]}`);
    if (times.length > 0) checkIncreasing(times[times.length - 1], t, row.fields[0], file, row.line);
    times.push(t);
    rates.push(parseRate(row.fields[1], file, row.line) * perSecond);
  }
  const n = times.length;
  const durationSeconds = interpolation === 'step' ? times[n - 1] + (times[n - 1] - times[n - 2]) : times[n - 1];
  return piecewiseProfile({
    name: `file:${baseName(file)}`,
    description: `time-rate profile ${baseName(file)}: ${n} rows (${header.split(',')[1]}), ${interpolation} interpolation`,
    times,
    rates,
    interpolation,
    durationSeconds,
  });
}

/** A file's format from its first non-blank line: a number starts an HTTP Load Generator file. */
export function detectProfileCsvFormat(text: string): ProfileCsvFormat {
  const first = rowsOf(text)[0];
  return first !== undefined && /^[-+.\d]/.test(first.text) ? 'http-load-generator' : 'time-rate';
}

export interface LoadProfileFileOptions {
  /** Default: detected from the first line. */
  format?: ProfileCsvFormat;
  /** Default: step. */
  interpolation?: Interpolation;
}

/** Reads a profile CSV file in either format. */
export function loadProfileFile(file: string, options: LoadProfileFileOptions = {}): LoadProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProfileError(`${file}: cannot read the profile file (${(err as Error).message})`, file);
  }
  const format = options.format ?? detectProfileCsvFormat(text);
  const interpolation = options.interpolation ?? 'step';
  return format === 'http-load-generator' ? parseHttpLoadGeneratorCsv(text, file, interpolation) : parseTimeRateCsv(text, file, interpolation);
}
