/**
 * The RLAutoscaler resources through the client library's informer (ListWatch): it lists, watches
 * from the list's resourceVersion, resumes from the last version seen when a watch ends, and on
 * 410 Gone lists again and reports the objects missing from the new list as deleted.
 *
 * What the informer (client-node 1.4.0) leaves to its user is done here:
 *  - it stops at any failure other than 410 (a refused list, a 503, a dropped connection): the
 *    watcher starts it again, after an exponential backoff;
 *  - it reconnects at once when a watch ends: a watch that ended within a second (a server that
 *    closes watches at once) is followed by the backoff delay too, so this never busy-loops;
 *  - its own Watch asks for neither a server-side timeout nor bookmarks, and can open a watch
 *    after stop() when stop() comes during a list: the Watch given to it here asks for both,
 *    waits out the backoff, and opens nothing once stopped.
 */
import * as k8s from '@kubernetes/client-node';
import { apiErrorText, type AutoscalerApi } from './api';
import { Backoff, WATCH_RETRY, type BackoffOptions } from './backoff';
import type { Logger } from './log';
import type { RLAutoscalerObject } from './resource';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchHandlers {
  onEvent(type: WatchEventType, object: RLAutoscalerObject): void;
}

export interface WatcherOptions {
  /** Asks the server to end each watch after this long (default 300 s); the informer then resumes. */
  timeoutSeconds?: number;
  /** Delays before a list or watch after failures (default WATCH_RETRY: 500 ms doubling up to 10 s). */
  retry?: BackoffOptions;
}

/** A watch that ends sooner than this after it was opened counts as a failure. */
const SHORT_WATCH_MS = 1_000;

type Query = Record<string, string | number | boolean | undefined>;
type Callback = (phase: string, object: any, raw?: any) => void;
type Done = (err: any) => void;
/** Opens the watch for real (the client library's Watch.watch, path given). */
type OpenWatch = (query: Query, callback: Callback, done: Done) => Promise<AbortController>;
type WatchGate = (open: OpenWatch, query: Query, callback: Callback, done: Done) => Promise<AbortController>;

/** The informer's Watch: every watch it opens goes through the watcher's gate first. */
class GatedWatch extends k8s.Watch {
  constructor(
    config: k8s.KubeConfig,
    private readonly gate: WatchGate,
  ) {
    super(config);
  }

  override watch(path: string, query: Query, callback: Callback, done: Done): Promise<AbortController> {
    return this.gate((q, c, d) => super.watch(path, q, c, d), query, callback, done);
  }
}

function abortedController(): AbortController {
  const controller = new AbortController();
  controller.abort();
  return controller;
}

