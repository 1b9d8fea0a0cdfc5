/**
 * Known fields of the kinds the simulator validates strictly, for `fieldValidation=Strict` (and
 * `Warn`): the fields a real API server decodes. A schema lists an object's fields; `'open'` is a
 * value whose inside is not checked here (a map, or a nested type the simulator does not model).
 */
export type FieldSchema = 'open' | { fields: Record<string, FieldSchema> } | { items: FieldSchema };

const open = 'open' as const;
const obj = (fields: Record<string, FieldSchema>): FieldSchema => ({ fields });
const list = (items: FieldSchema): FieldSchema => ({ items });
const names = (...keys: string[]): Record<string, FieldSchema> => Object.fromEntries(keys.map((k) => [k, open]));

const OBJECT_META = obj(names('name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields', 'selfLink'));

const ENV_VAR = obj(names('name', 'value', 'valueFrom'));
const VOLUME_MOUNT = obj(names('name', 'mountPath', 'subPath', 'subPathExpr', 'readOnly', 'recursiveReadOnly', 'mountPropagation'));
const RESOURCES = obj(names('limits', 'requests', 'claims'));

const CONTAINER = obj({
  ...names('name', 'image', 'command', 'args', 'workingDir', 'ports', 'envFrom', 'resizePolicy', 'restartPolicy', 'volumeDevices', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'),
  ...names('terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty'),
  env: list(ENV_VAR),
  resources: RESOURCES,
  volumeMounts: list(VOLUME_MOUNT),
});

const POD_SPEC = obj({
  ...names('restartPolicy', 'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'dnsPolicy', 'nodeSelector', 'serviceAccountName', 'serviceAccount', 'automountServiceAccountToken'),
  ...names('nodeName', 'hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace', 'securityContext', 'imagePullSecrets', 'hostname', 'subdomain', 'affinity', 'schedulerName'),
  ...names('tolerations', 'hostAliases', 'priorityClassName', 'priority', 'dnsConfig', 'readinessGates', 'runtimeClassName', 'enableServiceLinks', 'preemptionPolicy', 'overhead'),
  ...names('topologySpreadConstraints', 'setHostnameAsFQDN', 'os', 'hostUsers', 'schedulingGates', 'resourceClaims', 'resources', 'ephemeralContainers'),
  containers: list(CONTAINER),
  initContainers: list(CONTAINER),
  volumes: list(obj({ name: open, ...names('hostPath', 'emptyDir', 'secret', 'configMap', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'nfs', 'csi', 'ephemeral', 'image') })),
});

const POD_TEMPLATE_SPEC = obj({ metadata: OBJECT_META, spec: POD_SPEC });

const JOB_SPEC = obj({
  ...names('parallelism', 'completions', 'activeDeadlineSeconds', 'podFailurePolicy', 'successPolicy', 'backoffLimit', 'backoffLimitPerIndex', 'maxFailedIndexes'),
  ...names('selector', 'manualSelector', 'ttlSecondsAfterFinished', 'completionMode', 'suspend', 'podReplacementPolicy', 'managedBy'),
  template: POD_TEMPLATE_SPEC,
});

export const JOB_SCHEMA = obj({ apiVersion: open, kind: open, metadata: OBJECT_META, spec: JOB_SPEC, status: open });

/** The paths of fields `schema` does not know, e.g. `spec.template.spec.containers[0].imag`. */
export function unknownFields(value: unknown, schema: FieldSchema, at = ''): string[] {
  if (schema === 'open' || value === null || typeof value !== 'object') return [];
  if ('items' in schema) return Array.isArray(value) ? value.flatMap((item, i) => unknownFields(item, schema.items, `${at}[${i}]`)) : [];
  if (Array.isArray(value)) return [];
  const found: string[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = at ? `${at}.${key}` : key;
    const childSchema = schema.fields[key];
    if (childSchema === undefined) found.push(path);
    else found.push(...unknownFields(child, childSchema, path));
  }
  return found;
}
