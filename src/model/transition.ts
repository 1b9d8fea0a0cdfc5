/**
 * The cost of a change of configuration, as Kubernetes makes it: a change of CPU limit or heap
 * is a new pod template, so a rolling update replaces every pod; a change of replicas alone
 * starts or stops the difference. A started pod is ready after podStartSec and runs below full
 * capacity for warmUpSec. A stopped pod loses its in-flight requests (mean queue length by
 * Little's law at the offered rate).
 */
import type { ModelParameters } from './parameters';
import { podSteadyState } from './steady-state';
import type { ModelConfig, TransitionCost } from './types';

export function transitionCost(p: ModelParameters, from: ModelConfig, to: ModelConfig, offeredRps: number): TransitionCost {
  const newTemplate = from.cpuMillis !== to.cpuMillis || from.heapMB !== to.heapMB;
  const podsStarted = newTemplate ? to.replicas : Math.max(0, to.replicas - from.replicas);
  const podsStopped = newTemplate ? from.replicas : Math.max(0, from.replicas - to.replicas);
  let inFlightPerPod = 0;
  if (podsStopped > 0 && offeredRps > 0) {
    const state = podSteadyState(p, from, offeredRps);
    let mean = 0;
    for (let n = 1; n < state.distribution.length; n++) mean += n * state.distribution[n];
    inFlightPerPod = mean;
  }
  return {
    startDelaySec: podsStarted > 0 ? p.podStartSec : 0,
    warmUpSec: podsStarted > 0 ? p.warmUpSec : 0,
    podsStarted,
    podsStopped,
    requestsLost: inFlightPerPod * podsStopped,
  };
}
