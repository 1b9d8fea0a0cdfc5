/**
 * Micro-batching: requests that arrive in the same turn of the event loop (or within `maxDelayMs`)
 * share one call of `run`, up to `maxBatch` at a time. Under load a forward pass then serves many
 * decisions; when idle a lone request waits only until the current turn ends.
 *
 * Closing a batch sooner (when the current task's microtasks are done) was measured and is worse
 * under load: one request per batch means one forward-pass call and one log write per request,
 * about 20 % more CPU on the request thread, and at 5,000 decisions/s on two cores that thread's
 * queueing cost more than the wait for the end of the turn (bench:server, docs/benchmarks.md).
 */
export interface MicroBatcherOptions {
  maxBatch: number;
  /** 0: flush at the end of the current event-loop turn (setImmediate). */
  maxDelayMs: number;
}

interface Item<TIn, TOut> {
  input: TIn;
  resolve: (out: TOut) => void;
  reject: (err: Error) => void;
}

export class MicroBatcher<TIn, TOut> {
  private items: Item<TIn, TOut>[] = [];
  private scheduled = false;
  /** Sizes of the batches run so far (for metrics). */
  onBatch?: (size: number) => void;
  /** Called once a batch's requests have their answers (their callers continue in microtasks). */
  afterBatch?: () => void;

  constructor(
    private readonly run: (inputs: TIn[]) => TOut[],
    private readonly options: MicroBatcherOptions = { maxBatch: 64, maxDelayMs: 0 },
  ) {}

  submit(input: TIn): Promise<TOut> {
    return new Promise<TOut>((resolve, reject) => {
      this.items.push({ input, resolve, reject });
      if (this.items.length >= this.options.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        if (this.options.maxDelayMs > 0) setTimeout(() => this.flush(), this.options.maxDelayMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.items.length) {
      const batch = this.items.splice(0, this.options.maxBatch);
      this.onBatch?.(batch.length);
      try {
        const outputs = this.run(batch.map((b) => b.input));
        for (let i = 0; i < batch.length; i++) batch[i].resolve(outputs[i]);
      } catch (err) {
        for (const b of batch) b.reject(err as Error);
      }
      this.afterBatch?.();
    }
  }
}
