/**
 * Which Deployment and container hold the three knobs, and the parsing and formatting of the fields
 * they live in: the container's CPU limit (a Kubernetes quantity) and the JVM heap inside an env
 * var (`-Xmx<N><unit>`).
 *
 * Kept apart from src/kube.ts so that the cluster simulator can read the same fields without loading
 * the Kubernetes client library.
 */

/** The Deployment and container an autoscaler acts on, and where the heap setting lives. */
export interface DeploymentTarget {
  namespace: string;
  deployment: string;
  container: string;
  /** Env var whose value carries `-Xmx<N>M`. */
  heapEnvVar: string;
}

export const DEFAULT_TARGET: Readonly<DeploymentTarget> = {
  namespace: 'app2scale',
  deployment: 'teastore-webui',
  container: 'teastore-webui',
  heapEnvVar: 'CATALINA_OPTS',
};

/**
 * Deployment annotation holding the CPU limit applied in place to the running pods, when it
 * differs from the pod template's (the template is left alone so that nothing rolls).
 */
export const CPU_LIMIT_ANNOTATION = 'autoscaling.app2scale.dev/cpu-limit';

export class FieldError extends Error {
  override name = 'FieldError';
}

const CPU_QUANTITY = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(m|)$/;

/** Millicores of a CPU quantity: `500m` -> 500, `0.5` -> 500, `1` -> 1000, `1.25` -> 1250. */
export function parseCpuMillis(quantity: string | number): number {
  const text = String(quantity).trim();
  const match = CPU_QUANTITY.exec(text);
  if (!match) {
    throw new FieldError(`CPU quantity ${JSON.stringify(quantity)} is not understood (expected forms like "500m", "0.5" or "1")`);
  }
  const value = Number(match[1]);
  const millis = match[2] === 'm' ? value : value * 1000;
  // Kubernetes rounds CPU up to whole millicores.
  return Math.ceil(Math.round(millis * 1e6) / 1e6);
}

/** The canonical quantity string for millicores, as Kubernetes prints it (`500m`, `1`). */
export function formatCpuMillis(millis: number): string {
  if (!Number.isInteger(millis) || millis <= 0) throw new FieldError(`CPU millicores must be a positive integer, got ${millis}`);
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

const XMX = /-Xmx([0-9]+)([mMgGkK]?)(?=\s|$)/g;

/**
 * Heap in MB from a JVM options string. The JVM honours the last -Xmx, so that one counts.
 * Accepted units: k/K, m/M, g/G (g = 1024 MB); a bare number is bytes.
 */
export function parseHeapMB(options: string, what = 'JVM options'): number {
  const matches = [...options.matchAll(XMX)];
  if (matches.length === 0) throw new FieldError(`${what} ${JSON.stringify(options)} has no -Xmx<N>[m|M|g|G] setting`);
  const last = matches[matches.length - 1];
  const n = Number(last[1]);
  switch (last[2]) {
    case 'g':
    case 'G':
      return n * 1024;
    case 'm':
    case 'M':
      return n;
    case 'k':
    case 'K':
      return n / 1024;
    default:
      return n / (1024 * 1024);
  }
}

/** The options string with its (last) -Xmx replaced by `-Xmx<heapMB>M`, everything else kept. */
export function withHeapMB(options: string, heapMB: number): string {
  if (!Number.isInteger(heapMB) || heapMB <= 0) throw new FieldError(`heap MB must be a positive integer, got ${heapMB}`);
  const setting = `-Xmx${heapMB}M`;
  const matches = [...options.matchAll(XMX)];
  if (matches.length === 0) return options.trim() === '' ? setting : `${options.trim()} ${setting}`;
  const last = matches[matches.length - 1];
  const start = last.index ?? 0;
  return options.slice(0, start) + setting + options.slice(start + last[0].length);
}

/** Minimal shapes of the parts of a pod template the knobs live in. */
export interface EnvVarLike {
  name: string;
  value?: string;
}
export interface ContainerLike {
  name: string;
  env?: EnvVarLike[];
  resources?: { limits?: Record<string, string | number> };
}

/** The container named `name`, or a clear error listing the ones that exist. */
export function findContainer<C extends ContainerLike>(containers: C[] | undefined, name: string, where: string): C {
  const found = (containers ?? []).find((c) => c.name === name);
  if (!found) {
    const names = (containers ?? []).map((c) => c.name);
    throw new FieldError(`${where}: no container named ${JSON.stringify(name)} (containers: ${JSON.stringify(names)})`);
  }
  return found;
}

/** CPU limit (millicores) and heap (MB) of a container, found by container and env var name. */
export function readContainerKnobs(container: ContainerLike, heapEnvVar: string, where: string): { cpuMillis: number; heapMB: number } {
  const limit = container.resources?.limits?.cpu;
  if (limit === undefined) throw new FieldError(`${where}: container ${JSON.stringify(container.name)} has no CPU limit (resources.limits.cpu)`);
  const env = (container.env ?? []).find((e) => e.name === heapEnvVar);
  if (!env) throw new FieldError(`${where}: container ${JSON.stringify(container.name)} has no env var ${JSON.stringify(heapEnvVar)}`);
  if (env.value === undefined) throw new FieldError(`${where}: env var ${JSON.stringify(heapEnvVar)} has no literal value (valueFrom is not supported)`);
  try {
    return { cpuMillis: parseCpuMillis(limit), heapMB: parseHeapMB(env.value, `env var ${heapEnvVar}`) };
  } catch (err) {
    throw new FieldError(`${where}: ${(err as Error).message}`);
  }
}
