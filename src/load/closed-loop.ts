/**
 * Closed-loop load as Locust makes it, to reproduce the original: N users, each running the
 * scenario, then waiting (a think time, or Locust's constant_throughput pacing), then running it
 * again. A slow target slows the arrivals down, so latencies here understate what users of an
 * open system would see; every statistic says `closed-loop`.
 */
import { performance } from 'node:perf_hooks';
import { LoadRun, type CommonLoadOptions } from './run';

/** Think time after each iteration, or iterations per second per user (Locust's constant_throughput). */
export type Pacing = { thinkTimeMs: number } | { iterationsPerSecondPerUser: number };

export interface ClosedLoopOptions extends CommonLoadOptions {
  users: number;
  pacing: Pacing;
}

export class ClosedLoopGenerator extends LoadRun {
  private readonly pacing: Pacing;
  /** Indices of the users whose loops are running. */
  private readonly activeUsers = new Set<number>();
  /** Users with an index at or above the target count finish their iteration and leave. */
  private targetUsers = 0;
  private running = true;
  private readonly sleeps = new Map<NodeJS.Timeout, () => void>();
  private expectedUpTo = 0;

  constructor(targetUrl: string, options: ClosedLoopOptions) {
    super('closed-loop', targetUrl, options);
    this.pacing = options.pacing;
    this.setUsers(options.users);
  }

  get userCount(): number {
    return this.targetUsers;
  }

  /** Changes the number of users: new ones start at once, surplus ones leave after their current iteration. */
  setUsers(users: number): void {
    this.catchUp();
    this.targetUsers = Math.max(0, Math.floor(users));
    if (!this.running) return;
    for (let i = 0; i < this.targetUsers; i++) if (!this.activeUsers.has(i)) void this.userLoop(i);
  }

  private async userLoop(index: number): Promise<void> {
    this.activeUsers.add(index);
    while (this.running && index < this.targetUsers) {
      const start = performance.now();
      this.stats.arrival();
      await this.launch(start);
      if (!this.running) break;
      const elapsed = performance.now() - start;
      const waitMs = 'thinkTimeMs' in this.pacing ? this.pacing.thinkTimeMs : Math.max(0, 1000 / this.pacing.iterationsPerSecondPerUser - elapsed);
      if (waitMs > 0) await this.sleep(waitMs);
    }
    this.activeUsers.delete(index);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeps.delete(timer);
        resolve();
      }, ms);
      this.sleeps.set(timer, resolve);
    });
  }

  protected override catchUp(): number {
    const now = this.nowS();
    if (this.running && 'iterationsPerSecondPerUser' in this.pacing) {
      this.addExpected(this.targetUsers * this.pacing.iterationsPerSecondPerUser * (now - this.expectedUpTo));
    }
    this.expectedUpTo = now;
    return now;
  }

  protected override halt(): void {
    this.running = false;
    // Sleeping users wake at once and see the run has stopped.
    for (const [timer, wake] of this.sleeps) {
      clearTimeout(timer);
      wake();
    }
    this.sleeps.clear();
  }

  protected override promisesRate(): boolean {
    return 'iterationsPerSecondPerUser' in this.pacing;
  }
}

/** Starts a closed-loop run: `users` users running the scenario against `targetUrl`. */
export function startClosedLoop(targetUrl: string, options: ClosedLoopOptions): ClosedLoopGenerator {
  return new ClosedLoopGenerator(targetUrl, options);
}
