/**
 * A sweep as a Kubernetes Indexed Job (batch/v1): one completion per point, each pod running
 * `rl-autoscaler sweep <the sweep's arguments> --index $(JOB_COMPLETION_INDEX)` (the image of
 * deploy/Dockerfile, whose entrypoint is the command), its checkpoint folder on a
 * PersistentVolumeClaim and its result as one JSON line on stdout (`kubectl logs`).
 */
import type { KubeObject } from '../simulator/status';

export interface IndexedJobOptions {
  name: string;
  namespace: string;
  image: string;
  /** The PersistentVolumeClaim the checkpoint folders go to (ReadWriteMany when parallelism > 1). */
  pvc: string;
  /** Where the claim is mounted in the pod; the sweep's folder is inside it. */
  mountPath: string;
  completions: number;
  parallelism: number;
  /** Retries of each index on its own, so one failing point does not use up the whole Job's budget. */
  backoffLimitPerIndex: number;
  /** The `sweep` arguments (with `--out` under mountPath); `--index $(JOB_COMPLETION_INDEX)` is appended. */
  sweepArgs: readonly string[];
  /** Labels set on the Job and its pods. */
  labels?: Record<string, string>;
}

/** The user deploy/Dockerfile runs as; the claim is made writable for it through fsGroup. */
const IMAGE_USER = 10001;

/** Object names are DNS-1123 labels for Jobs (their pods' names and labels derive from them). */
const JOB_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function indexedJobManifest(o: IndexedJobOptions): KubeObject {
  if (!JOB_NAME.test(o.name) || o.name.length > 63) throw new Error(`job name ${JSON.stringify(o.name)} must be a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)`);
  for (const [key, value, min] of [['completions', o.completions, 1], ['parallelism', o.parallelism, 1], ['backoffLimitPerIndex', o.backoffLimitPerIndex, 0]] as const) {
    if (!Number.isInteger(value) || value < min) throw new Error(`${key} must be an integer >= ${min}, got ${value}`);
  }
  if (!o.image) throw new Error('an image is required');
  if (!o.pvc) throw new Error('a PersistentVolumeClaim name is required');
  const labels = { 'app.kubernetes.io/name': 'rl-autoscaler-sweep', 'app.kubernetes.io/instance': o.name, ...o.labels };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: o.name, namespace: o.namespace, labels },
    spec: {
      completionMode: 'Indexed',
      completions: o.completions,
      parallelism: Math.min(o.parallelism, o.completions),
      backoffLimitPerIndex: o.backoffLimitPerIndex,
      template: {
        metadata: { labels },
        spec: {
          // backoffLimitPerIndex needs pods that are not restarted in place.
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, runAsUser: IMAGE_USER, fsGroup: IMAGE_USER, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'sweep',
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              // The image's entrypoint is the rl-autoscaler command (deploy/Dockerfile).
              args: ['sweep', ...o.sweepArgs, '--index', '$(JOB_COMPLETION_INDEX)'],
              env: [
                // The Job controller sets it too; declared here so that $(JOB_COMPLETION_INDEX) in args expands on any version.
                { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
              ],
              // One training keeps one core busy.
              resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
              volumeMounts: [{ name: 'results', mountPath: o.mountPath }],
            },
          ],
          volumes: [{ name: 'results', persistentVolumeClaim: { claimName: o.pvc } }],
        },
      },
    },
  };
}
