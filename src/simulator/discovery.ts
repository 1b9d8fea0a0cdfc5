/** API discovery documents (/api, /apis, /api/v1, /apis/<group>/<version>, /version). */
import type { KubeObject } from './status';
import { apiVersionOf, type ObjectStore, type ResourceType } from './store';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersions(): KubeObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] };
}

function groupsOf(store: ObjectStore): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const t of store.resourceTypes()) {
    if (!t.group) continue;
    const versions = groups.get(t.group) ?? [];
    if (!versions.includes(t.version)) versions.push(t.version);
    groups.set(t.group, versions);
  }
  return groups;
}

function groupDocument(name: string, versions: string[]): KubeObject {
  const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: list, preferredVersion: list[0] };
}

export function apiGroupList(store: ObjectStore): KubeObject {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groupsOf(store)].map(([name, versions]) => groupDocument(name, versions)) };
}

export function apiGroup(store: ObjectStore, group: string): KubeObject | undefined {
  const versions = groupsOf(store).get(group);
  return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(group, versions) } : undefined;
}

/** `extraSubresources`: further subresources served, as `resource/subresource` (e.g. `pods/resize`). */
export function apiResourceList(store: ObjectStore, group: string, version: string, extraSubresources: string[] = []): KubeObject | undefined {
  const types = store.resourceTypes().filter((t: ResourceType) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: KubeObject[] = [];
  for (const t of types) {
    resources.push({ name: t.resource, singularName: t.singular ?? t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: VERBS, ...(t.shortNames ? { shortNames: t.shortNames } : {}) });
    if (t.status) resources.push({ name: `${t.resource}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
    if (t.scale) resources.push({ name: `${t.resource}/scale`, singularName: '', namespaced: t.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    for (const extra of extraSubresources.filter((s) => s.startsWith(`${t.resource}/`))) {
      resources.push({ name: extra, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(types[0]), resources };
}

/** The default Kubernetes version the simulator reports (`minor` selects what it serves). */
export const DEFAULT_KUBERNETES_MINOR = 33;

export function versionInfo(minor: number = DEFAULT_KUBERNETES_MINOR): KubeObject {
  return {
    major: '1',
    minor: String(minor),
    gitVersion: `v1.${minor}.0-teastore-simulator`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.23',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}
