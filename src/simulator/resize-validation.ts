/**
 * The API server's checks on a write to `pods/NAME/resize`: only the CPU and memory of the
 * containers may change, quantities must parse, a request may not exceed its limit, and the
 * pod's QoS class may not change. Messages follow the real server's.
 */
import { FieldError, parseCpuMillis } from '../kube-fields';
import { ApiError, invalid, type KubeObject } from './status';

const MUTABLE = new Set(['cpu', 'memory']);

/** JSON with sorted keys: a client may send the same object with its fields in another order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** CPU of one container in millicores; an unset request defaults to the limit, as the API server defaults it. */
export interface ContainerCpu {
  requestMillis: number | null;
  limitMillis: number | null;
}

function millisOf(value: unknown, field: string, pod: string): number | null {
  if (value === undefined || value === null) return null;
  try {
    const millis = parseCpuMillis(value as string);
    if (millis <= 0) throw new FieldError(`must be greater than zero`);
    return millis;
  } catch (err) {
    if (err instanceof FieldError) throw invalid('Pod', pod, [{ field, message: `Invalid value: ${JSON.stringify(value)}: ${err.message}` }]);
    throw err;
  }
}

/** The CPU a container asks for, with the request defaulted to the limit when unset. */
export function containerCpu(container: KubeObject, field = 'spec.containers[]', pod = ''): ContainerCpu {
  const limitMillis = millisOf(container.resources?.limits?.cpu, `${field}.resources.limits[cpu]`, pod);
  const explicitRequest = millisOf(container.resources?.requests?.cpu, `${field}.resources.requests[cpu]`, pod);
  return { requestMillis: explicitRequest ?? limitMillis, limitMillis };
}

function withoutMutableResources(container: KubeObject): KubeObject {
  const strip = (map: Record<string, unknown> | undefined) => Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => !MUTABLE.has(k)));
  const { resources, resizePolicy: _ignored, ...rest } = container;
  return { ...rest, resources: { ...(resources ?? {}), limits: strip(resources?.limits), requests: strip(resources?.requests) } };
}

const qosOf = (containers: KubeObject[]) => {
  const any = containers.some((c) => Object.keys(c.resources?.limits ?? {}).length > 0 || Object.keys(c.resources?.requests ?? {}).length > 0);
  return any ? 'Burstable-or-Guaranteed' : 'BestEffort';
};

/** Throws ApiError 422 unless `next` differs from `current` only in what a resize may change. */
export function validateResize(current: KubeObject, next: KubeObject): void {
  const name = String(current.metadata?.name ?? '');
  if (current.metadata?.deletionTimestamp) throw new ApiError(409, `Operation cannot be fulfilled on pods "${name}": the pod is terminating`, 'Conflict');
  const before: KubeObject[] = current.spec?.containers ?? [];
  const after: KubeObject[] = next.spec?.containers ?? [];
  const sameNames = before.length === after.length && before.every((c, i) => c.name === after[i]?.name);
  const otherSpec = (spec: KubeObject | undefined) => canonical({ ...(spec ?? {}), containers: undefined });
  const unchanged =
    sameNames &&
    otherSpec(current.spec) === otherSpec(next.spec) &&
    before.every((c, i) => canonical(withoutMutableResources(c)) === canonical(withoutMutableResources(after[i])));
  if (!unchanged) throw invalid('Pod', name, [{ field: 'spec', message: 'Forbidden: only cpu and memory resources are mutable' }]);
  if (canonical(current.metadata?.labels ?? {}) !== canonical(next.metadata?.labels ?? {}) || canonical(current.metadata?.annotations ?? {}) !== canonical(next.metadata?.annotations ?? {})) {
    throw invalid('Pod', name, [{ field: 'metadata', message: 'Forbidden: the resize subresource changes only the containers\' resources' }]);
  }
  after.forEach((c, i) => {
    const field = `spec.containers[${i}]`;
    const cpu = containerCpu(c, field, name);
    if (cpu.limitMillis !== null && cpu.requestMillis !== null && cpu.requestMillis > cpu.limitMillis) {
      throw invalid('Pod', name, [{ field: `${field}.resources.requests`, message: `Invalid value: "${c.resources.requests.cpu}": must be less than or equal to cpu limit of ${c.resources.limits.cpu}` }]);
    }
  });
  if (qosOf(before) !== qosOf(after)) throw invalid('Pod', name, [{ field: 'spec', message: 'Forbidden: Pod QOS Class may not change as a result of resizing' }]);
}
