/**
 * Counters and HDR latency histograms for a load run, kept twice: for the current window (taken
 * and reset by the caller) and for the whole run. Latencies are recorded in microseconds and
 * reported in milliseconds.
 */
import * as hdr from 'hdr-histogram-js';
import type { FailureReason, Outcome } from './target';

export type LoadMode = 'open-loop' | 'closed-loop';

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export type FailureCounts = Record<FailureReason, number>;

/**
 * Told of every event as it is recorded, e.g. to feed Prometheus metrics (metrics.ts). Latency is
 * the one the statistics record: a session's first request timed from its intended start.
 */
export interface LoadObserver {
  /** `count` arrivals at once (one scheduling tick's). */
  onArrival?(count: number): void;
  onDrop?(count: number): void;
  /** Every request, `aborted` ones included (cut off by stop(); their latency means nothing). */
  onRequest?(name: string, outcome: Outcome, latencyMs: number): void;
}

export interface RequestCounts {
  sent: number;
  ok: number;
  failed: FailureCounts;
  failedTotal: number;
  /** Cut off by stop(); neither ok nor failed. */
  aborted: number;
}

export interface LoadStats {
  /** closed-loop numbers are not comparable with open-loop ones: arrivals wait for responses there. */
  mode: LoadMode;
  /** Run time (s) at the window's start and end. */
  startS: number;
  endS: number;
  /** ∫λ over the window; null in closed-loop mode with think time, where no rate is promised. */
  expectedArrivals: number | null;
  /** Sessions due in the window (open loop) or begun (closed loop). */
  arrivals: number;
  /** Sessions started. */
  sent: number;
  /** Arrivals refused at once because the cap on sessions in flight was reached. */
  dropped: number;
  /** Sessions that ended in the window, and those of them whose every request succeeded. */
  completed: number;
  ok: number;
  /** ok / expectedArrivals. */
  servedRatio: number | null;
  requests: RequestCounts;
  /** Every request; in open loop a session's first request is timed from its intended start. */
  latencyMs: LatencySummary;
  latencyByNameMs: Record<string, LatencySummary>;
  /** A whole session, from its intended start to its last response. */
  sessionLatencyMs: LatencySummary;
  /** Actual send minus intended send of each session's first request. */
  sendLatenessMs: LatencySummary;
}

