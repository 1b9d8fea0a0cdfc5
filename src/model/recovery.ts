/**
 * What "the loop closes" means in numbers: how close a model calibrated on points collected from
 * the simulator (which runs a known model) must come to that model, as relative errors.
 *
 * Each tolerance is on a quantity the collected points identify. The capacity of each measured
 * configuration is observed directly. The heap penalty and its scale are not separately
 * identified by a few heap levels under measurement noise: over 100..900 MB the true factor
 * (penalty 0.30, scale 843 MB) is almost a straight line, and a 3-5% scatter of capacities lets
 * the fit slide along the ridge of (penalty, scale, c0) that draws the same line. What the points
 * do fix is the heap factor's shape over the measured heaps (its value at the smallest measured
 * heap over its value at the largest) and c0 times the factor at the largest measured heap (a
 * core's capacity there); c0, the penalty and the scale are reported without a tolerance.
 */
import type { ScalingConfig } from '../space';
import type { ModelParameters } from './parameters';
import { heapFactor, podCapacity } from './steady-state';

/** A fitted parameter, or a quantity derived from several over the measured heaps. */
export type RecoveredQuantity = keyof ModelParameters | 'capacityPerCoreAtLargestHeap' | 'heapFactorRatio';

/** Relative error allowed per recovered quantity; reasons above and in docs/model.md. */
export const RECOVERY_TOLERANCE: Readonly<Partial<Record<RecoveredQuantity, number>>> = {
  capacityPerCoreAtLargestHeap: 0.1,
  cpuExponent: 0.1,
  heapFactorRatio: 0.1,
  cpuBusyExponent: 0.15,
  // Or three of the fit's own standard errors when wider (STANDARD_ERRORS_ALLOWED).
  outPacketsPerRequest: 0.1,
  inPacketsPerRequest: 0.1,
};

/**
 * A quantity the fit estimates with a standard error is allowed this many of them when that is
 * wider than its tolerance. The simulator's packets carry the recorded rows' residuals: a pod's
 * packet rate over its configuration's mean has SD 0.9 in the dataset (0.06 to 16 times), and a
 * pod reports a new row every 10 s, so a 10 s point holds one or two draws: over 18 points the
 * standard error measured 5-10% of the estimate, and the estimate fell within 1.8 of them.
 */
export const STANDARD_ERRORS_ALLOWED = 3;

/** Reported beside the others, with no tolerance: not separately identified (see above). */
export const REPORTED_ONLY: readonly RecoveredQuantity[] = ['capacityPerCore', 'heapPenalty', 'heapScaleMB'];

/** Relative error allowed in the capacity per pod of the measured configurations. */
export const CAPACITY_TOLERANCE = { median: 0.05, max: 0.1 } as const;

/** The quantity's value for parameters `p`, given the heaps measured. */
export function recoveredValue(p: ModelParameters, name: RecoveredQuantity, heaps: { min: number; max: number }): number {
  if (name === 'capacityPerCoreAtLargestHeap') return p.capacityPerCore * heapFactor(p, heaps.max);
  if (name === 'heapFactorRatio') return heapFactor(p, heaps.min) / heapFactor(p, heaps.max);
  return p[name];
}

export interface CapacityRecovery {
  config: ScalingConfig;
  fitted: number;
  truth: number;
  error: number;
}

export interface ParameterRecovery {
  name: RecoveredQuantity;
  truth: number;
  fitted: number;
  error: number;
  /** Undefined for a quantity reported without a tolerance. */
  tolerance: number | undefined;
  /** The fit's standard error, relative to the fitted value, when it has one. */
  standardError?: number;
  within: boolean | undefined;
}

export interface Recovery {
  /** Capacity per pod of each measured configuration (distinct, in first-measured order). */
  capacity: CapacityRecovery[];
  capacityErrorMedian: number;
  capacityErrorMax: number;
  parameters: ParameterRecovery[];
  /** Checks within tolerance, of all (each parameter, the capacity median and maximum). */
  within: number;
  checks: number;
}

