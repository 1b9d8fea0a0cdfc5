/**
 * The command line's profile syntax.
 *
 *   spec     = part ("+" part)*                      parts play one after another
 *   part     = kind (":" field)*
 *   field    = positional | key "=" value
 *   duration = number ["ms" | "s" | "m" | "h" | "d"]  a bare number is seconds
 *
 *   constant:RATE
 *   ramp:FROM:TO:DURATION
 *   steps:TIME=RATE,TIME=RATE,...                    TIME a duration, the first 0
 *   sine:MEAN:AMPLITUDE:PERIOD[:phase=DURATION]
 *   walk:START:STEP:seed=N[:min=RATE][:max=RATE][:every=DURATION]
 *   file:PATH[:format=http-load-generator|time-rate][:interp=step|linear]
 *   app2scale[:STEP][:per-user=N][:interp=step|linear]
 *
 * Options every kind takes, applied in this order: stretch=FACTOR (time), for=DURATION (cut or
 * set the length), x=FACTOR (multiply the rate), peak=RATE (scale the rate to this peak).
 * Rates are requests/s. A "+" starts a new part only before a kind name and a colon, so numbers
 * like 1e+3 and most paths are safe.
 */
import * as path from 'node:path';
import { LoadProfile, ProfileError } from './profile';
import { Interpolation, INTERPOLATIONS } from './profile-piecewise';
import { constantProfile, rampProfile, randomWalkProfile, sineProfile, stepsProfile } from './profile-shapes';
import { concatProfiles, scaleProfile, scaleToPeak, stretchProfile, withDuration } from './profile-transform';
import { LoadProfileFileOptions, PROFILE_CSV_FORMATS, ProfileCsvFormat, loadProfileFile } from './profile-csv';
import { app2scaleDailyProfile } from './profile-app2scale';

export const PROFILE_KINDS = ['constant', 'ramp', 'steps', 'sine', 'walk', 'file', 'app2scale'] as const;
type Kind = (typeof PROFILE_KINDS)[number];

const COMMON_OPTIONS = ['stretch', 'for', 'x', 'peak'];
const KIND_OPTIONS: Record<Kind, string[]> = {
  constant: [],
  ramp: [],
  steps: [],
  sine: ['phase'],
  walk: ['seed', 'min', 'max', 'every'],
  file: ['format', 'interp'],
  app2scale: ['per-user', 'interp'],
};
/** Positional fields each kind takes: [required, at most]. */
const POSITIONALS: Record<Kind, [number, number, string]> = {
  constant: [1, 1, 'constant:RATE'],
  ramp: [3, 3, 'ramp:FROM:TO:DURATION'],
  steps: [1, 1, 'steps:TIME=RATE,TIME=RATE,...'],
  sine: [3, 3, 'sine:MEAN:AMPLITUDE:PERIOD'],
  walk: [2, 2, 'walk:START:STEP:seed=N'],
  file: [1, Infinity, 'file:PATH'],
  app2scale: [0, 1, 'app2scale[:STEP]'],
};

const NUMBER_PATTERN = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DURATION_PATTERN = /^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(ms|s|m|h|d)?$/;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const OPTION_PATTERN = /^([a-z][a-z-]*)=(.*)$/;
const PART_START = new RegExp(`\\+(?=(?:${PROFILE_KINDS.join('|')})(?::|$))`);

/** Seconds from "30s", "5m", "1.5h", "1d", "250ms" or a bare number of seconds; NaN if malformed. */
export function parseDurationSeconds(text: string): number {
  const m = DURATION_PATTERN.exec(text.trim());
  if (m === null) return Number.NaN;
  return Number(m[1]) * UNIT_SECONDS[m[2] ?? 's'];
}

export interface ParseProfileSpecOptions {
  /** Relative file paths are resolved against this folder (default: the working directory). */
  baseDir?: string;
}