export class ResourceWatcher {
  /** How often the watcher listed and watched (for logs and tests). */
  readonly counts = { lists: 0, watches: 0, resumes: 0, relists: 0 };
  private readonly informer: k8s.ListWatch<k8s.KubernetesObject>;
  private readonly backoff: Backoff;
  private stopped = false;
  private startError: unknown = null;
  /** Whether the last list or watch failed, so the next one waits the backoff delay. */
  private failedLast = false;
  private listFailed = false;
  private listedSinceLastWatch = false;
  private pause: { timer: NodeJS.Timeout; resolve: () => void } | null = null;
  private restart: NodeJS.Immediate | null = null;
  private opening: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly api: AutoscalerApi,
    private readonly handlers: WatchHandlers,
    private readonly logger: Logger,
    private readonly options: WatcherOptions = {},
  ) {
    this.backoff = new Backoff(options.retry ?? WATCH_RETRY);
    const watch = new GatedWatch(api.kubeConfig, (open, query, callback, done) => this.openWatch(open, query, callback, done));
    this.informer = new k8s.ListWatch(api.watchPath, watch, () => this.list(), false);
    this.informer.on(k8s.ADD, (object) => this.deliver('ADDED', object));
    this.informer.on(k8s.UPDATE, (object) => this.deliver('MODIFIED', object));
    this.informer.on(k8s.DELETE, (object) => this.deliver('DELETED', object));
    this.informer.on(k8s.ERROR, (err) => this.onFailure(err));
  }

  /** Lists, hands every object over, starts watching; rejects when the first list fails. */
  async start(): Promise<void> {
    await this.informer.start();
    if (this.counts.lists === 0) throw new Error(`cannot list the RLAutoscaler resources at ${this.api.watchPath}: ${this.startError ? apiErrorText(this.startError) : 'no answer'}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restart) clearImmediate(this.restart);
    if (this.pause) {
      clearTimeout(this.pause.timer);
      this.pause.resolve();
    }
    await this.informer.stop();
    // A watch being opened right now is aborted as soon as it opens.
    await this.opening;
  }

  private async list(): Promise<k8s.KubernetesListObject<k8s.KubernetesObject>> {
    await this.waitAfterFailure();
    if (this.counts.lists > 0) this.logger.info('watch expired, listing again', { lists: this.counts.lists });
    try {
      const { items, resourceVersion } = await this.api.list();
      this.counts.lists++;
      if (this.counts.lists > 1) this.counts.relists++;
      this.listedSinceLastWatch = true;
      this.failedLast = false;
      this.backoff.reset();
      this.logger.info('listed resources', { count: items.length, resourceVersion });
      return { items: items as k8s.KubernetesObject[], metadata: { resourceVersion } };
    } catch (err) {
      this.listFailed = true;
      throw err;
    }
  }

  /** Opens one watch for the informer, with a server timeout and bookmarks; nothing once stopped. */
  private async openWatch(open: OpenWatch, query: Query, callback: Callback, done: Done): Promise<AbortController> {
    await this.waitAfterFailure();
    if (this.stopped) return abortedController();
    this.counts.watches++;
    if (!this.listedSinceLastWatch) this.counts.resumes++;
    this.listedSinceLastWatch = false;
    const openedAt = Date.now();
    let expired = false;
    const onEvent: Callback = (phase, object, raw) => {
      if (phase !== 'ERROR') this.backoff.reset();
      else if (object?.code === 410) expired = true;
      else this.logger.warn('watch error event', { status: object?.code, message: object?.message });
      callback(phase, object, raw);
    };
    const onDone: Done = (err) => {
      const lasted = Date.now() - openedAt >= SHORT_WATCH_MS;
      if (lasted) this.backoff.reset();
      // A 410 is answered by a list at once; the informer does that itself.
      this.failedLast = !expired && (Boolean(err) || !lasted);
      if (!err && !expired && !this.stopped) this.logger.info('watch ended, resuming', { resourceVersion: this.informer.latestResourceVersion() });
      done(err);
    };
    const opening = open({ ...query, allowWatchBookmarks: true, timeoutSeconds: this.options.timeoutSeconds ?? 300 }, onEvent, onDone);
    this.opening = opening.catch(() => undefined);
    try {
      const controller = await opening;
      if (this.stopped) controller.abort();
      return controller;
    } catch (err) {
      // e.g. credentials that cannot be loaded: reported as a failed watch, never as a rejection
      // the informer would leave unhandled.
      onDone(err);
      return abortedController();
    }
  }

  /** After a failed list or watch, waits the backoff delay (cut short by stop()). */
  private async waitAfterFailure(): Promise<void> {
    if (!this.failedLast || this.stopped) return;
    const delay = this.backoff.next();
    this.logger.info('waiting before the next request', { retryInMs: delay, failuresInARow: this.backoff.failuresInARow });
    await new Promise<void>((resolve) => {
      this.pause = { timer: setTimeout(resolve, delay), resolve };
    });
    this.pause = null;
  }

  /** The informer stopped on a failure other than 410: start it again (it resumes from its resourceVersion). */
  private onFailure(err: unknown): void {
    if (this.stopped) return;
    this.failedLast = true;
    if (this.counts.lists === 0) {
      this.startError = err; // start() reports it
      return;
    }
    this.logger.warn(this.listFailed ? 'list failed, retrying' : 'watch failed, resuming', { resourceVersion: this.informer.latestResourceVersion(), error: apiErrorText(err) });
    this.listFailed = false;
    // Not from inside the informer's own failure handling.
    this.restart = setImmediate(() => {
      this.restart = null;
      this.informer.start().catch((e: unknown) => this.logger.error('watch restart failed', { error: apiErrorText(e) }));
    });
  }

  private deliver(type: WatchEventType, object: k8s.KubernetesObject): void {
    if (this.stopped) return;
    try {
      this.handlers.onEvent(type, object as unknown as RLAutoscalerObject);
    } catch (err) {
      // An exception here would end up as an unhandled rejection inside the informer.
      this.logger.error('watch event not handled', { type, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
