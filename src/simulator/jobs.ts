/** batch/v1 Jobs: the defaults and the checks of a real API server (no pods are run for them). */
import { JOB_SCHEMA } from './field-schema';
import { invalid, type KubeObject } from './status';
import type { ResourceType } from './store';

type Cause = { field: string; message: string };

const MAX_INDEXED_COMPLETIONS = 100_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function nonNegativeInt(spec: KubeObject, key: string, causes: Cause[]): void {
  const v = spec[key];
  if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 0)) causes.push({ field: `spec.${key}`, message: `Invalid value: ${JSON.stringify(v)}: must be greater than or equal to 0` });
}

function checkContainers(podSpec: KubeObject | undefined, causes: Cause[]): void {
  const containers = podSpec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({ field: 'spec.template.spec.containers', message: 'Required value' });
    return;
  }
  const seen = new Set<string>();
  containers.forEach((c: KubeObject, i: number) => {
    const at = `spec.template.spec.containers[${i}]`;
    if (typeof c?.name !== 'string' || !DNS_LABEL.test(c.name)) causes.push({ field: `${at}.name`, message: c?.name ? `Invalid value: ${JSON.stringify(c.name)}: a lowercase RFC 1123 label is required` : 'Required value' });
    else if (seen.has(c.name)) causes.push({ field: `${at}.name`, message: `Duplicate value: ${JSON.stringify(c.name)}` });
    else seen.add(c.name);
    if (typeof c?.image !== 'string' || c.image.trim() === '') causes.push({ field: `${at}.image`, message: 'Required value' });
    for (const key of ['command', 'args'] as const) {
      if (c?.[key] !== undefined && (!Array.isArray(c[key]) || c[key].some((a: unknown) => typeof a !== 'string'))) causes.push({ field: `${at}.${key}`, message: 'Invalid value: must be a list of strings' });
    }
  });
}

export function prepareJob(object: KubeObject, old: KubeObject | undefined): void {
  const name = object.metadata?.name ?? '';
  const causes: Cause[] = [];
  // The name becomes the value of the pods' job-name label: at most 63 characters.
  if (name.length > 63) causes.push({ field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: must be no more than 63 characters` });
  const spec = (object.spec ??= {});
  object.status ??= {};
  spec.completionMode ??= 'NonIndexed';
  if (!['NonIndexed', 'Indexed'].includes(spec.completionMode)) causes.push({ field: 'spec.completionMode', message: `Unsupported value: ${JSON.stringify(spec.completionMode)}: supported values: "NonIndexed", "Indexed"` });
  if (spec.completionMode === 'NonIndexed' && spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  spec.suspend ??= false;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  for (const key of ['parallelism', 'completions', 'backoffLimit', 'backoffLimitPerIndex', 'maxFailedIndexes', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished']) nonNegativeInt(spec, key, causes);
  if (spec.completionMode === 'Indexed') {
    if (spec.completions === undefined || spec.completions === null) causes.push({ field: 'spec.completions', message: 'Required value: when completion mode is Indexed' });
    else if (spec.completions > MAX_INDEXED_COMPLETIONS) causes.push({ field: 'spec.completions', message: `Invalid value: ${spec.completions}: must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed` });
  }
  if (spec.backoffLimitPerIndex !== undefined && spec.completionMode !== 'Indexed') causes.push({ field: 'spec.backoffLimitPerIndex', message: 'Invalid value: requires indexed completion mode' });
  if (spec.maxFailedIndexes !== undefined && spec.backoffLimitPerIndex === undefined) causes.push({ field: 'spec.maxFailedIndexes', message: 'Required value: when maxFailedIndexes is specified, backoffLimitPerIndex must be specified' });
  const template = spec.template;
  if (!template || typeof template !== 'object') causes.push({ field: 'spec.template', message: 'Required value' });
  else {
    const restartPolicy = template.spec?.restartPolicy;
    if (!['OnFailure', 'Never'].includes(restartPolicy)) {
      causes.push({ field: 'spec.template.spec.restartPolicy', message: restartPolicy === undefined ? 'Required value: valid values: "OnFailure", "Never"' : `Unsupported value: ${JSON.stringify(restartPolicy)}: supported values: "OnFailure", "Never"` });
    } else if (spec.backoffLimitPerIndex !== undefined && restartPolicy !== 'Never') {
      causes.push({ field: 'spec.template.spec.restartPolicy', message: `Invalid value: ${JSON.stringify(restartPolicy)}: must be "Never" when backoffLimitPerIndex is set` });
    }
    checkContainers(template.spec, causes);
  }
  if (old) {
    if (JSON.stringify(old.spec?.template) !== JSON.stringify(spec.template)) causes.push({ field: 'spec.template', message: 'Invalid value: field is immutable' });
    if (old.spec?.completionMode !== spec.completionMode) causes.push({ field: 'spec.completionMode', message: 'Invalid value: field is immutable' });
  }
  if (causes.length > 0) throw invalid('Job', name, causes);
}

export const JOBS: ResourceType = {
  group: 'batch',
  version: 'v1',
  resource: 'jobs',
  kind: 'Job',
  namespaced: true,
  singular: 'job',
  status: true,
  strategicMerge: true,
  prepare: prepareJob,
  schema: JOB_SCHEMA,
};
