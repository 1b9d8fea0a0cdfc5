import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LoadProfile, ProfileError, expectedArrivals } from '../src/load/profile';
import { constantProfile, rampProfile, randomWalkProfile, sineProfile, stepsProfile } from '../src/load/profile-shapes';
import { concatProfiles, scaleProfile, scaleToPeak, stretchProfile, withDuration } from '../src/load/profile-transform';
import { loadProfileFile, parseHttpLoadGeneratorCsv, parseTimeRateCsv } from '../src/load/profile-csv';
import { APP2SCALE_DAILY_USERS_PATH, app2scaleDailyProfile, loadApp2scaleDailyUsers, parseApp2scaleDailyUsers } from '../src/load/profile-app2scale';
import { parseDurationSeconds, parseProfileSpec } from '../src/load/profile-spec';

function close(actual: number, expected: number, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${actual} is not close to ${expected}`);
}

/** Midpoint-rule integral of the rate over [t0, t1), for checking the exact ones. */
function numericArrivals(p: LoadProfile, t0: number, t1: number, steps = 200_000): number {
  const h = (t1 - t0) / steps;
  let sum = 0;
  for (let i = 0; i < steps; i++) sum += p.rate(t0 + (i + 0.5) * h);
  return sum * h;
}

function writeTemp(name: string, content: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rl-profile-'));
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** Asserts fn throws a ProfileError whose message contains every fragment. */
function throwsProfileError(fn: () => unknown, ...fragments: string[]): ProfileError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProfileError, `expected a ProfileError, got ${String(caught)}`);
  for (const f of fragments) assert.ok(caught.message.includes(f), `${JSON.stringify(caught.message)} lacks ${JSON.stringify(f)}`);
  return caught;
}

test('each shape gives the expected rate at chosen times', () => {
  const c = constantProfile(100);
  assert.deepEqual([c.rate(0), c.rate(1e6), c.rate(-1)], [100, 100, 0]);

  const r = rampProfile(10, 200, 300);
  assert.deepEqual([r.rate(0), r.rate(150), r.rate(299.999) > 199.9, r.rate(300)], [10, 105, true, 0]);
  assert.equal(r.durationSeconds, 300);

  const s = stepsProfile([{ atSeconds: 0, rate: 50 }, { atSeconds: 60, rate: 200 }, { atSeconds: 120, rate: 100 }]);
  assert.deepEqual([s.rate(0), s.rate(59.9), s.rate(60), s.rate(119), s.rate(5000)], [50, 50, 200, 200, 100]);

  const sine = sineProfile({ mean: 100, amplitude: 50, periodSeconds: 86400 });
  close(sine.rate(0), 100);
  close(sine.rate(21600), 150);
  close(sine.rate(64800), 50);
  const shifted = sineProfile({ mean: 100, amplitude: 50, periodSeconds: 86400, phaseSeconds: 21600 });
  close(shifted.rate(0), 150);

  const walk = randomWalkProfile({ start: 100, stepSize: 10, seed: 1, intervalSeconds: 10 });
  assert.equal(walk.rate(0), 100);
  assert.equal(walk.rate(9.99), 100);
  assert.ok([90, 110].includes(walk.rate(10)));
});

test('arrivals are the exact integral of the rate (checked by a numeric sum)', () => {
  const profiles: [LoadProfile, number, number][] = [
    [constantProfile(100), 3.3, 77.7],
    [rampProfile(10, 200, 300), -20, 400],
    [rampProfile(200, 0, 60), 12.5, 47.25],
    [stepsProfile([{ atSeconds: 0, rate: 50 }, { atSeconds: 60, rate: 200 }, { atSeconds: 120, rate: 100 }], 200), 30, 250],
    [sineProfile({ mean: 100, amplitude: 50, periodSeconds: 3600, phaseSeconds: 600 }), 100, 5000],
    [randomWalkProfile({ start: 50, stepSize: 5, seed: 7, intervalSeconds: 7, min: 20, max: 80 }), 3, 500],
    [app2scaleDailyProfile({ stepSeconds: 10, interpolation: 'linear' }), 0, 1130],
    [concatProfiles([rampProfile(0, 100, 50), constantProfile(30, 20), sineProfile({ mean: 40, amplitude: 40, periodSeconds: 30 })]), 10, 200],
    [stretchProfile(rampProfile(0, 100, 50), 2.5), 0, 200],
    [scaleProfile(sineProfile({ mean: 10, amplitude: 5, periodSeconds: 20 }), 3), 1, 99],
    [withDuration(constantProfile(10), 30), 0, 60],
  ];
  for (const [p, t0, t1] of profiles) {
    close(expectedArrivals(p, t0, t1), numericArrivals(p, t0, t1), 1e-5);
    // Additive over adjacent windows.
    const mid = (t0 + t1) / 2;
    close(p.arrivals(t0, mid) + p.arrivals(mid, t1), p.arrivals(t0, t1), 1e-9);
  }
  close(constantProfile(100).arrivals(0, 60), 6000);
  close(rampProfile(10, 200, 300).arrivals(0, 300), 0.5 * (10 + 200) * 300);
  assert.throws(() => expectedArrivals(constantProfile(1), 5, 4), ProfileError);
});

test('the random walk is the same for a seed, in any order asked, and differs across seeds', () => {
  const make = (seed: number) => randomWalkProfile({ start: 100, stepSize: 10, seed, intervalSeconds: 1, min: 0, max: 200 });
  const times = Array.from({ length: 500 }, (_, i) => i + 0.5);
  const a = times.map((t) => make(1).rate(t));
  const backwards = make(1);
  const b = [...times].reverse().map((t) => backwards.rate(t)).reverse();
  assert.deepEqual(a, b);
  const c = times.map((t) => make(2).rate(t));
  assert.notDeepEqual(a, c);
  for (const v of a) assert.ok(v >= 0 && v <= 200);
  const bounded = randomWalkProfile({ start: 5, stepSize: 10, seed: 3, intervalSeconds: 1, min: 0, max: 10 });
  for (let t = 0; t < 200; t++) assert.ok([0, 5, 10].includes(bounded.rate(t)), `rate ${bounded.rate(t)} at ${t}`);
});

test('stretch, scale, peak, cut and concatenation', () => {
  const ramp = rampProfile(0, 100, 60);
  const slow = stretchProfile(ramp, 2);
  assert.equal(slow.durationSeconds, 120);
  close(slow.rate(60), 50);
  close(slow.arrivals(0, 120), 2 * ramp.arrivals(0, 60));
  const fast = stretchProfile(ramp, 0.5);
  close(fast.rate(15), 50);
  assert.equal(scaleProfile(ramp, 3).rate(30), 150);
  const peaked = scaleToPeak(sineProfile({ mean: 100, amplitude: 50, periodSeconds: 100 }), 300);
  close(peaked.rate(25), 300);
  assert.equal(peaked.peakRate, 300);
  throwsProfileError(() => scaleToPeak(randomWalkProfile({ start: 1, stepSize: 1, seed: 1 }), 10), 'no finite peak');
  const cut = withDuration(constantProfile(10), 30);
  assert.deepEqual([cut.rate(29), cut.rate(30), cut.durationSeconds], [10, 0, 30]);
  const both = concatProfiles([ramp, constantProfile(7, 10)]);
  assert.deepEqual([both.rate(30), both.rate(65), both.rate(70), both.durationSeconds], [50, 7, 0, 70]);
  close(both.arrivals(0, 70), 3000 + 70);
  throwsProfileError(() => concatProfiles([constantProfile(1), constantProfile(2)]), 'unbounded');
});

test('HTTP Load Generator files: midpoint timestamps, no header, step or linear between points', () => {
  const text = '0.5,10\n1.5,20;\n2.5,30\n';
  const held = parseHttpLoadGeneratorCsv(text, 'lg.csv');
  assert.equal(held.durationSeconds, 3);
  assert.deepEqual([held.rate(0), held.rate(0.99), held.rate(1), held.rate(2.9), held.rate(3)], [10, 10, 20, 30, 0]);
  close(held.arrivals(0, 3), 60);
  const linear = parseHttpLoadGeneratorCsv(text, 'lg.csv', 'linear');
  assert.deepEqual([linear.rate(0.25), linear.rate(0.5), linear.rate(1), linear.rate(2.75)], [10, 10, 15, 30]);
  close(linear.arrivals(0, 3), 0.5 * 10 + 15 + 25 + 0.5 * 30);
  // Half-second intervals.
  const half = parseHttpLoadGeneratorCsv('0.25,4\n0.75,8\n', 'half.csv');
  assert.deepEqual([half.durationSeconds, half.rate(0.6)], [1, 8]);
  // The bundled example shape of the HTTP Load Generator's README.
  const detected = loadProfileFile(writeTemp('curve.csv', '0.5,4.4\n1.5,31.7\n2.5,86.1\n'));
  assert.equal(detected.rate(1.2), 31.7);
});

test('time-rate files: a header with the unit, step or linear between rows', () => {
  const perSecond = parseTimeRateCsv('time_s,rate_per_s\n0,50\n60,200\n120,100\n', 'r.csv');
  assert.equal(perSecond.durationSeconds, 180);
  assert.deepEqual([perSecond.rate(30), perSecond.rate(60), perSecond.rate(179)], [50, 200, 100]);
  const linear = parseTimeRateCsv('time_s,rate_per_s\n0,50\n60,200\n120,100\n', 'r.csv', 'linear');
  assert.equal(linear.durationSeconds, 120);
  assert.equal(linear.rate(30), 125);
  close(linear.arrivals(0, 120), 0.5 * (50 + 200) * 60 + 0.5 * (200 + 100) * 60);
  const perMinute = parseTimeRateCsv('time_s,rate_per_min\r\n0,600\r\n30,1200\r\n', 'm.csv');
  assert.deepEqual([perMinute.rate(0), perMinute.rate(45)], [10, 20]);
  const file = writeTemp('r.csv', 'time_s,rate_per_s\n0,1\n10,2\n');
  assert.equal(loadProfileFile(file, { interpolation: 'linear' }).rate(5), 1.5);
});

test('bad files name the file, line and value', () => {
  const lg = (text: string) => () => parseHttpLoadGeneratorCsv(text, 'lg.csv');
  const tr = (text: string) => () => parseTimeRateCsv(text, 'tr.csv');
  let e = throwsProfileError(lg('0.5,10\n1.5,-3\n'), 'lg.csv:2', '-3', 'negative');
  assert.deepEqual([e.source, e.line, e.value], ['lg.csv', 2, '-3']);
  throwsProfileError(lg('0.5,10\n1.5,NaN\n'), 'lg.csv:2', 'NaN', 'not a finite number');
  throwsProfileError(lg('0.5,10\n1.5,1e999\n'), 'lg.csv:2', '1e999', 'not finite');
  throwsProfileError(lg('0.5,10\n2.5,20\n1.5,30\n'), 'lg.csv:3', '1.5', 'sorted');
  throwsProfileError(lg('0.5,10\n0.5,20\n'), 'lg.csv:2', 'duplicate time 0.5');
  throwsProfileError(lg('0.5,10\n1.5,20\n3.5,30\n'), 'lg.csv:3', '3.5', 'intervals must be equal');
  throwsProfileError(lg('1,10\n2,20\n'), 'lg.csv:1', 'middle of the first');
  throwsProfileError(lg('time,rate\n0.5,10\n'), 'lg.csv:1', 'time,rate', 'no header');
  throwsProfileError(lg('\n\n'), 'lg.csv', 'empty');
  throwsProfileError(tr(''), 'tr.csv', 'empty');
  e = throwsProfileError(tr('time,rate\n0,1\n1,2\n'), 'tr.csv:1', 'unexpected header "time,rate"', 'time_s,rate_per_s');
  assert.equal(e.line, 1);
  throwsProfileError(tr('time_s,rate_per_s\n0,1\n5,x\n'), 'tr.csv:3', '"x"');
  throwsProfileError(tr('time_s,rate_per_s\n0,1\n5,-2\n'), 'tr.csv:3', '-2', 'negative');
  throwsProfileError(tr('time_s,rate_per_s\n0,1\n5,2\n5,3\n'), 'tr.csv:4', 'duplicate time 5');
  throwsProfileError(tr('time_s,rate_per_s\n0,1\n5,2\n4,3\n'), 'tr.csv:4', '4', 'sorted');
  throwsProfileError(tr('time_s,rate_per_s\n1,1\n5,2\n'), 'tr.csv:2', 'first time must be 0');
  throwsProfileError(tr('time_s,rate_per_s\n0,1\n'), 'tr.csv', 'at least two data rows');
  throwsProfileError(() => loadProfileFile(path.join(tmpdir(), 'no-such-profile.csv')), 'no-such-profile.csv', 'cannot read');
});

test('the shipped app2scale shape: 113 daily values of 3..21 users, read as 8 requests/s per user', () => {
  const days = loadApp2scaleDailyUsers();
  assert.equal(days.length, 113);
  const users = days.map((d) => d.users);
  assert.equal(Math.min(...users), 3);
  assert.equal(Math.max(...users), 21);
  assert.deepEqual(users.slice(0, 8), [3, 3, 4, 4, 5, 4, 4, 3]);
  assert.deepEqual([days[0].date, days[112].date], ['2016-03-26', '2020-12-13']);
  const p = app2scaleDailyProfile({ stepSeconds: 30 });
  assert.equal(p.durationSeconds, 113 * 30);
  assert.deepEqual([p.rate(0), p.rate(31), p.rate(113 * 30 - 1), p.peakRate], [24, 24, 72, 168]);
  close(p.arrivals(0, p.durationSeconds), users.reduce((a, u) => a + u, 0) * 8 * 30);
  throwsProfileError(() => parseApp2scaleDailyUsers('day,date,users\n1,2020-01-01,0\n', 'u.csv'), 'u.csv:2', '"0"');
  throwsProfileError(() => parseApp2scaleDailyUsers('day,users\n', 'u.csv'), 'u.csv:1', 'unexpected header');
  assert.ok(APP2SCALE_DAILY_USERS_PATH.endsWith(path.join('data', 'load', 'app2scale-daily-users.csv')));
});

test('durations in specs', () => {
  assert.deepEqual(['30s', '5m', '1h', '24h', '1.5h', '250ms', '90', '1d'].map(parseDurationSeconds), [30, 300, 3600, 86400, 5400, 0.25, 90, 86400]);
  assert.ok(Number.isNaN(parseDurationSeconds('5 minutes')));
});

test('profile specs build each kind', () => {
  assert.equal(parseProfileSpec('constant:100').rate(5), 100);
  const ramp = parseProfileSpec('ramp:10:200:5m');
  assert.deepEqual([ramp.durationSeconds, ramp.rate(150), ramp.name], [300, 105, 'ramp:10:200:5m']);
  const steps = parseProfileSpec('steps:0=50,60=200,2m=100');
  assert.deepEqual([steps.rate(10), steps.rate(61), steps.rate(200)], [50, 200, 100]);
  const sine = parseProfileSpec('sine:100:50:24h:phase=6h');
  close(sine.rate(0), 150);
  const walk1 = parseProfileSpec('walk:100:10:seed=1:every=10s:max=150');
  const walk1again = parseProfileSpec('walk:100:10:seed=1:every=10s:max=150');
  const times = Array.from({ length: 100 }, (_, i) => i * 10);
  assert.deepEqual(times.map(walk1.rate), times.map(walk1again.rate));
  assert.ok(times.every((t) => walk1.rate(t) <= 150));
  const dir = path.dirname(writeTemp('p.csv', 'time_s,rate_per_s\n0,1\n10,3\n'));
  assert.equal(parseProfileSpec('file:p.csv:interp=linear', { baseDir: dir }).rate(5), 2);
  assert.equal(parseProfileSpec(`file:${path.join(dir, 'p.csv')}`).rate(5), 1);
  const app = parseProfileSpec('app2scale:2m');
  assert.deepEqual([app.durationSeconds, app.rate(0)], [113 * 120, 24]);
  assert.equal(parseProfileSpec('app2scale:per-user=1').rate(0), 3);
});

test('profile specs reshape and concatenate', () => {
  const p = parseProfileSpec('ramp:0:100:1m:stretch=2+constant:50:for=30s');
  assert.equal(p.durationSeconds, 150);
  close(p.rate(60), 50);
  assert.equal(p.rate(130), 50);
  assert.equal(p.rate(150), 0);
  assert.equal(parseProfileSpec('constant:10:x=2.5').rate(0), 25);
  close(parseProfileSpec('sine:100:50:1h:peak=600').rate(900), 600);
  assert.equal(parseProfileSpec('app2scale:peak=100').peakRate, 100);
  assert.equal(parseProfileSpec('constant:1e+2').rate(0), 100);
});

test('bad specs name the spec and the bad part', () => {
  const cases: [string, string, string][] = [
    ['', '', 'empty'],
    ['bogus:1', '"bogus"', 'unknown profile kind'],
    ['constant:-5', '"-5"', 'negative'],
    ['constant:abc', '"abc"', 'not a number'],
    ['constant:100:q=1', '"q=1"', 'unknown option q'],
    ['ramp:10:200', '"ramp:10:200"', 'ramp:FROM:TO:DURATION'],
    ['ramp:10:200:5 minutes', '"5 minutes"', 'not a duration'],
    ['steps:0=50,60=200,60=100', '"60=100"', 'duplicate step time'],
    ['steps:0=50,60=200,30=100', '"30=100"', 'must increase'],
    ['steps:10=50', '"10=50"', 'first step must be at time 0'],
    ['steps:0=50,60', '"60"', 'TIME=RATE'],
    ['sine:10:20:1h', '"sine:10:20:1h"', 'exceeds the mean'],
    ['walk:100:10', '"walk:100:10"', 'seed=N'],
    ['walk:100:10:seed=x', '"seed=x"', 'non-negative integer'],
    ['walk:100:10:seed=1:peak=5', '"peak=5"', 'no finite peak'],
    ['file:p.csv:interp=cubic', '"interp=cubic"', 'interp=step or interp=linear'],
    ['constant:1+constant:2', '"constant:1"', 'unbounded'],
  ];
  for (const [spec, part, why] of cases) {
    const e = throwsProfileError(() => parseProfileSpec(spec), spec === '' ? 'profile spec' : `profile spec ${JSON.stringify(spec)}`, why);
    if (spec !== '') assert.ok(e.message.includes(part), `${e.message} lacks ${part}`);
    assert.equal(e.source, spec);
  }
  // A bad file inside a spec: the file's error, with its line and value.
  const file = writeTemp('bad.csv', 'time_s,rate_per_s\n0,1\n10,-1\n');
  const e = throwsProfileError(() => parseProfileSpec(`file:${file}`), `${file}:3`, '-1', 'negative');
  assert.deepEqual([e.source, e.line, e.value], [file, 3, '-1']);
});
