/**
 * Append-only JSONL log of experience events, durable before acknowledgement.
 *
 * Group commit: events appended in one turn of the event loop go out together in one write,
 * followed by one fsync; each append's promise resolves only after an fsync that started after
 * its write. One fsync per group keeps the cost per request small under load, and a crash can
 * lose only events whose requests were never answered.
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

/** Fsyncs in flight at once: a group need not wait for the previous group's fsync to start its own. */
const MAX_SYNCS_IN_FLIGHT = 4;

interface Group {
  /** Bytes of the log up to the end of this group. */
  end: number;
  waiters: Waiter[];
}

export class ExperienceLog {
  readonly file: string;
  private readonly fd: number;
  private nextSeq: number;
  private queue: string[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  private syncsInFlight = 0;
  /** Groups written, oldest first, waiting for an fsync that started after their write. */
  private unsynced: Group[] = [];
  private bytesWritten = 0;
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
    if (!this.scheduled) {
      this.scheduled = true;
      // Let the requests already parsed in this turn of the event loop join the group.
      setImmediate(() => this.flush());
    }
    return { seq, durable };
  }

  /**
   * Writes the queued events as one group and starts an fsync for it. The write goes to the page
   * cache synchronously (microseconds, and it keeps the log in order); only the fsync runs on the
   * thread pool. A group does not wait for an earlier group's fsync to finish before starting its
   * own: under load each acknowledgement waits for one fsync, not for one and a half.
   */
  private flush(): void {
    this.scheduled = false;
    if (this.failure || !this.queue.length) return;
    if (this.syncsInFlight >= MAX_SYNCS_IN_FLIGHT) {
      this.scheduled = true; // the next fsync to finish flushes again
      return;
    }
    const lines = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    const data = Buffer.from(lines.join(''));
    try {
      for (let offset = 0; offset < data.length; ) offset += fs.writeSync(this.fd, data, offset, data.length - offset);
    } catch (err) {
      this.fail(err as Error, waiters);
      return;
    }
    this.bytesWritten += data.length;
    this.groups++;
    this.written += lines.length;
    const group: Group = { end: this.bytesWritten, waiters };
    this.unsynced.push(group);
    this.syncsInFlight++;
    fs.fdatasync(this.fd, (err) => {
      this.syncsInFlight--;
      if (err) return this.fail(err, []);
      // This fsync started after the group was written, so it covers the group and every earlier one.
      while (this.unsynced.length && this.unsynced[0].end <= group.end) for (const w of this.unsynced.shift()!.waiters) w.resolve();
      if (this.scheduled && this.syncsInFlight < MAX_SYNCS_IN_FLIGHT) this.flush();
    });
  }

  /** After a failed write or fsync the file's tail is unknown: refuse everything from now on. */
  private fail(err: Error, extra: Waiter[]): void {
    this.failure ??= new Error(`experience log ${this.file}: ${err.message}`);
    this.scheduled = false;
    for (const w of [...extra, ...this.unsynced.flatMap((g) => g.waiters), ...this.waiters]) w.reject(this.failure);
    this.unsynced = [];
    this.waiters = [];
    this.queue = [];
  }

  /** Waits for queued events, then closes the file. */
  async close(): Promise<void> {
    while (this.scheduled || this.syncsInFlight > 0) await new Promise((r) => setTimeout(r, 1));
    fs.closeSync(this.fd);
  }
}
