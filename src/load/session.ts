/**
 * One run of a scenario: a cookie jar, the request helper handed to the scenario, and the timing
 * rule that keeps latency free of coordinated omission. A session's first request is timed from
 * the session's intended start, so time lost before sending (a late timer, a busy event loop)
 * counts as latency; later requests follow their predecessor's response and are timed from their
 * own send.
 */
import { performance } from 'node:perf_hooks';
import { Rng } from '../random';
import type { HttpMethod, RequestResult, Scenario, ScenarioSession } from './scenarios';
import type { StatsRecorder } from './stats';
import type { HttpTarget } from './target';

export class Session implements ScenarioSession {
  /** The Cookie header to send: `name=value` pairs joined by `; ` (empty when none). */
  private cookie = '';
  private firstRequest = true;
  private allOk = true;
  private ownRng: Rng | null = null;

  constructor(
    private readonly target: HttpTarget,
    private readonly stats: StatsRecorder,
    /** Seeds the session's generator, built only if the scenario asks for it (`home` never does). */
    private readonly rngSeed: number,
    /** performance.now() at which the session was meant to start. */
    private readonly intendedStartMs: number,
  ) {}

  get rng(): Rng {
    return (this.ownRng ??= new Rng(this.rngSeed));
  }

  async request(name: string, method: HttpMethod, path: string): Promise<RequestResult> {
    const sentAt = performance.now();
    const timedFrom = this.firstRequest ? this.intendedStartMs : sentAt;
    if (this.firstRequest) {
      this.stats.sessionStarted(sentAt - this.intendedStartMs);
      this.firstRequest = false;
    }
    const result = await this.target.send(method, path, this.cookie || undefined);
    this.stats.request(name, result.outcome, performance.now() - timedFrom);
    if (result.setCookies.length > 0) this.cookie = mergeCookies(this.cookie, result.setCookies);
    const ok = result.outcome === 'ok';
    if (!ok) this.allOk = false;
    return { ok, outcome: result.outcome, status: result.status };
  }

  /**
   * Runs the scenario to its end, then calls `onEnd`; an exception thrown by a user scenario
   * fails the session, never the run.
   */
  async run(scenario: Scenario, onEnd?: () => void): Promise<void> {
    try {
      await scenario(this);
    } catch {
      this.allOk = false;
    }
    if (this.firstRequest) this.stats.sessionStarted(performance.now() - this.intendedStartMs);
    this.stats.sessionEnded(this.allOk, performance.now() - this.intendedStartMs);
    onEnd?.();
  }
}

/**
 * The Cookie header after a response's Set-Cookie lines: a cookie is added or replaced, and an
 * emptied or expired one (as on logout) is removed. Only responses that set cookies pay for this.
 */
export function mergeCookies(header: string, setCookies: readonly string[]): string {
  const jar = new Map<string, string>();
  for (const pair of header ? header.split('; ') : []) {
    const eq = pair.indexOf('=');
    jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  for (const line of setCookies) {
    const pair = line.split(';', 1)[0];
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === '' || /;\s*max-age=0/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}
