import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../src/random';
import { startClosedLoop, startLoad, type Scenario } from '../src/load/generator';
import { scheduledArrivals } from '../src/load/rate';
import { ArrivalScheduler } from '../src/load/scheduler';
import { toRateFunction } from '../src/load/rate';
import { parseProfileSpec } from '../src/load/profile-spec';
import { startTestTarget, type TestTarget } from '../src/load/test-target';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('arrival schedule (virtual time)', () => {
  const poissonCount = (seed: number, rate: (t: number) => number, horizon: number) =>
    new ArrivalScheduler(rate, { process: 'poisson', rng: new Rng(seed) }).advance(horizon);

  it('seeded Poisson arrivals are the same for the same seed and near λT', () => {
    const a = poissonCount(7, () => 50, 100);
    const b = poissonCount(7, () => 50, 100);
    const c = poissonCount(8, () => 50, 100);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    // 5000 expected, standard deviation about 71.
    assert.ok(Math.abs(a.length - 5000) < 300, `${a.length} arrivals`);
    assert.ok(a.every((t, i) => i === 0 || t > a[i - 1]));
  });

  it('advancing in small steps gives the same arrivals as one big step', () => {
    const whole = poissonCount(3, (t) => (t < 5 ? 20 : 200), 10);
    const scheduler = new ArrivalScheduler((t) => (t < 5 ? 20 : 200), { process: 'poisson', rng: new Rng(3) });
    const stepped: number[] = [];
    for (let h = 0.0007; h < 10; h += 0.0013) scheduler.advance(h, stepped);
    scheduler.advance(10, stepped);
    assert.equal(stepped.length, whole.length);
    stepped.forEach((t, i) => assert.ok(Math.abs(t - whole[i]) < 1e-9));
  });

  it('evenly spaced arrivals give an exact count, and the expected count matches', () => {
    const step = (t: number) => (t < 5 ? 10 : 40);
    const times = new ArrivalScheduler(step, { process: 'even', rng: new Rng(0) }).advance(10);
    assert.equal(times.length, 250);
    assert.ok(Math.abs(scheduledArrivals(step, 0, 10) - 250) < 1e-6);
    assert.equal(new ArrivalScheduler(() => 100, { process: 'even', rng: new Rng(0) }).advance(10).length, 1000);
  });

  it('a load profile drives the schedule: evenly spaced arrivals follow its steps exactly', () => {
    const profile = parseProfileSpec('steps:0=10,5=40');
    const times = new ArrivalScheduler(toRateFunction(profile), { process: 'even', rng: new Rng(0) }).advance(10);
    assert.equal(times.length, Math.round(profile.arrivals(0, 10)));
    assert.equal(times.filter((t) => t < 5).length, 50);
  });

  it('the next arrival can be seen before it is due, without changing the schedule', () => {
    const rate = (t: number) => (t < 0.5 ? 0 : 300);
    const peeking = new ArrivalScheduler(rate, { process: 'poisson', rng: new Rng(11) });
    const plain = new ArrivalScheduler(rate, { process: 'poisson', rng: new Rng(11) });
    const expected = plain.advance(2);
    const seen: number[] = [];
    for (let h = 0.001; h <= 2 + 1e-9; h += 0.001) {
      const next = peeking.nextArrivalBefore(h + 0.05);
      const before = seen.length;
      peeking.advance(h, seen);
      // Whatever arrived in this step was announced as the next arrival, and nothing earlier than it.
      if (seen.length > before) assert.ok(Math.abs(seen[before] - next) < 1e-9, `${seen[before]} vs ${next}`);
      else assert.ok(next >= h - 1e-9, `announced ${next} before ${h}`);
    }
    assert.equal(seen.length, expected.length);
    assert.ok(expected.length > 300, `${expected.length} arrivals`);
    // Within the zero-rate half second, nothing is announced before the limit.
    assert.equal(new ArrivalScheduler(rate, { process: 'even', rng: new Rng(0) }).nextArrivalBefore(0.2), 0.2);
  });

  it('a zero, negative or undefined rate produces nothing', () => {
    assert.equal(new ArrivalScheduler((t) => (t < 1 ? 0 : t < 2 ? -5 : NaN), { process: 'poisson', rng: new Rng(1) }).advance(3).length, 0);
  });
});

