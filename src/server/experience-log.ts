/**
 * Append-only JSONL log of experience events, durable before acknowledgement.
 *
 * Two durabilities (what an append's promise waits for):
 * - `machine` (group commit): events appended in one turn of the event loop go out together in
 *   one write, followed by one fsync; each append's promise resolves only after an fsync that
 *   started after its write. Nothing acknowledged is lost even if the machine loses power.
 * - `process`: the promise resolves once the event is written to the file (the kernel's page
 *   cache), which survives a crash or SIGKILL of the process; an fsync in the background, at most
 *   one in flight and at most one per `syncIntervalMs`, bounds what a machine crash can lose.
 *   Under sustained load an fsync of a growing file commits the filesystem's journal and takes
 *   milliseconds; this mode keeps that off the acknowledgement path.
 * Either way a crash can lose only events whose requests were never answered (in `process` mode
 * a machine crash can also lose the last `syncIntervalMs` or so of answered ones).
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

/** What an acknowledged event survives: a crash of the process, or of the whole machine. */
export type Durability = 'process' | 'machine';
export const DURABILITIES: readonly Durability[] = ['process', 'machine'];
export const DEFAULT_DURABILITY: Durability = 'machine';
/** `process` mode: the most time between a write and the background fsync that covers it. */
export const DEFAULT_SYNC_INTERVAL_MS = 100;

export interface ExperienceLogOptions {
  durability?: Durability;
  syncIntervalMs?: number;
}

interface Group {
  /** Bytes of the log up to the end of this group. */
  end: number;
  waiters: Waiter[];
  /** Events in the group (some have no waiter). */
  events: number;
}

