/**
 * The operator's calls on its own resource through the client library: read one, list all,
 * write status through the status subresource, and the watch path.
 */
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type RLAutoscalerObject, type RLAutoscalerStatus } from './resource';

/** A status code from the client library's errors, if it has one. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return err.code;
  const code = (err as { statusCode?: unknown; code?: unknown })?.statusCode ?? (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The server's message from an ApiException, else the error's own. */
export function apiErrorText(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    try {
      const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
      if (body && typeof body.message === 'string') return `${err.code} ${body.message}`;
    } catch {
      // not JSON
    }
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export interface ResourceList {
  items: RLAutoscalerObject[];
  resourceVersion: string;
}

export class AutoscalerApi {
  private readonly custom: k8s.CustomObjectsApi;

  /** `namespace` limits the operator to one namespace; undefined watches all. */
  constructor(
    readonly kubeConfig: k8s.KubeConfig,
    readonly namespace?: string,
  ) {
    this.custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  async list(): Promise<ResourceList> {
    const list = (this.namespace
      ? await this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL })
      : await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items?: RLAutoscalerObject[]; metadata?: { resourceVersion?: string } };
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /** The object, or undefined when it no longer exists. */
  async get(namespace: string, name: string): Promise<RLAutoscalerObject | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as RLAutoscalerObject;
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Replaces the status through the status subresource (a merge patch of `status` alone). */
  async writeStatus(namespace: string, name: string, status: RLAutoscalerStatus): Promise<RLAutoscalerObject> {
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as RLAutoscalerObject;
  }

  /** The URL path that the watch requests. */
  get watchPath(): string {
    return this.namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${this.namespace}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  }
}