/** Parses a profile spec (grammar above) into a profile; a ProfileError names the spec and the bad part. */
export function parseProfileSpec(text: string, options: ParseProfileSpecOptions = {}): LoadProfile {
  const spec = text.trim();
  if (spec === '') throw new ProfileError(`profile spec is empty; expected e.g. constant:100 (kinds: ${PROFILE_KINDS.join(', ')})`, text, undefined, '');
  const parts = spec.split(PART_START);
  const profiles = parts.map((part) => parsePart(spec, part, options));
  const unbounded = profiles.slice(0, -1).find((p) => !Number.isFinite(p.durationSeconds));
  if (unbounded !== undefined) {
    throw new ProfileError(
      `profile spec ${JSON.stringify(spec)}: ${JSON.stringify(unbounded.name)}: is unbounded, so nothing after it would ever play; give it a duration (for=...)`,
      spec, undefined, unbounded.name,
    );
  }
  return concatProfiles(profiles);
}

function parsePart(spec: string, part: string, options: ParseProfileSpecOptions): LoadProfile {
  const bad = (value: string, why: string) => new ProfileError(`profile spec ${JSON.stringify(spec)}: ${JSON.stringify(value)}: ${why}`, spec, undefined, value);
  const fields = part.split(':');
  const kind = fields[0].trim();
  if (!(PROFILE_KINDS as readonly string[]).includes(kind)) {
    throw bad(kind, `unknown profile kind; expected one of ${PROFILE_KINDS.join(', ')}`);
  }
  const k = kind as Kind;
  const allowed = [...KIND_OPTIONS[k], ...COMMON_OPTIONS];

  // Options are the trailing key=value fields (for file: only known keys, so a path may hold '=').
  const rest = fields.slice(1);
  const opts = new Map<string, string>();
  let end = rest.length;
  while (end > (k === 'steps' ? 1 : 0)) {
    const m = OPTION_PATTERN.exec(rest[end - 1].trim());
    if (m === null || (k === 'file' && !allowed.includes(m[1]))) break;
    if (!allowed.includes(m[1])) throw bad(rest[end - 1], `unknown option ${m[1]} for ${k}; expected one of ${allowed.join(', ')}`);
    if (opts.has(m[1])) throw bad(rest[end - 1], `option ${m[1]} is given twice`);
    opts.set(m[1], m[2]);
    end--;
  }
  let positional = rest.slice(0, end);
  if (k === 'file') positional = positional.length > 0 ? [positional.join(':')] : [];
  const [required, most, usage] = POSITIONALS[k];
  if (positional.length < required || positional.length > most) {
    throw bad(part, `expected ${usage}, got ${positional.length} positional field${positional.length === 1 ? '' : 's'}`);
  }
  for (const field of positional) if (OPTION_PATTERN.test(field.trim()) && k !== 'steps') throw bad(field, `options come after the positional fields (${usage})`);

  const rate = (token: string, what: string): number => {
    const t = token.trim();
    if (!NUMBER_PATTERN.test(t)) throw bad(token, `${what} is not a number`);
    const v = Number(t);
    if (!Number.isFinite(v)) throw bad(token, `${what} is not finite`);
    if (v < 0) throw bad(token, `${what} is negative`);
    return v;
  };
  const positive = (token: string, what: string): number => {
    const v = rate(token, what);
    if (v === 0) throw bad(token, `${what} must be positive`);
    return v;
  };
  const duration = (token: string, what: string): number => {
    const v = parseDurationSeconds(token);
    if (Number.isNaN(v)) throw bad(token, `${what} is not a duration (e.g. 30s, 5m, 1h, or seconds)`);
    if (!Number.isFinite(v) || v < 0) throw bad(token, `${what} must be finite and >= 0`);
    return v;
  };
  const positiveDuration = (token: string, what: string): number => {
    const v = duration(token, what);
    if (v === 0) throw bad(token, `${what} must be positive`);
    return v;
  };
  const interpolation = (): Interpolation | undefined => {
    const v = opts.get('interp');
    if (v === undefined) return undefined;
    if (!(INTERPOLATIONS as readonly string[]).includes(v)) throw bad(`interp=${v}`, `expected interp=${INTERPOLATIONS.join(' or interp=')}`);
    return v as Interpolation;
  };

  // Errors the shape constructors raise (e.g. amplitude above the mean) get the spec attached.
  let profile: LoadProfile;
  try {
    profile = build();
  } catch (err) {
    if (err instanceof ProfileError && err.source === undefined) throw bad(part, err.message);
    throw err;
  }

  function build(): LoadProfile {
    const p = positional;
    switch (k) {
      case 'constant':
        return constantProfile(rate(p[0], 'rate'));
      case 'ramp':
        return rampProfile(rate(p[0], 'from rate'), rate(p[1], 'to rate'), positiveDuration(p[2], 'ramp duration'));
      case 'steps': {
        const steps = p[0].split(',').map((pair) => {
          const [at, value, extra] = pair.split('=');
          if (value === undefined || extra !== undefined) throw bad(pair, 'a step is TIME=RATE');
          return { atSeconds: duration(at, 'step time'), rate: rate(value, 'step rate') };
        });
        if (steps[0].atSeconds !== 0) throw bad(p[0].split(',')[0], 'the first step must be at time 0');
        for (let i = 1; i < steps.length; i++) {
          if (steps[i].atSeconds === steps[i - 1].atSeconds) throw bad(p[0].split(',')[i], 'duplicate step time');
          if (steps[i].atSeconds < steps[i - 1].atSeconds) throw bad(p[0].split(',')[i], 'step times must increase');
        }
        return stepsProfile(steps);
      }
      case 'sine': {
        const phase = opts.get('phase');
        return sineProfile({
          mean: rate(p[0], 'mean'),
          amplitude: rate(p[1], 'amplitude'),
          periodSeconds: positiveDuration(p[2], 'period'),
          phaseSeconds: phase === undefined ? 0 : duration(phase, 'phase'),
        });
      }
      case 'walk': {
        const seed = opts.get('seed');
        if (seed === undefined) throw bad(part, 'a random walk needs seed=N so it can be replayed');
        if (!/^\d+$/.test(seed)) throw bad(`seed=${seed}`, 'seed must be a non-negative integer');
        const min = opts.get('min');
        const max = opts.get('max');
        const every = opts.get('every');
        return randomWalkProfile({
          start: rate(p[0], 'start rate'),
          stepSize: rate(p[1], 'step size'),
          seed: Number(seed),
          min: min === undefined ? undefined : rate(min, 'min'),
          max: max === undefined ? undefined : rate(max, 'max'),
          intervalSeconds: every === undefined ? undefined : positiveDuration(every, 'every'),
        });
      }
      case 'file': {
        const format = opts.get('format');
        if (format !== undefined && !(PROFILE_CSV_FORMATS as readonly string[]).includes(format)) {
          throw bad(`format=${format}`, `expected format=${PROFILE_CSV_FORMATS.join(' or format=')}`);
        }
        const fileOptions: LoadProfileFileOptions = { format: format as ProfileCsvFormat | undefined, interpolation: interpolation() };
        // File errors already name the file, line and value; they pass through unchanged.
        return loadProfileFile(path.resolve(options.baseDir ?? process.cwd(), p[0]), fileOptions);
      }
      case 'app2scale': {
        const perUser = opts.get('per-user');
        return app2scaleDailyProfile({
          stepSeconds: p.length > 0 ? positiveDuration(p[0], 'step') : undefined,
          requestsPerUser: perUser === undefined ? undefined : positive(perUser, 'per-user'),
          interpolation: interpolation(),
        });
      }
    }
  }

  const stretch = opts.get('stretch');
  if (stretch !== undefined) profile = stretchProfile(profile, positive(stretch, 'stretch'));
  const forText = opts.get('for');
  if (forText !== undefined) profile = withDuration(profile, positiveDuration(forText, 'for'));
  const factor = opts.get('x');
  if (factor !== undefined) profile = scaleProfile(profile, rate(factor, 'x'));
  const peak = opts.get('peak');
  if (peak !== undefined) {
    try {
      profile = scaleToPeak(profile, rate(peak, 'peak'));
    } catch (err) {
      if (err instanceof ProfileError && err.source === undefined) throw bad(`peak=${peak}`, err.message);
      throw err;
    }
  }
  // The part as typed names the profile better than the shape's own summary of it.
  return { ...profile, name: part.trim() };
}
