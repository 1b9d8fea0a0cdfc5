/**
 * One simulated web UI pod as a real-time FIFO queue with a single server. Queueing is computed
 * in virtual time (each admitted request completes at max(arrival, previous completion) plus an
 * exponential service time), so timer jitter only delays the delivery of a response, never the
 * queue's state. A request that finds `room` requests in the pod is refused, as the model's
 * M/M/1/K pod refuses it.
 */
import type { Rng } from '../random';

export interface PodQueueCounters {
  /** Requests that reached the pod. */
  arrivals: number;
  /** Requests answered. */
  served: number;
  /** Requests refused because the pod was full. */
  refused: number;
  /** Requests failed because the pod stopped while they were queued. */
  lost: number;
  /** Service time given out so far, ms (busy time, once those requests complete). */
  busyMs: number;
}

export class PodQueue {
  readonly counters: PodQueueCounters = { arrivals: 0, served: 0, refused: 0, lost: 0, busyMs: 0 };
  /** Completion times (ms) of the requests in the pod, ascending; entries before `head` are done. */
  private completions: number[] = [];
  private head = 0;
  private lastCompletion = 0;

  private service: { meanMs: number; room: number };

  constructor(
    meanServiceMs: number,
    room: number,
    private readonly rng: Rng,
  ) {
    this.service = checkedService(meanServiceMs, room);
  }

  get meanServiceMs(): number {
    return this.service.meanMs;
  }

  get room(): number {
    return this.service.room;
  }

  /**
   * A new service time and room for requests admitted from now on (an in-place CPU resize in
   * force); requests already admitted keep their completion times, so none is lost.
   */
  retune(meanServiceMs: number, room: number): void {
    this.service = checkedService(meanServiceMs, room);
  }

  /** Requests in the pod at `nowMs` (in service or waiting). */
  inSystem(nowMs: number): number {
    while (this.head < this.completions.length && this.completions[this.head] <= nowMs) this.head++;
    if (this.head > 1024 && this.head * 2 > this.completions.length) {
      this.completions = this.completions.slice(this.head);
      this.head = 0;
    }
    return this.completions.length - this.head;
  }

  /**
   * Admits a request arriving at `nowMs`: its completion time (ms), or null when the pod is full.
   * The caller answers the request at that time (or fails it, calling `lose`, if the pod stops).
   */
  admit(nowMs: number): { completeAtMs: number; serviceMs: number; sojournMs: number } | null {
    this.counters.arrivals++;
    if (this.inSystem(nowMs) >= this.room) {
      this.counters.refused++;
      return null;
    }
    const serviceMs = -Math.log(1 - this.rng.next()) * this.meanServiceMs;
    const completeAtMs = Math.max(nowMs, this.lastCompletion) + serviceMs;
    this.lastCompletion = completeAtMs;
    this.completions.push(completeAtMs);
    this.counters.busyMs += serviceMs;
    return { completeAtMs, serviceMs, sojournMs: completeAtMs - nowMs };
  }

  /** Counts a request answered. */
  complete(): void {
    this.counters.served++;
  }

  /** Counts a request failed because the pod stopped. */
  lose(): void {
    this.counters.lost++;
  }
}

function checkedService(meanServiceMs: number, room: number): { meanMs: number; room: number } {
  if (!(meanServiceMs > 0) || !Number.isFinite(meanServiceMs)) throw new RangeError(`mean service time ${meanServiceMs} ms is not a finite time > 0`);
  if (!Number.isInteger(room) || room < 1) throw new RangeError(`queue room ${room} is not an integer >= 1`);
  return { meanMs: meanServiceMs, room };
}