function newHistogram(): hdr.Histogram {
  // 1 µs to an hour at three significant digits; auto-resize keeps longer values rather than throwing.
  return hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

function summarise(h: hdr.Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 };
  const ms = (us: number) => us / 1000;
  return {
    count: h.totalCount,
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}

const toMicros = (ms: number) => Math.max(0, Math.round(ms * 1000));

/** One accumulation period: counters and histograms. */
class Accumulator {
  arrivals = 0;
  sent = 0;
  dropped = 0;
  completed = 0;
  ok = 0;
  readonly requests: RequestCounts = { sent: 0, ok: 0, failed: { http: 0, timeout: 0, connection: 0 }, failedTotal: 0, aborted: 0 };
  readonly latency = newHistogram();
  readonly session = newHistogram();
  readonly lateness = newHistogram();
  readonly byName = new Map<string, hdr.Histogram>();

  recordRequest(name: string, outcome: Outcome, latencyUs: number): void {
    this.requests.sent++;
    if (outcome === 'aborted') {
      this.requests.aborted++;
      return;
    }
    if (outcome === 'ok') this.requests.ok++;
    else {
      this.requests.failed[outcome]++;
      this.requests.failedTotal++;
    }
    this.latency.recordValue(latencyUs);
    let h = this.byName.get(name);
    if (!h) {
      h = newHistogram();
      this.byName.set(name, h);
    }
    h.recordValue(latencyUs);
  }

  summary(mode: LoadMode, startS: number, endS: number, expected: number | null): LoadStats {
    const latencyByNameMs: Record<string, LatencySummary> = {};
    for (const [name, h] of [...this.byName].sort(([a], [b]) => a.localeCompare(b))) latencyByNameMs[name] = summarise(h);
    return {
      mode,
      startS,
      endS,
      expectedArrivals: expected,
      arrivals: this.arrivals,
      sent: this.sent,
      dropped: this.dropped,
      completed: this.completed,
      ok: this.ok,
      servedRatio: expected === null ? null : expected > 0 ? this.ok / expected : null,
      requests: { ...this.requests, failed: { ...this.requests.failed } },
      latencyMs: summarise(this.latency),
      latencyByNameMs,
      sessionLatencyMs: summarise(this.session),
      sendLatenessMs: summarise(this.lateness),
    };
  }

  /** Adds another period's counts and histograms to this one. */
  add(other: Accumulator): void {
    this.arrivals += other.arrivals;
    this.sent += other.sent;
    this.dropped += other.dropped;
    this.completed += other.completed;
    this.ok += other.ok;
    const r = this.requests;
    const o = other.requests;
    r.sent += o.sent;
    r.ok += o.ok;
    r.failedTotal += o.failedTotal;
    r.aborted += o.aborted;
    r.failed.http += o.failed.http;
    r.failed.timeout += o.failed.timeout;
    r.failed.connection += o.failed.connection;
    this.latency.add(other.latency);
    this.session.add(other.session);
    this.lateness.add(other.lateness);
    for (const [name, h] of other.byName) {
      let mine = this.byName.get(name);
      if (!mine) {
        mine = newHistogram();
        this.byName.set(name, mine);
      }
      mine.add(h);
    }
  }

  destroy(): void {
    for (const h of [this.latency, this.session, this.lateness, ...this.byName.values()]) h.destroy();
  }

  /** Counts and histograms as plain data another thread can receive (HDR's compressed encoding, which merges exactly). */
  toData(): StatsData {
    const byName: Record<string, EncodedHistogram> = {};
    for (const [name, h] of this.byName) byName[name] = encode(h);
    return {
      arrivals: this.arrivals,
      sent: this.sent,
      dropped: this.dropped,
      completed: this.completed,
      ok: this.ok,
      requests: { ...this.requests, failed: { ...this.requests.failed } },
      latency: encode(this.latency),
      session: encode(this.session),
      lateness: encode(this.lateness),
      byName,
    };
  }

  /** Adds data from toData() to this period. */
  addData(data: StatsData): void {
    const other = new Accumulator();
    other.arrivals = data.arrivals;
    other.sent = data.sent;
    other.dropped = data.dropped;
    other.completed = data.completed;
    other.ok = data.ok;
    Object.assign(other.requests, data.requests, { failed: { ...data.requests.failed } });
    const decode = (encoded: EncodedHistogram, into: hdr.Histogram) => {
      const h = hdr.decodeFromCompressedBase64(encoded.counts, 32) as hdr.JsHistogram;
      // The encoding keeps each value's bucket, not the exact largest value: put it back.
      if (h.totalCount > 0) h.maxValue = encoded.max;
      into.add(h);
      h.destroy();
    };
    decode(data.latency, other.latency);
    decode(data.session, other.session);
    decode(data.lateness, other.lateness);
    for (const [name, encoded] of Object.entries(data.byName)) {
      const h = newHistogram();
      decode(encoded, h);
      other.byName.set(name, h);
    }
    this.add(other);
    other.destroy();
  }
}

/** An HDR histogram in its compressed encoding, which merges exactly, and its exact largest value. */
export interface EncodedHistogram {
  counts: string;
  max: number;
}

function encode(h: hdr.Histogram): EncodedHistogram {
  return { counts: hdr.encodeIntoCompressedBase64(h), max: h.maxValue };
}

/** One period's counts and encoded histograms, as a worker hands them to the run that merges them. */
export interface StatsData {
  arrivals: number;
  sent: number;
  dropped: number;
  completed: number;
  ok: number;
  requests: RequestCounts;
  latency: EncodedHistogram;
  session: EncodedHistogram;
  lateness: EncodedHistogram;
  byName: Record<string, EncodedHistogram>;
}

/**
 * Windows merged from several recorders (the generator's workers): each taken window is added to
 * the run's totals, as StatsRecorder does with its own.
 */
export class StatsMerger {
  private readonly total = new Accumulator();

  constructor(readonly mode: LoadMode) {}

  /** The merged statistics of `parts` as one window; they are added to the totals. */
  window(parts: readonly StatsData[], startS: number, endS: number, expected: number | null): LoadStats {
    const merged = new Accumulator();
    for (const part of parts) merged.addData(part);
    const stats = merged.summary(this.mode, startS, endS, expected);
    this.total.add(merged);
    merged.destroy();
    return stats;
  }

  /** The totals so far, plus `current` (windows not yet taken), without changing anything. */
  totals(current: readonly StatsData[], startS: number, endS: number, expected: number | null): LoadStats {
    const all = new Accumulator();
    all.add(this.total);
    for (const part of current) all.addData(part);
    const stats = all.summary(this.mode, startS, endS, expected);
    all.destroy();
    return stats;
  }
}

/**
 * Records every event once, into the current window; a taken window is added to the run's
 * totals, and totals() reads both. Each request then costs one histogram record per histogram,
 * not two.
 */
export class StatsRecorder {
  private window = new Accumulator();
  private readonly total = new Accumulator();

  constructor(
    readonly mode: LoadMode,
    private readonly observer: LoadObserver = {},
  ) {}

  /** Counts `count` arrivals (one timer tick's worth at once in open loop). */
  arrival(count = 1): void {
    if (count <= 0) return;
    this.window.arrivals += count;
    this.observer.onArrival?.(count);
  }

  dropped(count = 1): void {
    if (count <= 0) return;
    this.window.dropped += count;
    this.observer.onDrop?.(count);
  }

  sessionStarted(latenessMs: number): void {
    this.window.sent++;
    this.window.lateness.recordValue(toMicros(latenessMs));
  }

  sessionEnded(allOk: boolean, durationMs: number): void {
    this.window.completed++;
    if (allOk) this.window.ok++;
    this.window.session.recordValue(toMicros(durationMs));
  }

  request(name: string, outcome: Outcome, latencyMs: number): void {
    this.window.recordRequest(name, outcome, toMicros(latencyMs));
    this.observer.onRequest?.(name, outcome, latencyMs);
  }

  /** The window's counts and histograms as plain data; unless `peek`, a new window starts and the old one is not kept. */
  exportWindow(peek: boolean): StatsData {
    const data = this.window.toData();
    if (!peek) {
      this.window.destroy();
      this.window = new Accumulator();
    }
    return data;
  }

  /** Returns the window's statistics and starts a new window. */
  takeWindow(startS: number, endS: number, expected: number | null): LoadStats {
    const stats = this.window.summary(this.mode, startS, endS, expected);
    this.total.add(this.window);
    this.window.destroy();
    this.window = new Accumulator();
    return stats;
  }

  totals(startS: number, endS: number, expected: number | null): LoadStats {
    const all = new Accumulator();
    all.add(this.total);
    all.add(this.window);
    const stats = all.summary(this.mode, startS, endS, expected);
    all.destroy();
    return stats;
  }
}
