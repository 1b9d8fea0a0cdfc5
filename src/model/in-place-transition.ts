/**
 * Transition costs when the cluster resizes CPU in place (Kubernetes 1.33+, update policy
 * InPlacePreferred): a change of the CPU limit alone keeps every pod, costs a few seconds of
 * resize and loses nothing; a change of the heap still replaces every pod (the JVM reads -Xmx at
 * start), and a change of replicas starts or stops the difference, as before.
 *
 * A wrapper around any PerformanceModel, so the offline load environment can train the same way
 * with and without in-place resizing (the ablation) and learn that CPU is cheap to move and the
 * heap is not.
 */
import type { ModelConfig, PerformanceModel, TransitionCost } from './types';

export interface InPlaceCostOptions {
  /** Seconds from the resize until the new limit is in force (default 1; the pods keep serving meanwhile). */
  resizeSec?: number;
}

export interface InPlaceTransitionCost extends TransitionCost {
  /** True when the CPU change is made in place (no pod restarted for it). */
  inPlace: boolean;
  /** Seconds the in-place resize takes (0 when none); requests are served throughout. */
  resizeSec: number;
}

export const DEFAULT_RESIZE_SEC = 1;

/** A PerformanceModel whose transitions say whether the CPU moved in place. */
export interface InPlaceModel extends Omit<PerformanceModel, 'transition'> {
  transition(from: ModelConfig, to: ModelConfig, offeredRps?: number): InPlaceTransitionCost;
}

/** The same model, with the transition cost of a cluster that resizes CPU in place. */
export function withInPlaceResize(model: PerformanceModel, options: InPlaceCostOptions = {}): InPlaceModel {
  const resizeSec = options.resizeSec ?? DEFAULT_RESIZE_SEC;
  if (!(resizeSec >= 0) || !Number.isFinite(resizeSec)) throw new Error(`resizeSec must be a finite number of seconds >= 0, got ${resizeSec}`);
  return {
    describe: () => ({ ...model.describe(), inPlaceResize: 'cpu', resizeSec }),
    predict: (config, offeredRps) => model.predict(config, offeredRps),
    capacity: (config) => model.capacity(config),
    sampleMeasurement: (config, offeredRps, rng) => model.sampleMeasurement(config, offeredRps, rng),
    serviceTimeMs: (config) => model.serviceTimeMs(config),
    queueRoom: (config) => model.queueRoom(config),
    transition(from, to, offeredRps) {
      const cpuOnly = from.cpuMillis !== to.cpuMillis && from.heapMB === to.heapMB;
      if (!cpuOnly) return { ...model.transition(from, to, offeredRps), inPlace: false, resizeSec: 0 };
      // The running pods are resized; only a change of replicas starts or stops pods (with the new limit).
      const scaled = model.transition({ ...from, cpuMillis: to.cpuMillis }, to, offeredRps);
      return { ...scaled, inPlace: true, resizeSec };
    },
  };
}
