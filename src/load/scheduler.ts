/**
 * Open-loop arrival times for a rate that may vary in time, by time change: the cumulative
 * intensity Λ(t) = ∫λ is advanced cell by cell, and an arrival happens each time it crosses the
 * next mark. Marks spaced by Exp(1) draws give a Poisson process; marks spaced by 1 give evenly
 * spaced arrivals. No bound on the rate is needed (unlike thinning), and a rate of zero simply
 * produces nothing.
 *
 * The scheduler never looks past the horizon it is advanced to, so a new rate function takes
 * effect from that moment on.
 */
import { Rng } from '../random';
import { RATE_CELL_SECONDS, safeRate, type RateFunction } from './rate';

export type ArrivalProcess = 'poisson' | 'even';

export interface SchedulerOptions {
  process: ArrivalProcess;
  rng: Rng;
  cellSeconds?: number;
  /**
   * Evenly spaced arrivals only: the share of an interval before the first arrival (default 0.5).
   * N workers at λ/N with phases (k + 0.5)/N interleave into exactly the schedule of one at λ.
   */
  evenPhase?: number;
}

export class ArrivalScheduler {
  private rate: RateFunction;
  private readonly process: ArrivalProcess;
  private readonly rng: Rng;
  private readonly cell: number;
  /** Run time (s) up to which the intensity has been consumed. */
  private cursor = 0;
  /** Intensity still to accumulate before the next arrival. */
  private remaining: number;

  constructor(rate: RateFunction, options: SchedulerOptions) {
    this.rate = rate;
    this.process = options.process;
    this.rng = options.rng;
    this.cell = options.cellSeconds ?? RATE_CELL_SECONDS;
    // Evenly spaced arrivals start half an interval in, so a window of whole intervals holds an exact count.
    this.remaining = this.process === 'even' ? (options.evenPhase ?? 0.5) : this.nextGap();
  }

  setRate(rate: RateFunction): void {
    this.rate = rate;
  }

  get position(): number {
    return this.cursor;
  }

  /** Appends to `out` the intended times (run seconds) of all arrivals in [cursor, horizon), and moves the cursor to the horizon. */
  advance(horizon: number, out: number[] = []): number[] {
    let t = this.cursor;
    while (t < horizon) {
      const cellIndex = Math.floor(t / this.cell + 1e-9);
      const cellEnd = Math.min((cellIndex + 1) * this.cell, horizon);
      const r = safeRate(this.rate, (cellIndex + 0.5) * this.cell);
      if (r === 0) {
        t = cellEnd;
        continue;
      }
      const mass = r * (cellEnd - t);
      if (mass < this.remaining) {
        this.remaining -= mass;
        t = cellEnd;
        continue;
      }
      t += this.remaining / r;
      out.push(t);
      this.remaining = this.nextGap();
    }
    this.cursor = horizon;
    return out;
  }

  /**
   * The run time of the next arrival if it comes before `limit` with the rate as it stands, else
   * `limit`. Consumes nothing: the gap to the next arrival is already drawn, so this only walks
   * the cells ahead. It lets a caller sleep until the next arrival instead of polling.
   */
  nextArrivalBefore(limit: number): number {
    let t = this.cursor;
    let remaining = this.remaining;
    while (t < limit) {
      const cellIndex = Math.floor(t / this.cell + 1e-9);
      const cellEnd = Math.min((cellIndex + 1) * this.cell, limit);
      const r = safeRate(this.rate, (cellIndex + 0.5) * this.cell);
      const mass = r * (cellEnd - t);
      if (mass < remaining) {
        remaining -= mass;
        t = cellEnd;
        continue;
      }
      return t + remaining / r;
    }
    return limit;
  }

  private nextGap(): number {
    if (this.process === 'even') return 1;
    // 1 - u lies in (0, 1], so the logarithm is finite.
    return -Math.log(1 - this.rng.next());
  }
}