describe('the load generator against the local target', () => {
  let target: TestTarget;
  before(async () => {
    target = await startTestTarget({ serviceTimeMs: 1, seed: 5 });
  });
  after(() => target.close());

  it('sends evenly spaced arrivals on schedule and counts expected arrivals', async () => {
    target.configure({ serviceTimeMs: 1, errorRate: 0 });
    const run = startLoad(target.url, 200, { process: 'even' });
    await sleep(1000);
    const window = run.takeWindow();
    const totals = await run.stop();
    assert.equal(window.mode, 'open-loop');
    assert.ok(Math.abs(window.arrivals - 200 * window.endS) <= 1.5, `${window.arrivals} arrivals by ${window.endS}s`);
    assert.ok(Math.abs((window.expectedArrivals ?? 0) - 200 * window.endS) < 0.5, `${window.expectedArrivals} expected by ${window.endS}s`);
    assert.equal(window.dropped, 0);
    assert.equal(totals.requests.failedTotal, 0);
    assert.ok(totals.requests.ok >= window.arrivals, `${totals.requests.ok} ok of ${window.arrivals}`);
    assert.ok(totals.servedRatio !== null && totals.servedRatio > 0.9, `served ${totals.servedRatio}`);
    assert.ok(totals.sendLatenessMs.p50 < 20, `lateness p50 ${totals.sendLatenessMs.p50} ms`);
  });

  it('polls at high rates: the same schedule, the rate falls back to timers below the threshold, and stop ends the polling', async () => {
    target.configure({ serviceTimeMs: 1, errorRate: 0 });
    // Polls for the first half second (2,000/s >= 1,500), then sleeps on timers (500/s).
    const run = startLoad(target.url, (t) => (t < 0.5 ? 2000 : 500), { process: 'even', pollAboveRate: 1500 });
    await sleep(1000);
    const window = run.takeWindow();
    const totals = await run.stop();
    const expected = window.expectedArrivals ?? 0;
    assert.ok(Math.abs(expected - (1000 + 500 * (window.endS - 0.5))) < 1, `${expected} expected by ${window.endS}s`);
    assert.ok(Math.abs(window.arrivals - expected) <= 1.5, `${window.arrivals} arrivals, ${expected} expected`);
    assert.equal(window.dropped, 0);
    assert.equal(totals.requests.failedTotal, 0);
    // A poll left behind would keep this process busy after stop(): the test runner would not finish.
  });

  it('changes the rate between windows', async () => {
    const run = startLoad(target.url, 0, { process: 'even' });
    await sleep(300);
    const idle = run.takeWindow();
    run.setRate((t) => (t < 1000 ? 100 : 0));
    await sleep(500);
    const busy = run.takeWindow();
    await run.stop();
    assert.equal(idle.arrivals, 0);
    assert.equal(idle.expectedArrivals, 0);
    const duration = busy.endS - busy.startS;
    const expected = busy.expectedArrivals ?? 0;
    // The new rate counts from setRate, a moment after the window opened (longer if the machine is busy).
    assert.ok(expected <= 100 * duration + 1e-6 && expected > 100 * duration - 3, `${expected} expected in ${duration}s`);
    assert.ok(Math.abs(busy.arrivals - expected) <= 1, `${busy.arrivals} arrivals, ${expected} expected`);
  });

  it('times latency from the intended start, so a 1 s stall shows in p99 and max', async () => {
    target.configure({ serviceTimeMs: 1, errorRate: 0 });
    const run = startLoad(target.url, 100, { process: 'even', seed: 2 });
    await sleep(500);
    target.stall(1000);
    await sleep(1300);
    const totals = await run.stop();
    // Arrivals kept coming during the stall: about 180 in 1.8 s, none held back.
    assert.ok(totals.arrivals >= 160, `${totals.arrivals} arrivals`);
    assert.equal(totals.dropped, 0);
    // Far below the stall: the generator did not wait for the target.
    assert.ok(totals.sendLatenessMs.p99 < 400, `lateness p99 ${totals.sendLatenessMs.p99} ms`);
    // The first request of the stall waited about 1 s; about half the requests were held.
    assert.ok(totals.latencyMs.max >= 950 && totals.latencyMs.max < 1600, `max ${totals.latencyMs.max} ms`);
    assert.ok(totals.latencyMs.p99 >= 850, `p99 ${totals.latencyMs.p99} ms`);
    assert.ok(totals.latencyMs.p50 < 900, `p50 ${totals.latencyMs.p50} ms`);
  });

  it('drops arrivals beyond the cap on sessions in flight at once', async () => {
    target.configure({ serviceTimeMs: 2000, errorRate: 0 });
    const run = startLoad(target.url, 200, { process: 'even', maxSessionsInFlight: 20 });
    await sleep(500);
    const window = run.takeWindow();
    assert.equal(run.sessionsInFlight, 20);
    const totals = await run.stop({ drainMs: 0 });
    target.configure({ serviceTimeMs: 1 });
    assert.equal(window.sent, 20);
    assert.equal(window.dropped, window.arrivals - 20);
    assert.ok(window.dropped >= 60, `${window.dropped} dropped of ${window.arrivals}`);
    // Stopped without draining: the sessions in flight are aborted, not counted as failures.
    assert.equal(totals.requests.aborted, 20);
    assert.equal(totals.requests.failedTotal, 0);
  });

  it('counts HTTP errors and time-outs by reason', async () => {
    target.configure({ serviceTimeMs: 1, errorRate: 0.5 });
    const run = startLoad(target.url, 200, { process: 'even', timeoutMs: 300 });
    await sleep(500);
    const errors = run.takeWindow();
    target.configure({ errorRate: 0 });
    target.stall(700);
    await sleep(800);
    const stalled = run.takeWindow();
    await run.stop();
    const done = errors.requests.ok + errors.requests.failed.http;
    assert.ok(errors.requests.failed.http > 0.3 * done && errors.requests.failed.http < 0.7 * done, `${errors.requests.failed.http} of ${done}`);
    assert.equal(errors.requests.failed.connection, 0);
    // At 200/s, the 400 ms of the stall beyond the time-out hold about 80 arrivals that must time out.
    assert.ok(stalled.requests.failed.timeout >= 40, `${stalled.requests.failed.timeout} time-outs`);
    assert.ok(stalled.latencyMs.max >= 290, `max ${stalled.latencyMs.max} ms`);
  });

  it('counts an unreachable port as connection errors while the run continues', async () => {
    const gone = await startTestTarget();
    await gone.close();
    const run = startLoad(gone.url, 100, { process: 'even' });
    await sleep(300);
    const first = run.takeWindow();
    await sleep(300);
    const second = run.takeWindow();
    await run.stop();
    for (const w of [first, second]) {
      assert.ok(w.arrivals >= 20, `${w.arrivals} arrivals`);
      assert.ok(w.requests.failed.connection >= w.arrivals - 3, `${w.requests.failed.connection} connection errors of ${w.arrivals}`);
      assert.equal(w.requests.ok, 0);
      assert.equal(w.ok, 0);
    }
  });

  it('runs the eight-request browse session with cookies kept per session', async () => {
    target.configure({ serviceTimeMs: 1, errorRate: 0 });
    const before = { ...target.counts, byPage: { ...target.counts.byPage } };
    const run = startLoad(target.url, 40, { scenario: 'browse', seed: 4 });
    await sleep(600);
    const totals = await run.stop();
    assert.ok(totals.completed >= 10 && totals.completed === totals.ok, `${totals.completed} sessions`);
    assert.equal(totals.requests.ok, 8 * totals.completed);
    assert.deepEqual(Object.keys(totals.latencyByNameMs), ['add-to-cart', 'category', 'home', 'login', 'login-page', 'logout', 'product', 'profile']);
    const profiles = target.counts.byPage.profile - (before.byPage.profile ?? 0);
    assert.equal(profiles, totals.completed);
    assert.equal(target.counts.profileWithSession - before.profileWithSession, profiles);
  });

  it('a custom scenario that throws fails its session, not the run', async () => {
    const flaky: Scenario = async (session) => {
      const res = await session.request('first', 'GET', '/');
      if (session.rng.next() < 0.5) throw new Error(`unlucky after ${res.status}`);
      await session.request('second', 'GET', '/profile');
    };
    const run = startLoad(target.url, 100, { scenario: flaky, process: 'even', seed: 9 });
    await sleep(500);
    const totals = await run.stop();
    assert.ok(totals.completed >= 30, `${totals.completed} sessions`);
    assert.ok(totals.ok > 0.2 * totals.completed && totals.ok < 0.8 * totals.completed, `${totals.ok} ok of ${totals.completed}`);
    assert.equal(totals.requests.failedTotal, 0);
    assert.equal(totals.latencyByNameMs.first.count, totals.completed);
  });

  it('closed-loop mode is labelled in every output', async () => {
    target.configure({ serviceTimeMs: 1, errorRate: 0 });
    const paced = startClosedLoop(target.url, { users: 2, pacing: { iterationsPerSecondPerUser: 20 } });
    await sleep(1000);
    const window = paced.takeWindow();
    paced.setUsers(4);
    await sleep(300);
    const totals = await paced.stop();
    assert.equal(window.mode, 'closed-loop');
    assert.equal(totals.mode, 'closed-loop');
    assert.ok(Math.abs((window.expectedArrivals ?? 0) - 40 * window.endS) < 1);
    assert.ok(window.arrivals >= 30 && window.arrivals <= 44, `${window.arrivals} iterations`);
    assert.ok(totals.arrivals - window.arrivals >= 15, `${totals.arrivals - window.arrivals} iterations with 4 users`);

    const thinking = startClosedLoop(target.url, { users: 1, pacing: { thinkTimeMs: 20 } });
    await sleep(300);
    const thought = await thinking.stop();
    assert.equal(thought.mode, 'closed-loop');
    assert.equal(thought.expectedArrivals, null);
    assert.equal(thought.servedRatio, null);
    assert.ok(thought.arrivals >= 5);
  });
});