export class ExperienceLog {
  readonly file: string;
  private readonly fd: number;
  private nextSeq: number;
  private queue: string[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  /** A writeSoon() microtask is queued. */
  private soon = false;
  private syncsInFlight = 0;
  /** Groups written, oldest first, waiting for an fsync that started after their write. */
  private unsynced: Group[] = [];
  private bytesWritten = 0;
  private failure: Error | null = null;
  /** Groups written and events written, for metrics. */
  groups = 0;
  written = 0;
  /** Fsyncs started (all modes). */
  syncs = 0;
  /** Events durable as the log's durability defines it: written (`process`) or fsynced (`machine`). */
  durableEvents = 0;
  /** Told once, when a write or fsync fails and the log stops accepting events. */
  onFailure?: (err: Error) => void;
  readonly durability: Durability;
  private readonly syncIntervalMs: number;
  /** `process` mode: bytes covered by the last finished fsync, the fsync in flight, its timer. */
  private syncedBytes = 0;
  private backgroundSync: Promise<void> | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  /** Callers of `sync()` waiting for an fsync that covers `end` bytes. */
  private syncWaiters: { end: number; waiter: Waiter }[] = [];

  private constructor(file: string, fd: number, nextSeq: number, options: ExperienceLogOptions) {
    this.file = file;
    this.fd = fd;
    this.nextSeq = nextSeq;
    this.durability = options.durability ?? DEFAULT_DURABILITY;
    this.syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
  }

  /** Opens for appending after `lastSeq`, first cutting a torn last line of `droppedBytes`. */
  static open(file: string, lastSeq: number, droppedBytes = 0, options: ExperienceLogOptions = {}): ExperienceLog {
    if (options.durability !== undefined && !DURABILITIES.includes(options.durability)) {
      throw new Error(`durability must be one of ${DURABILITIES.join(', ')}, got ${JSON.stringify(options.durability)}`);
    }
    if (options.syncIntervalMs !== undefined && !(options.syncIntervalMs >= 0)) throw new Error(`sync interval must be >= 0 ms, got ${options.syncIntervalMs}`);
    if (droppedBytes > 0) {
      const size = fs.statSync(file).size;
      fs.truncateSync(file, size - droppedBytes);
    }
    const fd = fs.openSync(file, 'a');
    return new ExperienceLog(file, fd, lastSeq + 1, options);
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
    const seq = this.enqueue(event);
    const durable = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    return { seq, durable };
  }

  /**
   * Appends an event nobody waits for (it is written in order with the others, and counted in
   * `durableEvents` once durable): no promise per event. Returns its sequence number, or -1 if
   * the log has failed (onFailure has been told why).
   */
  appendUnacknowledged(event: ExperienceEvent): number {
    if (this.failure) return -1;
    return this.enqueue(event);
  }

  private enqueue(event: ExperienceEvent): number {
    const seq = this.nextSeq++;
    this.queue.push(JSON.stringify({ seq, ...event }) + '\n');
    if (!this.scheduled) {
      // Let the requests already read in this turn of the event loop join the group: a write is
      // a system call (about 10 us, more than encoding the event), one per turn instead of one per
      // request. Appends made after the turn's I/O (a batch of decisions) ask for writeSoon().
      this.scheduled = true;
      setImmediate(() => this.writeQueued());
    }
    return seq;
  }

  /**
   * Writes the events appended by the code running now and by the promise callbacks already
   * queued (call it after resolving the promises whose callbacks append), instead of in the next
   * turn of the event loop. For appends made after the turn's I/O, e.g. by the requests one batch
   * of decisions answers. An append that comes later still gets written, in the next turn.
   */
  writeSoon(): void {
    if (this.soon) return;
    this.soon = true;
    queueMicrotask(() => {
      this.soon = false;
      this.writeQueued();
    });
  }

  private writeQueued(): void {
    if (this.durability === 'process') this.writeGroup();
    else this.flush();
  }

  /**
   * `process` mode: writes the queued events to the file and acknowledges them (the page cache
   * outlives the process); an fsync follows within `syncIntervalMs`.
   */
  private writeGroup(): void {
    this.scheduled = false;
    if (this.failure || !this.queue.length) return;
    const lines = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    if (!this.writeLines(lines, waiters)) return;
    this.durableEvents += lines.length;
    for (const w of waiters) w.resolve();
    this.scheduleBackgroundSync(this.syncIntervalMs);
  }

  /** Writes whole lines at the end of the file; false (and the log failed) if the write failed. */
  private writeLines(lines: string[], waiters: Waiter[]): boolean {
    const data = Buffer.from(lines.join(''));
    try {
      for (let offset = 0; offset < data.length; ) offset += fs.writeSync(this.fd, data, offset, data.length - offset);
    } catch (err) {
      this.fail(err as Error, waiters);
      return false;
    }
    this.bytesWritten += data.length;
    this.groups++;
    this.written += lines.length;
    return true;
  }

  /** Starts an fsync after `delayMs` unless one is in flight or already timed (process mode). */
  private scheduleBackgroundSync(delayMs: number): void {
    if (this.backgroundSync || this.syncTimer || this.failure) return;
    if (this.syncedBytes >= this.bytesWritten) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      this.startBackgroundSync();
    }, delayMs);
  }

  private startBackgroundSync(): void {
    const end = this.bytesWritten;
    this.syncs++;
    this.backgroundSync = new Promise<void>((resolve) =>
      fs.fdatasync(this.fd, (err) => {
        this.backgroundSync = null;
        resolve();
        if (err) return this.fail(err, []);
        this.syncedBytes = Math.max(this.syncedBytes, end);
        const still: typeof this.syncWaiters = [];
        for (const s of this.syncWaiters) (s.end <= end ? s.waiter.resolve() : still.push(s));
        this.syncWaiters = still;
        // Someone waits for more than this fsync covered: go again at once; else at the interval.
        this.scheduleBackgroundSync(still.length ? 0 : this.syncIntervalMs);
      }),
    );
  }

  /**
   * Resolves once everything written so far is fsynced (at once in `machine` mode, where an
   * acknowledged event is fsynced already). A checkpoint that claims to have learned from the
   * log up to some event waits for this, so that a machine crash cannot leave it ahead of the log.
   */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.durability === 'machine' || this.syncedBytes >= this.bytesWritten) return Promise.resolve();
    const end = this.bytesWritten;
    const done = new Promise<void>((resolve, reject) => this.syncWaiters.push({ end, waiter: { resolve, reject } }));
    if (this.syncTimer) {
      clearTimeout(this.syncTimer);
      this.syncTimer = null;
    }
    if (!this.backgroundSync) this.startBackgroundSync();
    return done;
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
    if (!this.writeLines(lines, waiters)) return;
    const group: Group = { end: this.bytesWritten, waiters, events: lines.length };
    this.unsynced.push(group);
    this.syncsInFlight++;
    this.syncs++;
    fs.fdatasync(this.fd, (err) => {
      this.syncsInFlight--;
      if (err) return this.fail(err, []);
      // This fsync started after the group was written, so it covers the group and every earlier one.
      while (this.unsynced.length && this.unsynced[0].end <= group.end) {
        const done = this.unsynced.shift()!;
        this.durableEvents += done.events;
        for (const w of done.waiters) w.resolve();
      }
      if (this.scheduled && this.syncsInFlight < MAX_SYNCS_IN_FLIGHT) this.flush();
    });
  }

  /** After a failed write or fsync the file's tail is unknown: refuse everything from now on. */
  private fail(err: Error, extra: Waiter[]): void {
    if (!this.failure) {
      this.failure = new Error(`experience log ${this.file}: ${err.message}`);
      this.onFailure?.(this.failure);
    }
    this.scheduled = false;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    for (const w of [...extra, ...this.unsynced.flatMap((g) => g.waiters), ...this.waiters, ...this.syncWaiters.map((s) => s.waiter)]) w.reject(this.failure);
    this.unsynced = [];
    this.waiters = [];
    this.syncWaiters = [];
    this.queue = [];
  }

  /** Waits for queued events (and, in `process` mode, fsyncs what was written), then closes the file. */
  async close(): Promise<void> {
    while (this.scheduled || this.syncsInFlight > 0) await new Promise((r) => setTimeout(r, 1));
    if (this.durability === 'process' && !this.failure) await this.sync().catch(() => undefined);
    while (this.backgroundSync) await this.backgroundSync;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    fs.closeSync(this.fd);
  }
}
