/**
 * What "the loop closes" means in numbers: how close a model calibrated on points collected from
 * the simulator (which runs a known model) must come to that model, as relative errors. The
 * capacity of each measured configuration is what the points observe directly; the parameters
 * behind it are looser where the plan's levels leave them weakly identified (the heap scale trades
 * off against the heap penalty over a 100..900 MB range). bench/collect-fit.ts reports against these.
 */
import type { ScalingConfig } from '../space';
import type { ModelParameters } from './parameters';
import { podCapacity } from './steady-state';

/** Relative error allowed per fitted parameter. */
export const RECOVERY_TOLERANCE: Readonly<Partial<Record<keyof ModelParameters, number>>> = {
  capacityPerCore: 0.15,
  cpuExponent: 0.1,
  heapPenalty: 0.3,
  heapScaleMB: 0.5,
  cpuBusyExponent: 0.15,
  outPacketsPerRequest: 0.05,
  inPacketsPerRequest: 0.05,
};

/** Relative error allowed in the capacity per pod of the measured configurations. */
export const CAPACITY_TOLERANCE = { median: 0.05, max: 0.1 } as const;

export interface CapacityRecovery {
  config: ScalingConfig;
  fitted: number;
  truth: number;
  error: number;
}

export interface ParameterRecovery {
  name: keyof ModelParameters;
  truth: number;
  fitted: number;
  error: number;
  tolerance: number;
  within: boolean;
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

/** How well `fitted` recovers `truth` on the measured configurations and per parameter. */
export function recovery(truth: ModelParameters, fitted: ModelParameters, measured: readonly ScalingConfig[]): Recovery {
  const configs = [...new Map(measured.map((c) => [`${c.replicas}/${c.cpuMillis}/${c.heapMB}`, c])).values()];
  const capacity = configs.map((config) => {
    const [f, t] = [podCapacity(fitted, config), podCapacity(truth, config)];
    return { config, fitted: f, truth: t, error: relativeError(f, t) };
  });
  const parameters = (Object.entries(RECOVERY_TOLERANCE) as [keyof ModelParameters, number][]).map(([name, tolerance]) => {
    const error = relativeError(fitted[name], truth[name]);
    return { name, truth: truth[name], fitted: fitted[name], error, tolerance, within: error <= tolerance };
  });
  const capacityErrorMedian = median(capacity.map((c) => c.error));
  const capacityErrorMax = Math.max(...capacity.map((c) => c.error));
  const passed = [...parameters.map((p) => p.within), capacityErrorMedian <= CAPACITY_TOLERANCE.median, capacityErrorMax <= CAPACITY_TOLERANCE.max];
  return { capacity, capacityErrorMedian, capacityErrorMax, parameters, within: passed.filter(Boolean).length, checks: passed.length };
}

/** The recovered-parameter and capacity tables as text. */
export function formatRecovery(r: Recovery): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const lines = ['configuration     capacity per pod: fitted   true   error'];
  for (const c of r.capacity) lines.push(`${`${c.config.replicas}x ${c.config.cpuMillis}m ${c.config.heapMB} MB`.padEnd(18)}${c.fitted.toFixed(2).padStart(24)}  ${c.truth.toFixed(2).padStart(6)}  ${pct(c.error).padStart(6)}`);
  lines.push(`capacity error median ${pct(r.capacityErrorMedian)} (tolerance ${pct(CAPACITY_TOLERANCE.median)}), max ${pct(r.capacityErrorMax)} (tolerance ${pct(CAPACITY_TOLERANCE.max)})`, '');
  lines.push('parameter                 true     fitted    error  tolerance');
  for (const p of r.parameters) lines.push(`${p.name.padEnd(21)}${p.truth.toPrecision(4).padStart(9)}  ${p.fitted.toPrecision(4).padStart(9)}  ${pct(p.error).padStart(6)}  ${pct(p.tolerance).padStart(9)}  ${p.within ? 'ok' : 'OVER'}`);
  lines.push(`${r.within}/${r.checks} within tolerance`);
  return lines.join('\n');
}
