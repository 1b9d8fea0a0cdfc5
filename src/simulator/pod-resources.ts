/** The CPU limit and heap a simulated pod runs with, read from its main container by meaning. */
import { FieldError, parseCpuMillis, parseHeapMB } from '../kube-fields';
import { actualCpuLimit } from './pod-resize';
import type { KubeObject } from './status';

/** The container the heap env var names (else the first one). */
export function mainContainer(pod: KubeObject, heapEnvVar: string): KubeObject {
  const containers: KubeObject[] = pod.spec?.containers ?? [];
  return containers.find((c) => (c.env ?? []).some((e: KubeObject) => e.name === heapEnvVar)) ?? containers[0] ?? { name: 'main' };
}

/**
 * CPU limit (millicores) and heap (MB) of the pod's main container; a missing or unreadable
 * setting counts as the grid's maximum (900), as the simulator's metrics read it.
 */
export function podResources(pod: KubeObject, heapEnvVar: string): { cpuMillis: number; heapMB: number } {
  const container = mainContainer(pod, heapEnvVar);
  let cpuMillis = 900;
  let heapMB = 900;
  try {
    // What the container runs with: after an in-place resize, the status's limit once in force.
    const limit = actualCpuLimit(pod, container.name);
    if (limit !== undefined) cpuMillis = parseCpuMillis(limit);
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
  }
  const heapValue = (container.env ?? []).find((e: KubeObject) => e.name === heapEnvVar)?.value;
  try {
    if (heapValue !== undefined) heapMB = parseHeapMB(heapValue);
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
  }
  return { cpuMillis, heapMB };
}
