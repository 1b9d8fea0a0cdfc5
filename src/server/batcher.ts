/**
 * Micro-batching: requests submitted by the code running now (or within `maxDelayMs`) share one
 * call of `run`, up to `maxBatch` at a time.
 *
 * With `maxDelayMs` 0 a batch closes when the current task's microtasks are done: requests parsed
 * from one read, or submitted in one loop, share it, and no request waits for the event loop to go
 * round. Waiting for the end of the turn (setImmediate) would gather other sockets' requests too,
 * but under load a turn takes milliseconds, and the plain-array forward pass costs the same per
 * row whatever the batch, so that wait bought nothing but latency.
 */
export interface MicroBatcherOptions {
  maxBatch: number;
  /** 0: flush once the current task's microtasks have run (queueMicrotask). */
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
        else queueMicrotask(() => this.flush());
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
        batch.forEach((b, i) => b.resolve(outputs[i]));
      } catch (err) {
        for (const b of batch) b.reject(err as Error);
      }
    }
  }
}
