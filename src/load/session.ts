/**
 * One run of a scenario: a cookie jar, the request helper handed to the scenario, and the timing
 * rule that keeps latency free of coordinated omission. A session's first request is timed from
 * the session's intended start, so time lost before sending (a late timer, a busy event loop)
 * counts as latency; later requests follow their predecessor's response and are timed from their
 * own send.
 */
import { performance } from 'node:perf_hooks';
import type { Rng } from '../random';
import type { HttpMethod, RequestResult, Scenario, ScenarioSession } from './scenarios';
import type { StatsRecorder } from './stats';
import type { HttpTarget } from './target';

export class Session implements ScenarioSession {
  private readonly cookies = new Map<string, string>();
  private firstRequest = true;
  private allOk = true;

  constructor(
    private readonly target: HttpTarget,
    private readonly stats: StatsRecorder,
    readonly rng: Rng,
    /** performance.now() at which the session was meant to start. */
    private readonly intendedStartMs: number,
  ) {}

  async request(name: string, method: HttpMethod, path: string): Promise<RequestResult> {
    const sentAt = performance.now();
    const timedFrom = this.firstRequest ? this.intendedStartMs : sentAt;
    if (this.firstRequest) {
      this.stats.sessionStarted(sentAt - this.intendedStartMs);
      this.firstRequest = false;
    }
    const headers = this.cookies.size > 0 ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
    const result = await this.target.send(method, path, headers);
    this.stats.request(name, result.outcome, performance.now() - timedFrom);
    for (const line of result.setCookies) this.storeCookie(line);
    const ok = result.outcome === 'ok';
    if (!ok) this.allOk = false;
    return { ok, outcome: result.outcome, status: result.status };
  }

  /** Runs the scenario to its end; an exception thrown by a user scenario fails the session, never the run. */
  async run(scenario: Scenario): Promise<void> {
    try {
      await scenario(this);
    } catch {
      this.allOk = false;
    }
    if (this.firstRequest) this.stats.sessionStarted(performance.now() - this.intendedStartMs);
    this.stats.sessionEnded(this.allOk, performance.now() - this.intendedStartMs);
  }

  private storeCookie(line: string): void {
    const pair = line.split(';', 1)[0];
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    // An expired or emptied cookie (as on logout) is removed.
    if (value === '' || /;\s*max-age=0/i.test(line)) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}
