/**
 * The operator: watches RLAutoscaler resources and keeps one control loop per resource, started
 * when a resource appears, told when its spec changes, stopped when it is deleted (or missing
 * from a relist, which the informer reports as a deletion), all stopped on shutdown.
 */
import type * as k8s from '@kubernetes/client-node';
import { AutoscalerApi } from './api';
import type { BackoffOptions } from './backoff';
import { EventRecorder, type EventSink } from './event-recorder';
import { jsonLogger, type Logger } from './log';
import { ResourceLoop } from './loop';
import { keyOf, type RLAutoscalerObject } from './resource';
import { ResourceWatcher, type WatcherOptions, type WatchEventType } from './watch';

export interface OperatorOptions {
  kubeConfig: k8s.KubeConfig;
  /** Only this namespace (default: all namespaces). */
  namespace?: string;
  logger?: Logger;
  events?: EventSink;
  watch?: WatcherOptions;
  /** Backoff of a control loop after a failed tick (default TICK_RETRY: 1 s doubling up to 5 min). */
  tickRetry?: BackoffOptions;
}

export class Operator {
  readonly api: AutoscalerApi;
  readonly watcher: ResourceWatcher;
  private readonly loops = new Map<string, ResourceLoop>();
  private readonly logger: Logger;
  private readonly events: EventSink;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: OperatorOptions) {
    this.logger = options.logger ?? jsonLogger();
    this.api = new AutoscalerApi(options.kubeConfig, options.namespace);
    this.events = options.events ?? new EventRecorder(options.kubeConfig, this.logger);
    this.watcher = new ResourceWatcher(
      this.api,
      { onEvent: (type, object) => this.handle(type, object) },
      this.logger,
      options.watch,
    );
  }

  async start(): Promise<void> {
    this.logger.info('operator starting', { namespace: this.options.namespace ?? '(all)', server: this.options.kubeConfig.getCurrentCluster()?.server });
    await this.watcher.start();
  }

  /** Keys (namespace/name) of the resources under control. */
  controlled(): string[] {
    return [...this.loops.keys()].sort();
  }

  loopOf(namespace: string, name: string): ResourceLoop | undefined {
    return this.loops.get(`${namespace}/${name}`);
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.logger.info('operator stopping', { loops: this.loops.size });
      await this.watcher.stop();
      await Promise.all([...this.loops.values()].map((loop) => loop.stop()));
      this.loops.clear();
      this.logger.info('operator stopped');
    })());
  }

  private handle(type: WatchEventType, object: RLAutoscalerObject): void {
    if (type === 'DELETED') this.remove(keyOf(object.metadata), 'deleted');
    else this.upsert(object);
  }

  private upsert(object: RLAutoscalerObject): void {
    if (this.stopping) return;
    const key = keyOf(object.metadata);
    if (object.metadata.deletionTimestamp) return this.remove(key, 'being deleted');
    const existing = this.loops.get(key);
    if (existing && existing.uid === object.metadata.uid) return existing.update(object);
    // Same name, new uid: deleted and created again while we were not watching.
    if (existing) this.remove(key, 'replaced by a new object of the same name');
    const logger = this.logger.child({ resource: key });
    logger.info('control loop started', { generation: object.metadata.generation });
    const onGone = (gone: ResourceLoop) => {
      if (this.loops.get(key) === gone) this.loops.delete(key);
    };
    const loop = new ResourceLoop(object, { api: this.api, kubeConfig: this.options.kubeConfig, events: this.events, logger }, logger, onGone, this.options.tickRetry);
    this.loops.set(key, loop);
  }

  private remove(key: string, why: string): void {
    const loop = this.loops.get(key);
    if (!loop) return;
    this.loops.delete(key);
    this.logger.info('control loop stopped', { resource: key, why });
    void loop.stop();
  }
}
