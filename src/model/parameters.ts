/**
 * Every number the model uses, in one typed record with its unit. `calibrate` (calibration.ts)
 * fits the ones marked "fitted" to a dataset; the others are stated assumptions a user may change
 * (pass overrides to `loadPerformanceModel` or `createPerformanceModel`).
 */
export interface ModelParameters {
  /** Fitted: req/s a pod serves per (core)^cpuExponent with an ample heap (c0). */
  capacityPerCore: number;
  /** Fitted: capacity grows as (CPU limit in cores)^cpuExponent (a). */
  cpuExponent: number;
  /** Fitted: fraction of capacity lost at a 100 MB heap (garbage collection pressure). */
  heapPenalty: number;
  /** Fitted: MB over 100 MB over which the heap penalty decays by e. */
  heapScaleMB: number;
  /** Fitted: CPU used = idle + (limit - idle) * busy^cpuBusyExponent (1 is the plain utilisation law). */
  cpuBusyExponent: number;
  /** Fitted: transmitted packets per served request. */
  outPacketsPerRequest: number;
  /** Fitted: received packets per served request. */
  inPacketsPerRequest: number;
  /** Fitted: memory per pod = memoryBaseGiB + heapInUse * (memoryHeapIdle + memoryHeapBusy * busy). */
  memoryBaseGiB: number;
  memoryHeapIdle: number;
  memoryHeapBusy: number;
  /** Fitted: heap above this many MB adds no memory (the JVM does not grow into it at this load). */
  memoryHeapCapMB: number;
  /** Assumed: CPU of an idle pod, cores. */
  idleCpuCores: number;
  /** Assumed: a request not answered within this many seconds is a failure (client time-out). */
  timeoutSec: number;
  /** Assumed: seconds from creating a pod to its readiness (image present, Tomcat start). */
  podStartSec: number;
  /** Assumed: seconds after readiness during which the JVM runs below full capacity (JIT warm-up). */
  warmUpSec: number;
  /** Assumed: capacity fraction of a pod that just became ready, rising linearly to 1 over warmUpSec. */
  warmUpCapacity: number;
}

/** The stated assumptions; the fitted fields get starting values the calibration improves on. */
export const DEFAULT_PARAMETERS: Readonly<ModelParameters> = {
  capacityPerCore: 100,
  cpuExponent: 2.5,
  heapPenalty: 0.7,
  heapScaleMB: 70,
  cpuBusyExponent: 0.5,
  outPacketsPerRequest: 50,
  inPacketsPerRequest: 40,
  memoryBaseGiB: 0.3,
  memoryHeapIdle: 0.3,
  memoryHeapBusy: 0.5,
  memoryHeapCapMB: 500,
  idleCpuCores: 0.002,
  timeoutSec: 10,
  podStartSec: 20,
  warmUpSec: 60,
  warmUpCapacity: 0.5,
};

/** Names the fields that must be finite and positive, for a clear error on bad overrides. */
export function checkParameters(p: ModelParameters): ModelParameters {
  for (const [name, value] of Object.entries(p)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RangeError(`model parameter ${name}=${String(value)} is not a finite number >= 0`);
  }
  if (p.capacityPerCore <= 0) throw new RangeError(`model parameter capacityPerCore=${p.capacityPerCore} must be > 0`);
  if (p.timeoutSec <= 0) throw new RangeError(`model parameter timeoutSec=${p.timeoutSec} must be > 0`);
  if (p.heapPenalty >= 1) throw new RangeError(`model parameter heapPenalty=${p.heapPenalty} must be < 1`);
  if (p.warmUpCapacity <= 0 || p.warmUpCapacity > 1) throw new RangeError(`model parameter warmUpCapacity=${p.warmUpCapacity} must be in (0, 1]`);
  return p;
}
