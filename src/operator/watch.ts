/**
 * List+watch of the RLAutoscaler resources, as an informer does: list once, then watch from the
 * list's resourceVersion; when the watch ends (server timeout, dropped connection) resume from
 * the last resourceVersion seen; when the server says that version is gone (410 Gone / Expired),
 * list again and hand the full set over, so deletions missed meanwhile are noticed.
 */
import * as k8s from '@kubernetes/client-node';
import { apiErrorText, httpStatusOf, type AutoscalerApi } from './api';
import type { Logger } from './log';
import type { RLAutoscalerObject } from './resource';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchHandlers {
  /** The complete current set, after every (re)list. */
  onSync(items: RLAutoscalerObject[]): void;
  onEvent(type: WatchEventType, object: RLAutoscalerObject): void;
}

export interface WatcherOptions {
  /** Asks the server to end each watch after this long (default 300 s); the watcher then resumes. */
  timeoutSeconds?: number;
  /** First delay after a failure, doubled up to maxRetryDelayMs (defaults 500 ms and 10 s). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

type WatchEnd = { kind: 'closed' } | { kind: 'expired'; message: string } | { kind: 'failed'; error: unknown };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ResourceWatcher {
  private stopped = false;
  private controller: AbortController | null = null;
  private resourceVersion = '';
  private running: Promise<void> | null = null;
  /** How often the watcher listed and watched (for logs and tests). */
  readonly counts = { lists: 0, watches: 0, resumes: 0, relists: 0 };

  constructor(
    private readonly api: AutoscalerApi,
    private readonly handlers: WatchHandlers,
    private readonly logger: Logger,
    private readonly options: WatcherOptions = {},
  ) {}

  /** Lists, hands the set over, starts watching; resolves once the first list succeeded. */
  async start(): Promise<void> {
    await this.list();
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller?.abort();
    await this.running;
  }

  private async list(): Promise<void> {
    const { items, resourceVersion } = await this.api.list();
    this.counts.lists++;
    this.resourceVersion = resourceVersion;
    this.logger.info('listed resources', { count: items.length, resourceVersion });
    this.handlers.onSync(items);
  }

  private async run(): Promise<void> {
    const firstDelay = this.options.retryDelayMs ?? 500;
    let delay = firstDelay;
    let needList = false;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.list();
          this.counts.relists++;
          needList = false;
          delay = firstDelay;
        } catch (err) {
          this.logger.warn('list failed, retrying', { error: apiErrorText(err), retryInMs: delay });
          await sleep(delay);
          delay = Math.min(delay * 2, this.options.maxRetryDelayMs ?? 10_000);
          continue;
        }
      }
      const startedAt = Date.now();
      const end = await this.watchOnce();
      if (this.stopped) break;
      if (end.kind === 'expired') {
        this.logger.info('watch expired, listing again', { resourceVersion: this.resourceVersion, message: end.message });
        needList = true;
      } else if (end.kind === 'failed') {
        this.logger.warn('watch failed, resuming', { resourceVersion: this.resourceVersion, error: apiErrorText(end.error), retryInMs: delay });
        await sleep(delay);
        delay = Math.min(delay * 2, this.options.maxRetryDelayMs ?? 10_000);
        this.counts.resumes++;
      } else {
        this.logger.info('watch ended, resuming', { resourceVersion: this.resourceVersion });
        this.counts.resumes++;
        // A server that keeps closing watches at once must not make this a busy loop.
        if (Date.now() - startedAt < 1000) await sleep(delay);
      }
    }
  }

  private watchOnce(): Promise<WatchEnd> {
    this.counts.watches++;
    return new Promise<WatchEnd>((resolve) => {
      let expired: string | null = null;
      const onEvent = (type: string, object: Record<string, any>) => {
        if (type === 'ERROR') {
          if (object?.code === 410) expired = String(object.message ?? 'resource version expired');
          else this.logger.warn('watch error event', { status: object?.code, message: object?.message });
          return;
        }
        const version = object?.metadata?.resourceVersion;
        if (typeof version === 'string' && version !== '') this.resourceVersion = version;
        if (type === 'BOOKMARK') return;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.handlers.onEvent(type, object as RLAutoscalerObject);
      };
      const onDone = (err: unknown) => {
        this.controller = null;
        if (expired !== null) resolve({ kind: 'expired', message: expired });
        else if (err && httpStatusOf(err) === 410) resolve({ kind: 'expired', message: apiErrorText(err) });
        else if (err && !(err instanceof Error && err.name === 'AbortError')) resolve({ kind: 'failed', error: err });
        else resolve({ kind: 'closed' });
      };
      new k8s.Watch(this.api.kubeConfig)
        .watch(this.api.watchPath, { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: this.options.timeoutSeconds ?? 300 }, onEvent, onDone)
        .then((controller) => {
          this.controller = controller;
          if (this.stopped) controller.abort();
        })
        .catch((err) => onDone(err));
    });
  }
}
