import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../src/random';
import { LoadWorkerError, ParallelOpenLoop, startLoad, type LoadStats } from '../src/load/generator';
import { ArrivalScheduler } from '../src/load/scheduler';
import { StatsMerger, StatsRecorder } from '../src/load/stats';
import { startTestTarget, type TestTarget } from '../src/load/test-target';
import { workerSeeds } from '../src/load/workers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ROOT = path.resolve(__dirname, '..');

/** Runs `rl-autoscaler load` in a child process, so this process's event loop stays free for the target. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/rl-autoscaler.js', 'load', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('merging window statistics', () => {
  it("merged percentiles equal one histogram's over the same latencies", () => {
    const rng = new Rng(4);
    const whole = new StatsRecorder('open-loop');
    const parts = [new StatsRecorder('open-loop'), new StatsRecorder('open-loop'), new StatsRecorder('open-loop')];
    for (let i = 0; i < 5000; i++) {
      // A heavy tail: mostly a few ms, sometimes seconds.
      const latency = rng.next() < 0.02 ? 1000 + 3000 * rng.next() : 1 + 20 * rng.next();
      const outcome = rng.next() < 0.05 ? 'http' : 'ok';
      const name = rng.next() < 0.5 ? 'home' : 'login';
      for (const r of [whole, parts[i % 3]]) {
        r.arrival();
        r.sessionStarted(latency / 100);
        r.request(name, outcome, latency);
        r.sessionEnded(outcome === 'ok', latency);
      }
    }
    const expected = whole.takeWindow(0, 1, 5000);
    const merger = new StatsMerger('open-loop');
    const merged = merger.window(parts.map((p) => p.exportWindow(false)), 0, 1, 5000);
    assert.deepEqual(merged, expected);
    assert.ok(expected.latencyMs.p99 > 1000, `p99 ${expected.latencyMs.p99}`);
    // The merged window went into the totals, and the exported windows were reset.
    assert.deepEqual(merger.totals(parts.map((p) => p.exportWindow(true)), 0, 1, 5000), expected);
  });
});

describe('the load generator on worker threads', () => {
  let target: TestTarget;
  before(async () => {
    target = await startTestTarget({ serviceTimeMs: 1, seed: 5 });
  });
  after(() => target.close());

  /** Arrivals in the first second at 300/s, then none: the count does not depend on when the run is stopped. */
  const burst = (t: number) => (t < 1 ? 300 : 0);

  async function arrivalsOf(options: Parameters<typeof startLoad>[2]): Promise<number> {
    const run = startLoad(target.url, burst, options) as ParallelOpenLoop;
    await run.ready;
    await sleep(1300);
    const totals = await run.stop();
    assert.equal(totals.dropped, 0);
    assert.equal(totals.requests.failedTotal, 0);
    assert.equal(totals.ok, totals.arrivals);
    assert.ok(Math.abs((totals.expectedArrivals ?? 0) - 300) < 1e-6, `expected ${totals.expectedArrivals}`);
    return totals.arrivals;
  }

  it('Poisson counts are deterministic per seed: the superposition of each worker\'s seeded schedule at λ/2', async () => {
    const offline = (seed: number) =>
      workerSeeds(seed, 2).reduce((sum, workerSeed) => {
        // A run draws its arrival stream as the first fork of its seed's generator (run.ts).
        const rng = new Rng(workerSeed).fork();
        return sum + new ArrivalScheduler((t) => burst(t) / 2, { process: 'poisson', rng }).advance(1.2).length;
      }, 0);
    const [a, b] = [await arrivalsOf({ workers: 2, seed: 11 }), await arrivalsOf({ workers: 2, seed: 11 })];
    assert.equal(a, b);
    assert.equal(a, offline(11));
    assert.notEqual(offline(11), offline(12), 'the seeds should give different counts for this check to mean anything');
    assert.equal(await arrivalsOf({ workers: 2, seed: 12 }), offline(12));
  });

  it('evenly spaced arrivals interleave into the single generator\'s schedule', async () => {
    assert.equal(await arrivalsOf({ workers: 2, process: 'even', seed: 1 }), 300);
    const perWorker = [0, 1].map((k) => new ArrivalScheduler((t) => burst(t) / 2, { process: 'even', rng: new Rng(0), evenPhase: (k + 0.5) / 2 }).advance(1.2));
    const merged = [...perWorker[0], ...perWorker[1]].sort((x, y) => x - y);
    const single = new ArrivalScheduler(burst, { process: 'even', rng: new Rng(0) }).advance(1.2);
    assert.equal(merged.length, single.length);
    merged.forEach((t, i) => assert.ok(Math.abs(t - single[i]) < 1e-9, `${t} vs ${single[i]}`));
  });

  it('merges windows, follows setRate and feeds the observer, with browse sessions and their cookies', async () => {
    let observedArrivals = 0;
    let observedRequests = 0;
    const observer = { onArrival: (n: number) => (observedArrivals += n), onRequest: () => observedRequests++ };
    const run = startLoad(target.url, 0, { workers: 2, process: 'even', seed: 3, observer, scenario: 'browse' }) as ParallelOpenLoop;
    await run.ready;
    await sleep(200);
    const idle = run.takeWindow();
    run.setRate(100);
    await sleep(600);
    const busy = run.takeWindow();
    const totals = await run.stop();
    assert.equal(idle.arrivals, 0);
    const expected = busy.expectedArrivals ?? 0;
    assert.ok(expected > 45, `${expected} expected`);
    // The workers learn of the new rate a message later than this thread, and answer a moment after the window's end.
    assert.ok(Math.abs(busy.arrivals - expected) <= 6, `${busy.arrivals} arrivals, ${expected} expected`);
    assert.equal(totals.arrivals, idle.arrivals + busy.arrivals + (totals.arrivals - idle.arrivals - busy.arrivals));
    assert.ok(totals.arrivals >= busy.arrivals);
    assert.equal(observedArrivals, totals.arrivals);
    assert.equal(observedRequests, totals.requests.sent);
    assert.equal(totals.requests.sent, 8 * totals.sent);
    assert.equal(totals.requests.failedTotal, 0);
    // Each logged-in session sent its cookie with the profile request.
    assert.ok(target.counts.profileWithSession >= totals.completed, `${target.counts.profileWithSession} profiles with a session`);
    assert.equal(run.sessionsInFlight, 0);
    // Each worker opened sockets of its own, within its share of the cap.
    assert.ok(run.socketsOpened >= 2 && run.socketsOpened <= 256, `${run.socketsOpened} sockets`);
  });

  it('a worker that dies gives a clear error and loses no completed window', async () => {
    const run = startLoad(target.url, 200, { workers: 2, process: 'even', seed: 2 }) as ParallelOpenLoop;
    await run.ready;
    await sleep(400);
    const first = run.takeWindow();
    assert.ok(first.sent > 40, `${first.sent} sent`);
    run.crashWorker(1);
    await sleep(300);
    assert.throws(
      () => run.takeWindow(),
      (err: unknown) => {
        assert.ok(err instanceof LoadWorkerError);
        assert.match(err.message, /load worker 2 of 2 threw .*crashed on request/);
        assert.equal(err.completed.sent, first.sent);
        assert.equal(err.completed.requests.ok, first.requests.ok);
        assert.equal(err.completed.arrivals, first.arrivals);
        return true;
      },
    );
    await assert.rejects(run.stop(), LoadWorkerError);
  });

  it('refuses what a worker thread cannot run, before anything is sent', () => {
    assert.throws(() => startLoad(target.url, 10, { workers: 2, scenario: async () => undefined }), /named scenario/);
    assert.throws(() => startLoad(target.url, 10, { workers: 0 }), /workers must be a whole number/);
    assert.throws(() => startLoad('not a url', 10, { workers: 2 }), /Invalid URL/);
  });
});

