/**
 * Minimal OpenAPI v3 documents, one per group/version, so that kubectl's client-side validation
 * finds every served kind. The schemas are permissive (unknown fields preserved): the simulator
 * checks what it cares about itself and returns 422 Invalid like a real server.
 */
import type { KubeObject } from './status';
import type { ObjectStore, ResourceType } from './store';

const pathOf = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

function schemaName(t: ResourceType): string {
  if (!t.group) return `io.k8s.api.core.${t.version}.${t.kind}`;
  if (!t.group.includes('.')) return `io.k8s.api.${t.group}.${t.version}.${t.kind}`;
  return `${t.group.split('.').reverse().join('.')}.${t.version}.${t.kind}`;
}

export function openApiRoot(store: ObjectStore): KubeObject {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const t of store.resourceTypes()) {
    const p = pathOf(t.group, t.version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${store.resourceTypes().length}` };
  }
  return { paths };
}

export function openApiDocument(store: ObjectStore, groupVersionPath: string): KubeObject | undefined {
  const types = store.resourceTypes().filter((t) => pathOf(t.group, t.version) === groupVersionPath);
  if (types.length === 0) return undefined;
  const schemas: Record<string, KubeObject> = {};
  const paths: Record<string, KubeObject> = {};
  for (const t of types) {
    // kubectl looks for the fieldValidation parameter on the kind's operations to pick server-side validation.
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const operation = (action: string) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string' } }], responses: { '200': { description: 'OK' } } });
    const collection = `/${groupVersionPath}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}`;
    paths[collection] = { post: operation('post') };
    paths[`${collection}/{name}`] = { put: operation('put'), patch: operation('patch') };
    schemas[schemaName(t)] = {
      type: 'object',
      'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }],
      'x-kubernetes-preserve-unknown-fields': true,
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes (TeaStore simulator)', version: 'v1.32.0' }, paths, components: { schemas } };
}