const relativeError = (fitted: number, truth: number) => Math.abs(fitted - truth) / Math.abs(truth);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * How well `fitted` recovers `truth` on the measured configurations and per parameter;
 * `standardErrors` (the fit's, absolute) widen a tolerance to STANDARD_ERRORS_ALLOWED of them.
 */
export function recovery(truth: ModelParameters, fitted: ModelParameters, measured: readonly ScalingConfig[], standardErrors: Partial<Record<keyof ModelParameters, number>> = {}): Recovery {
  const configs = [...new Map(measured.map((c) => [`${c.replicas}/${c.cpuMillis}/${c.heapMB}`, c])).values()];
  const capacity = configs.map((config) => {
    const [f, t] = [podCapacity(fitted, config), podCapacity(truth, config)];
    return { config, fitted: f, truth: t, error: relativeError(f, t) };
  });
  const heaps = { min: Math.min(...configs.map((c) => c.heapMB)), max: Math.max(...configs.map((c) => c.heapMB)) };
  const names = [...(Object.keys(RECOVERY_TOLERANCE) as RecoveredQuantity[]), ...REPORTED_ONLY];
  const parameters = names.map((name) => {
    const [t, f] = [recoveredValue(truth, name, heaps), recoveredValue(fitted, name, heaps)];
    const error = relativeError(f, t);
    const se = name in standardErrors ? standardErrors[name as keyof ModelParameters]! / Math.abs(f) : undefined;
    const stated = RECOVERY_TOLERANCE[name];
    const tolerance = stated !== undefined && se !== undefined && Number.isFinite(se) ? Math.max(stated, STANDARD_ERRORS_ALLOWED * se) : stated;
    return { name, truth: t, fitted: f, error, tolerance, ...(se !== undefined && { standardError: se }), within: tolerance === undefined ? undefined : error <= tolerance };
  });
  const capacityErrorMedian = median(capacity.map((c) => c.error));
  const capacityErrorMax = Math.max(...capacity.map((c) => c.error));
  const passed = [...parameters.filter((p) => p.within !== undefined).map((p) => p.within === true), capacityErrorMedian <= CAPACITY_TOLERANCE.median, capacityErrorMax <= CAPACITY_TOLERANCE.max];
  return { capacity, capacityErrorMedian, capacityErrorMax, parameters, within: passed.filter(Boolean).length, checks: passed.length };
}

/** The recovered-parameter and capacity tables as text. */
export function formatRecovery(r: Recovery): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const lines = ['configuration     capacity per pod: fitted   true   error'];
  for (const c of r.capacity) lines.push(`${`${c.config.replicas}x ${c.config.cpuMillis}m ${c.config.heapMB} MB`.padEnd(18)}${c.fitted.toFixed(2).padStart(24)}  ${c.truth.toFixed(2).padStart(6)}  ${pct(c.error).padStart(6)}`);
  lines.push(`capacity error median ${pct(r.capacityErrorMedian)} (tolerance ${pct(CAPACITY_TOLERANCE.median)}), max ${pct(r.capacityErrorMax)} (tolerance ${pct(CAPACITY_TOLERANCE.max)})`, '');
  lines.push('quantity                          true     fitted    error  tolerance');
  for (const p of r.parameters) {
    const verdict = p.tolerance === undefined ? `${'-'.padStart(9)}  reported` : `${pct(p.tolerance).padStart(9)}  ${p.within ? 'ok' : 'OVER'}`;
    const se = p.standardError === undefined ? '' : `  (standard error ${pct(p.standardError)})`;
    lines.push(`${p.name.padEnd(29)}${p.truth.toPrecision(4).padStart(9)}  ${p.fitted.toPrecision(4).padStart(9)}  ${pct(p.error).padStart(7)}  ${verdict}${se}`);
  }
  lines.push(`${r.within}/${r.checks} within tolerance`);
  return lines.join('\n');
}
