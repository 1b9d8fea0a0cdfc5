/**
 * Observation schema v2: the classic observation (space.ts) plus the load.
 *
 * The agent sees the arrival rate of the window that just ended and of the one before it, so it
 * can tell a rising load from a falling one (the original's `instant_tps` and `previous_tps`,
 * reference 10.1). Rates enter the network divided by `rateScale`, which the schema records, so a
 * checkpoint and the environment it acts in agree on the encoding.
 */
import { OBSERVATION_SIZE, SPACE_SCHEMA, encodeIndex, encodeObservation, type Observation } from './space';

export interface LoadObservation extends Observation {
  /** Mean arrival rate of the window that just ended, requests/s. */
  arrivalRate: number;
  /** Mean arrival rate of the window before it, requests/s. */
  previousArrivalRate: number;
  /**
   * Optional forecast: the arrival rates of the next windows, requests/s, the first being the
   * window the next step runs in. Absent (or empty) when the environment gives none.
   */
  forecast?: readonly number[];
}

/** Requests/s that encode as 1.0 in the network input. */
export const RATE_SCALE = 100;
export const LOAD_OBSERVATION_SIZE = OBSERVATION_SIZE + 2;
/** The longest forecast an observation may hold, windows. */
export const MAX_FORECAST_STEPS = 16;

/** Floats of a load observation with a forecast of `forecastSteps` windows (0: none). */
export function loadObservationSize(forecastSteps = 0): number {
  checkForecastSteps(forecastSteps);
  return LOAD_OBSERVATION_SIZE + forecastSteps;
}

/** The forecast length a network input of `size` floats holds (its size less the load observation's). */
export function forecastStepsOfSize(size: number): number {
  const steps = size - LOAD_OBSERVATION_SIZE;
  if (!Number.isInteger(steps) || steps < 0 || steps > MAX_FORECAST_STEPS) {
    throw new Error(`a load observation has ${LOAD_OBSERVATION_SIZE} to ${LOAD_OBSERVATION_SIZE + MAX_FORECAST_STEPS} floats (with a forecast of 0..${MAX_FORECAST_STEPS} windows), got ${size}`);
  }
  return steps;
}

export function checkForecastSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 0 || steps > MAX_FORECAST_STEPS) throw new Error(`forecastSteps must be an integer within 0..${MAX_FORECAST_STEPS}, got ${steps}`);
}

/** The classic 29 floats, arrivalRate / RATE_SCALE, previousArrivalRate / RATE_SCALE, then each forecast rate / RATE_SCALE. */
export function encodeLoadObservation(obs: LoadObservation, out: Float32Array = new Float32Array(loadObservationSize(obs.forecast?.length ?? 0)), offset = 0): Float32Array {
  encodeObservation(obs, out, offset);
  out[offset + OBSERVATION_SIZE] = obs.arrivalRate / RATE_SCALE;
  out[offset + OBSERVATION_SIZE + 1] = obs.previousArrivalRate / RATE_SCALE;
  const forecast = obs.forecast ?? [];
  for (let k = 0; k < forecast.length; k++) out[offset + LOAD_OBSERVATION_SIZE + k] = forecast[k] / RATE_SCALE;
  return out;
}

/** Encodes from a configuration index, usages and rates (the vectorised environment's hot path). */
export function encodeLoadIndex(index: number, usedCpu: number, usedRam: number, rate: number, previousRate: number, out: Float32Array, offset: number): void {
  encodeIndex(index, usedCpu, usedRam, out, offset);
  out[offset + OBSERVATION_SIZE] = rate / RATE_SCALE;
  out[offset + OBSERVATION_SIZE + 1] = previousRate / RATE_SCALE;
}

/** The schema a load-aware checkpoint records: version 2, the classic one with two rate fields. */
export const LOAD_SPACE_SCHEMA = {
  version: 2,
  observation: {
    fields: [...SPACE_SCHEMA.observation.fields, 'arrivalRate', 'previousArrivalRate'],
    encoding: `${SPACE_SCHEMA.observation.encoding} + arrivalRate/${RATE_SCALE} + previousArrivalRate/${RATE_SCALE} (req/s of the last and the previous window)`,
    size: LOAD_OBSERVATION_SIZE,
    grid: SPACE_SCHEMA.observation.grid,
    rateScale: RATE_SCALE,
  },
  action: SPACE_SCHEMA.action,
} as const;

/** Which observation an environment produces: the classic one or the one with load. */
export type ObservationKind = 'classic' | 'load';

/** The load schema with a forecast of `forecastSteps` windows after the two rates (version 2, sized and named for it). */
export interface ForecastLoadSchema {
  version: typeof LOAD_SPACE_SCHEMA.version;
  observation: {
    fields: string[];
    encoding: string;
    size: number;
    grid: typeof LOAD_SPACE_SCHEMA.observation.grid;
    rateScale: number;
    forecastSteps: number;
  };
  action: typeof LOAD_SPACE_SCHEMA.action;
}

export type AnySpaceSchema = typeof SPACE_SCHEMA | typeof LOAD_SPACE_SCHEMA | ForecastLoadSchema;

/** The schema of an observation kind; a load observation with a forecast names and counts its windows. */
export function schemaOf(kind: ObservationKind, forecastSteps = 0): AnySpaceSchema {
  if (kind !== 'load') return SPACE_SCHEMA;
  if (forecastSteps === 0) return LOAD_SPACE_SCHEMA;
  checkForecastSteps(forecastSteps);
  const o = LOAD_SPACE_SCHEMA.observation;
  return {
    version: LOAD_SPACE_SCHEMA.version,
    observation: {
      fields: [...o.fields, ...Array.from({ length: forecastSteps }, (_, k) => `forecast${k + 1}`)],
      encoding: `${o.encoding} + forecast1..${forecastSteps}/${RATE_SCALE} (req/s of the next windows)`,
      size: loadObservationSize(forecastSteps),
      grid: o.grid,
      rateScale: RATE_SCALE,
      forecastSteps,
    },
    action: LOAD_SPACE_SCHEMA.action,
  };
}

/** The forecast windows a recorded schema names (0 when it names none). */
export function forecastStepsOfSchema(schema: unknown): number {
  const steps = (schema as { observation?: { forecastSteps?: unknown } } | undefined)?.observation?.forecastSteps;
  return typeof steps === 'number' ? steps : 0;
}

/** The kind of observation a recorded schema describes (version 1 classic, 2 load), or null. */
export function observationKindOfSchema(schema: { version?: unknown } | undefined): ObservationKind | null {
  if (schema?.version === SPACE_SCHEMA.version) return 'classic';
  if (schema?.version === LOAD_SPACE_SCHEMA.version) return 'load';
  return null;
}