describe('rl-autoscaler load --workers', () => {
  let target: TestTarget;
  before(async () => {
    target = await startTestTarget({ serviceTimeMs: 1, seed: 6 });
  });
  after(() => target.close());

  it('runs an open loop on two worker threads and prints consistent JSON totals', async () => {
    const before = target.counts.requests;
    const r = await cli(['--target', target.url, '--profile', 'constant:200', '--duration', '1500ms', '--process', 'even', '--workers', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as LoadStats & { workers: number };
    assert.equal(out.workers, 2);
    assert.match(r.stderr, /on 2 worker threads/);
    assert.ok(out.expectedArrivals !== null && Math.abs(out.expectedArrivals - 300) < 3, `${out.expectedArrivals} expected`);
    assert.ok(Math.abs(out.arrivals - out.expectedArrivals) <= 6, `${out.arrivals} arrivals`);
    assert.equal(out.arrivals, out.sent + out.dropped);
    assert.equal(out.ok, out.completed);
    assert.equal(out.requests.failedTotal, 0);
    assert.equal(target.counts.requests - before, out.requests.ok);
  });

  it('refuses --workers 0 and --workers with a closed loop, before anything is sent', async () => {
    const before = target.counts.requests;
    const zero = await cli(['--target', target.url, '--profile', 'constant:10', '--duration', '1s', '--workers', '0']);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--workers must be positive/);
    const closed = await cli(['--target', target.url, '--closed-loop-users', '2', '--duration', '1s', '--workers', '2']);
    assert.equal(closed.code, 2);
    assert.match(closed.stderr, /--workers is for the open loop/);
    assert.equal(target.counts.requests, before);
  });
});
