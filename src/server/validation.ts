/**
 * Validation of every request body. Each parser takes the decoded JSON, checks every field
 * (type, finiteness, grid, range), rejects fields it does not know, and returns a typed value or
 * throws a 400 naming the field. Nothing unchecked reaches the policy or the experience log.
 */
import * as space from '../space';
import type { Observation } from '../space';
import { invalidField } from './errors';

// Module-local copies: run from TypeScript, every use of an imported binding is a getter call,
// and these are read for every request.
const { ACTION_COUNT, KNOB_UNIT, KNOBS, LEVELS } = space;

/** Plausible measured usage per pod; anything outside is a client bug, not a measurement. */
export const USAGE_LIMITS = { usedCpu: { min: 0, max: 64 }, usedRam: { min: 0, max: 256 } } as const;
/** Rewards beyond this are rejected: they would swamp the advantages of a whole batch. */
export const REWARD_LIMIT = 1e6;
/** `info` is stored with the experience; keep it small. */
export const INFO_MAX_BYTES = 8 * 1024;

const OBSERVATION_FIELDS = ['replicas', 'cpuMillis', 'heapMB', 'usedCpu', 'usedRam'] as const;

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? text.slice(0, 40) + '...' : text}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as an object with only `allowed` keys. */
export function objectWith(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidField(field, `must be a JSON object, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalidField(field === 'body' ? key : `${field}.${key}`, `unknown field (expected ${allowed.join(', ')})`);
  }
  return value;
}

export function finiteNumber(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidField(field, `must be a finite number, got ${describe(value)}`);
  if (value < min || value > max) throw invalidField(field, `must be in [${min}, ${max}], got ${value}`);
  return value;
}

export function booleanField(value: unknown, field: string, fallback?: boolean): boolean {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidField(field, `must be true or false, got ${describe(value)}`);
  return value;
}

export function parseObservation(value: unknown, field = 'observation'): Observation {
  const o = objectWith(value, field, OBSERVATION_FIELDS);
  const out = {} as Observation;
  for (const knob of KNOBS) {
    const v = o[knob];
    const unit = KNOB_UNIT[knob];
    const name = `${field}.${knob}`;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidField(name, `must be a finite number, got ${describe(v)}`);
    const level = v / unit;
    if (!Number.isInteger(level) || level < 1 || level > LEVELS) {
      throw invalidField(name, `${v} is not on the grid ${unit}..${unit * LEVELS} in steps of ${unit}`);
    }
    out[knob] = v;
  }
  out.usedCpu = finiteNumber(o.usedCpu, `${field}.usedCpu`, USAGE_LIMITS.usedCpu.min, USAGE_LIMITS.usedCpu.max);
  out.usedRam = finiteNumber(o.usedRam, `${field}.usedRam`, USAGE_LIMITS.usedRam.min, USAGE_LIMITS.usedRam.max);
  return out;
}

export function parseAction(value: unknown, field = 'action'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= ACTION_COUNT) {
    throw invalidField(field, `must be an integer action id 0..${ACTION_COUNT - 1}, got ${describe(value)}`);
  }
  return value;
}

export interface StartEpisodeRequest {
  trainingEnabled: boolean;
  /** Sample actions (true) or take the most likely one; defaults to trainingEnabled. */
  explore: boolean;
}

export function parseStartEpisode(body: unknown): StartEpisodeRequest {
  const o = objectWith(body ?? {}, 'body', ['training_enabled', 'explore']);
  const trainingEnabled = booleanField(o.training_enabled, 'training_enabled', true);
  return { trainingEnabled, explore: booleanField(o.explore, 'explore', trainingEnabled) };
}

export function parseActionRequest(body: unknown): { observation: Observation } {
  const o = objectWith(body, 'body', ['observation']);
  return { observation: parseObservation(o.observation) };
}

export function parseLogAction(body: unknown): { observation: Observation; action: number } {
  const o = objectWith(body, 'body', ['observation', 'action']);
  return { observation: parseObservation(o.observation), action: parseAction(o.action) };
}

export function parseReturns(body: unknown): { reward: number; info?: Record<string, unknown> } {
  const o = objectWith(body, 'body', ['reward', 'info']);
  const reward = finiteNumber(o.reward, 'reward', -REWARD_LIMIT, REWARD_LIMIT);
  if (o.info === undefined) return { reward };
  if (!isPlainObject(o.info)) throw invalidField('info', `must be a JSON object, got ${describe(o.info)}`);
  const size = Buffer.byteLength(JSON.stringify(o.info));
  if (size > INFO_MAX_BYTES) throw invalidField('info', `is ${size} bytes, more than ${INFO_MAX_BYTES}`);
  return { reward, info: o.info };
}

export function parseEnd(body: unknown): { observation: Observation; terminated: boolean } {
  const o = objectWith(body, 'body', ['observation', 'terminated']);
  // Ending an episode is a time limit (truncation) unless the client says the state is terminal.
  return { observation: parseObservation(o.observation), terminated: booleanField(o.terminated, 'terminated', false) };
}

const EPISODE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function parseEpisodeId(text: string): string {
  if (!EPISODE_ID.test(text)) throw invalidField('episode_id', `${JSON.stringify(text.slice(0, 60))} is not an episode id (a UUID)`);
  return text;
}
