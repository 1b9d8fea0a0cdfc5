/**
 * The control loop of one RLAutoscaler: a tick every interval (fixed rate, never overlapping),
 * an immediate tick when the spec changes, a retry with exponential backoff after a tick fails
 * (e.g. the API server unreachable), and a clean stop when the resource is deleted or the
 * operator shuts down. The decisions themselves live in Reconciler.
 */
import { Backoff, TICK_RETRY, type BackoffOptions } from './backoff';
import { errorText, type Logger } from './log';
import { Reconciler, type ReconcileDeps } from './reconcile';
import type { RLAutoscalerObject } from './resource';

export class ResourceLoop {
  readonly uid: string | undefined;
  private readonly reconciler: Reconciler;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private generation: number | undefined;
  private rerun = false;
  private readonly backoff: Backoff;
  /** Completed ticks (for logs and tests). */
  ticks = 0;

  constructor(
    object: RLAutoscalerObject,
    deps: ReconcileDeps,
    private readonly logger: Logger,
    private readonly onGone: (loop: ResourceLoop) => void,
    retry: BackoffOptions = TICK_RETRY,
  ) {
    this.backoff = new Backoff(retry);
    this.uid = object.metadata.uid;
    this.generation = object.metadata.generation;
    this.reconciler = new Reconciler(object.metadata.namespace, object.metadata.name, { ...deps, logger });
    this.schedule(0);
  }

  /** A newer version of the object arrived: a changed spec (new generation) is acted on at once. */
  update(object: RLAutoscalerObject): void {
    if (object.metadata.generation === this.generation) return; // our own status writes land here too
    this.generation = object.metadata.generation;
    this.logger.info('spec changed', { generation: this.generation });
    if (this.running) this.rerun = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.reconciler.close();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runTick().finally(() => {
        this.running = null;
      });
    }, Math.max(0, delayMs));
  }

  private async runTick(): Promise<void> {
    const started = Date.now();
    let next: number;
    try {
      const result = await this.reconciler.tick();
      this.ticks++;
      this.backoff.reset();
      if (result.kind === 'gone') {
        this.logger.info('resource gone, stopping its loop');
        this.stopped = true;
        this.onGone(this);
        await this.reconciler.close();
        return;
      }
      // Fixed rate: the interval counts from the start of this tick.
      next = Math.max(0, started + result.nextTickMs - Date.now());
    } catch (err) {
      // The backoff counts from the failure, as a rate-limited requeue does.
      next = this.backoff.next();
      this.logger.error('tick failed', { error: errorText(err), failuresInARow: this.backoff.failuresInARow, retryInMs: next });
    }
    if (this.rerun) {
      this.rerun = false;
      next = 0;
    }
    this.schedule(next);
  }
}
