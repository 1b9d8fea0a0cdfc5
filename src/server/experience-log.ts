/**
 * Append-only JSONL log of experience events, durable before acknowledgement.
 *
 * Group commit: events appended while a write is in flight wait and go out together in the next
 * write, followed by one fsync; each append's promise resolves only after the fsync that covers
 * it. One fsync per group keeps the cost per request small under load, and a crash can lose only
 * events whose requests were never answered.
 */
import * as fs from 'node:fs';
import type { ExperienceEvent, LoggedEvent } from './experience-events';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface ReplayResult {
  events: LoggedEvent[];
  /** Bytes of a torn last line (a write cut by a crash, never acknowledged), dropped. */
  droppedBytes: number;
}

/**
 * Reads a log. A last line without its newline is a write that a crash interrupted: it was never
 * acknowledged, so it is dropped (and cut from the file by `open`). Any other bad line is an error.
 */
export function readExperienceLog(file: string): ReplayResult {
  if (!fs.existsSync(file)) return { events: [], droppedBytes: 0 };
  const text = fs.readFileSync(file, 'utf8');
  const complete = text.lastIndexOf('\n') + 1;
  const events: LoggedEvent[] = [];
  let lineNumber = 0;
  for (const line of text.slice(0, complete).split('\n')) {
    lineNumber++;
    if (line === '') continue;
    let event: LoggedEvent;
    try {
      event = JSON.parse(line) as LoggedEvent;
    } catch (err) {
      throw new Error(`${file}:${lineNumber}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof event.seq !== 'number' || (events.length && event.seq !== events[events.length - 1].seq + 1)) {
      throw new Error(`${file}:${lineNumber}: sequence number ${event.seq} does not follow ${events[events.length - 1]?.seq ?? 0}`);
    }
    events.push(event);
  }
  return { events, droppedBytes: Buffer.byteLength(text.slice(complete)) };
}

export class ExperienceLog {
  readonly file: string;
  private readonly fd: number;
  private nextSeq: number;
  private queue: string[] = [];
  private waiters: Waiter[] = [];
  private writing = false;
  private failure: Error | null = null;
  /** Groups written and events written, for metrics. */
  groups = 0;
  written = 0;

  private constructor(file: string, fd: number, nextSeq: number) {
    this.file = file;
    this.fd = fd;
    this.nextSeq = nextSeq;
  }

  /** Opens for appending after `lastSeq`, first cutting a torn last line of `droppedBytes`. */
  static open(file: string, lastSeq: number, droppedBytes = 0): ExperienceLog {
    if (droppedBytes > 0) {
      const size = fs.statSync(file).size;
      fs.truncateSync(file, size - droppedBytes);
    }
    const fd = fs.openSync(file, 'a');
    return new ExperienceLog(file, fd, lastSeq + 1);
  }

  /** The sequence number the next event will get. */
  get nextSequence(): number {
    return this.nextSeq;
  }

  /**
   * Assigns the event its sequence number synchronously (so log order is call order) and resolves
   * once it is on disk.
   */
  append(event: ExperienceEvent): { seq: number; durable: Promise<void> } {
    if (this.failure) return { seq: -1, durable: Promise.reject(this.failure) };
    const seq = this.nextSeq++;
    this.queue.push(JSON.stringify({ seq, ...event }) + '\n');
    const durable = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.writing) this.flushSoon();
    return { seq, durable };
  }

  private flushSoon(): void {
    this.writing = true;
    // Let the requests already parsed in this turn of the event loop join the group.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const lines = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    const data = Buffer.from(lines.join(''));
    const done = (err: NodeJS.ErrnoException | null) => {
      if (err) {
        // After a failed write the file's tail is unknown: refuse everything from now on.
        this.failure = new Error(`experience log ${this.file}: ${err.message}`);
        for (const w of [...waiters, ...this.waiters]) w.reject(this.failure);
        this.waiters = [];
        this.queue = [];
        this.writing = false;
        return;
      }
      this.groups++;
      this.written += lines.length;
      for (const w of waiters) w.resolve();
      if (this.queue.length) this.flush();
      else this.writing = false;
    };
    writeAll(this.fd, data, 0, (err) => (err ? done(err) : fs.fdatasync(this.fd, done)));
  }

  /** Waits for queued events, then closes the file. */
  async close(): Promise<void> {
    while (this.writing) await new Promise((r) => setTimeout(r, 1));
    fs.closeSync(this.fd);
  }
}

function writeAll(fd: number, data: Buffer, offset: number, callback: (err: NodeJS.ErrnoException | null) => void): void {
  fs.write(fd, data, offset, data.length - offset, null, (err, written) => {
    if (err) return callback(err);
    if (offset + written < data.length) return writeAll(fd, data, offset + written, callback);
    callback(null);
  });
}
