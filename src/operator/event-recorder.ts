/**
 * Kubernetes Events (core/v1) about an RLAutoscaler, so `kubectl describe rlas NAME` and
 * `kubectl get events` show what the operator decided. Recording is best effort: a failed event
 * is logged, never allowed to stop a control loop.
 */
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { apiErrorText } from './api';
import type { Logger } from './log';
import { API_VERSION, KIND, type ObjectMeta } from './resource';

export const COMPONENT = 'rl-autoscaler-operator';

export type EventType = 'Normal' | 'Warning';

/** Reasons, CamelCase as Kubernetes writes them. */
export type EventReason =
  | 'ConfigApplied'
  | 'InPlaceResizeFellBack'
  | 'ApplyFailed'
  | 'Recommended'
  | 'FallbackActivated'
  | 'FallbackDeactivated'
  | 'InvalidSpec'
  | 'TargetUnavailable';

export interface EventSink {
  record(object: ObjectMeta, type: EventType, reason: EventReason, message: string): Promise<void>;
}

export class EventRecorder implements EventSink {
  private readonly core: k8s.CoreV1Api;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly logger: Logger,
    private readonly instance = process.env.HOSTNAME ?? 'local',
  ) {
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  async record(object: ObjectMeta, type: EventType, reason: EventReason, message: string): Promise<void> {
    const now = new Date();
    const body: k8s.CoreV1Event = {
      metadata: { name: `${object.name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`, namespace: object.namespace },
      involvedObject: { apiVersion: API_VERSION, kind: KIND, name: object.name, namespace: object.namespace, uid: object.uid, resourceVersion: object.resourceVersion },
      type,
      reason,
      // The API server caps event messages at 1 kB.
      message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.instance,
      action: reason === 'ConfigApplied' ? 'Scale' : reason === 'Recommended' ? 'Recommend' : 'Reconcile',
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: new k8s.V1MicroTime(now.getTime()),
      count: 1,
    };
    try {
      await this.core.createNamespacedEvent({ namespace: object.namespace, body });
    } catch (err) {
      this.logger.warn('event not recorded', { reason, error: apiErrorText(err) });
    }
  }
}
