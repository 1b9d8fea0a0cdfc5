/** The built-in resource types the simulator serves, with the defaults and checks of a real API server. */
import { invalid, type KubeObject } from './status';
import { labelSelectorText, parseLabelSelector } from './selectors';
import type { ObjectStore, ResourceType } from './store';
import { JOBS } from './jobs';

function prepareDeployment(object: KubeObject, old: KubeObject | undefined): void {
  const name = object.metadata?.name ?? '';
  const spec = (object.spec ??= {});
  spec.replicas ??= 1;
  spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  const causes: { field: string; message: string }[] = [];
  if (!Number.isInteger(spec.replicas) || spec.replicas < 0) causes.push({ field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(spec.replicas)}: must be a non-negative integer` });
  const selector = labelSelectorText(spec.selector);
  if (!selector) causes.push({ field: 'spec.selector', message: 'Required value' });
  const template = spec.template ?? {};
  if (selector && !parseLabelSelector(selector)(template)) {
    causes.push({ field: 'spec.template.metadata.labels', message: `Invalid value: ${JSON.stringify(template.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\`` });
  }
  const containers = template.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) causes.push({ field: 'spec.template.spec.containers', message: 'Required value' });
  else {
    const seen = new Set<string>();
    containers.forEach((c: KubeObject, i: number) => {
      if (typeof c.name !== 'string' || c.name === '') causes.push({ field: `spec.template.spec.containers[${i}].name`, message: 'Required value' });
      else if (seen.has(c.name)) causes.push({ field: `spec.template.spec.containers[${i}].name`, message: `Duplicate value: ${JSON.stringify(c.name)}` });
      seen.add(c.name);
      if (typeof c.image !== 'string' || c.image === '') causes.push({ field: `spec.template.spec.containers[${i}].image`, message: 'Required value' });
    });
  }
  if (old && JSON.stringify(old.spec?.selector) !== JSON.stringify(spec.selector)) {
    causes.push({ field: 'spec.selector', message: 'Invalid value: field is immutable' });
  }
  if (causes.length > 0) throw invalid('Deployment', name, causes);
}

function prepareNamespace(object: KubeObject): void {
  object.spec ??= { finalizers: ['kubernetes'] };
  object.status ??= { phase: 'Active' };
  object.metadata!.labels = { ...(object.metadata!.labels ?? {}), 'kubernetes.io/metadata.name': object.metadata!.name };
}

export const NAMESPACES: ResourceType = { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false, singular: 'namespace', shortNames: ['ns'], status: true, strategicMerge: true, prepare: prepareNamespace };
export const PODS: ResourceType = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true, singular: 'pod', shortNames: ['po'], status: true, strategicMerge: true };
export const EVENTS: ResourceType = { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true, singular: 'event', shortNames: ['ev'], strategicMerge: true };
export const DEPLOYMENTS: ResourceType = { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true, singular: 'deployment', shortNames: ['deploy'], status: true, scale: true, strategicMerge: true, prepare: prepareDeployment };
export const CRDS: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false, singular: 'customresourcedefinition', shortNames: ['crd', 'crds'], status: true, strategicMerge: true };

/** The operator's custom resource, served once registered (or once its CRD is created). */
export const RL_AUTOSCALERS: ResourceType = { group: 'autoscaling.app2scale.dev', version: 'v1alpha1', resource: 'rlautoscalers', kind: 'RLAutoscaler', namespaced: true, singular: 'rlautoscaler', shortNames: ['rlas'], status: true, strategicMerge: false };

/** Schema-less access-control kinds, so the operator's RBAC manifests apply (nothing is enforced). */
export const SERVICE_ACCOUNTS: ResourceType = { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, singular: 'serviceaccount', shortNames: ['sa'], strategicMerge: true };
export const CLUSTER_ROLES: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', kind: 'ClusterRole', namespaced: false, singular: 'clusterrole', strategicMerge: true };
export const CLUSTER_ROLE_BINDINGS: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false, singular: 'clusterrolebinding', strategicMerge: true };
export const ROLES: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', kind: 'Role', namespaced: true, singular: 'role', strategicMerge: true };
export const ROLE_BINDINGS: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', kind: 'RoleBinding', namespaced: true, singular: 'rolebinding', strategicMerge: true };

export function registerBuiltins(store: ObjectStore): void {
  for (const type of [NAMESPACES, PODS, EVENTS, DEPLOYMENTS, CRDS, SERVICE_ACCOUNTS, CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS, JOBS]) store.register(type);
  // Creating a CustomResourceDefinition serves its resource, as the real API server does.
  store.subscribe((event) => {
    if (event.resourceType !== CRDS || event.type !== 'ADDED') return;
    for (const type of resourceTypesOfCrd(event.object)) store.register(type);
  });
}

export function resourceTypesOfCrd(crd: KubeObject): ResourceType[] {
  const spec = crd.spec ?? {};
  return (spec.versions ?? [])
    .filter((v: KubeObject) => v.served !== false)
    .map((v: KubeObject) => ({
      group: spec.group,
      version: v.name,
      resource: spec.names?.plural,
      kind: spec.names?.kind,
      namespaced: spec.scope !== 'Cluster',
      singular: spec.names?.singular,
      shortNames: spec.names?.shortNames,
      status: v.subresources?.status !== undefined,
      strategicMerge: false,
    }));
}
