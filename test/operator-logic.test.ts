/** Unit tests of the operator's decision logic: spec checks, safety guard, stabilisation, fallback, conditions, retry backoff. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { AutoscalerApi } from '../src/operator/api';
import { Backoff, backoffDelay, TICK_RETRY, WATCH_RETRY } from '../src/operator/backoff';
import { updateConditions } from '../src/operator/conditions';
import { decide, type DecisionInput } from '../src/operator/interval-decision';
import { countFailures, fallbackState, NO_FAILURES } from '../src/operator/fallback';
import { jsonLogger } from '../src/operator/log';
import { ResourceLoop } from '../src/operator/loop';
import type { RLAutoscalerObject } from '../src/operator/resource';
import { guardConfig } from '../src/operator/safety';
import { DEFAULTS, parseSpec, SLO_PERCENTILES, type SafetySpec } from '../src/operator/spec';
import { stabilise } from '../src/operator/stabilisation';
import { Action, type Bounds, type ScalingConfig } from '../src/space';

const BOUNDS: Bounds = { min: { replicas: 1, cpuMillis: 300, heapMB: 300 }, max: { replicas: 4, cpuMillis: 800, heapMB: 800 } };
const config = (replicas: number, cpuMillis: number, heapMB: number): ScalingConfig => ({ replicas, cpuMillis, heapMB });

describe('spec checks', () => {
  const minimal = { target: { deployment: 'teastore-webui' }, policy: { checkpoint: '/ck' }, metrics: { prometheusUrl: 'http://prom:9090/' } };

  it('fills in the defaults', () => {
    const result = parseSpec(minimal, 'app2scale');
    assert.ok(result.ok, JSON.stringify(result));
    const spec = result.spec;
    assert.deepEqual(spec.target, { namespace: 'app2scale', deployment: 'teastore-webui', container: 'teastore-webui', heapEnvVar: 'CATALINA_OPTS' });
    assert.deepEqual(spec.bounds, { min: config(1, 100, 100), max: config(9, 900, 900) });
    assert.equal(spec.intervalSeconds, 30);
    assert.equal(spec.mode, 'Recommend');
    assert.deepEqual(spec.policy, { kind: 'checkpoint', path: '/ck' });
    assert.deepEqual(spec.metrics, { prometheusUrl: 'http://prom:9090', windowSeconds: 30, timeoutSeconds: 10 });
    assert.deepEqual(spec.safety, { maxLevelChange: 1, scaleUpWindowSeconds: 0, scaleDownWindowSeconds: 300, failureThreshold: 3, targetCpuUtilisation: 0.7 });
  });

  it('names every bad field and value', () => {
    const result = parseSpec(
      {
        ...minimal,
        mode: 'Sometimes',
        bounds: { replicas: { min: 5, max: 3 }, cpuMillis: { min: 250 } },
        policy: { checkpoint: '/ck', serverUrl: 'http://server' },
        safety: { scaleUp: { stabilizationWindowSeconds: 60 }, scaleDown: { stabilizationWindowSeconds: 30 } },
        intervalSeconds: 0,
      },
      'ns',
    );
    assert.equal(result.ok, false);
    const text = result.ok ? '' : result.errors.join('\n');
    assert.match(text, /spec\.mode = "Sometimes" must be one of Recommend, Apply/);
    assert.match(text, /spec\.bounds\.replicas: min 5 is greater than max 3/);
    assert.match(text, /spec\.bounds\.cpuMillis\.min = 250 is not a multiple of 100/);
    assert.match(text, /spec\.policy: give either checkpoint or serverUrl, not both/);
    assert.match(text, /scaleDown\.stabilizationWindowSeconds = 30 is shorter than .*scaleUp\.stabilizationWindowSeconds = 60/);
    assert.match(text, /spec\.intervalSeconds = 0 is outside 1\.\.3600/);
  });

  it('requires the target, a policy source and a Prometheus URL', () => {
    const result = parseSpec({ policy: {}, metrics: { prometheusUrl: 'prom:9090' } }, 'ns');
    assert.equal(result.ok, false);
    const text = result.ok ? '' : result.errors.join('\n');
    assert.match(text, /spec\.target is required/);
    assert.match(text, /spec\.policy: give a checkpoint path or a serverUrl/);
    assert.match(text, /spec\.metrics\.prometheusUrl = "prom:9090" must be an http/);
    assert.deepEqual(parseSpec(null, 'ns'), { ok: false, errors: ['spec must be an object, got null'] });
  });

  it('has the same defaults as the CRD schema', () => {
    const crd = parse(readFileSync(path.join(__dirname, '..', 'deploy', 'crd.yaml'), 'utf8'));
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    assert.equal(spec.intervalSeconds.default, DEFAULTS.intervalSeconds);
    assert.equal(spec.mode.default, DEFAULTS.mode);
    assert.deepEqual(spec.mode.enum, ['Recommend', 'Apply']);
    assert.equal(spec.target.properties.heapEnvVar.default, DEFAULTS.heapEnvVar);
    assert.equal(spec.metrics.properties.windowSeconds.default, DEFAULTS.windowSeconds);
    assert.equal(spec.metrics.properties.timeoutSeconds.default, DEFAULTS.metricTimeoutSeconds);
    const safety = spec.safety.properties;
    assert.equal(safety.maxLevelChangePerInterval.default, DEFAULTS.maxLevelChange);
    assert.equal(safety.scaleUp.properties.stabilizationWindowSeconds.default, DEFAULTS.scaleUpWindowSeconds);
    assert.equal(safety.scaleDown.properties.stabilizationWindowSeconds.default, DEFAULTS.scaleDownWindowSeconds);
    assert.equal(safety.fallback.properties.failureThreshold.default, DEFAULTS.failureThreshold);
    assert.equal(safety.fallback.properties.targetCPUUtilizationPercentage.default, DEFAULTS.targetCpuUtilizationPercentage);
    assert.equal(spec.slo.properties.percentile.default, 99);
    assert.deepEqual(spec.slo.properties.percentile.enum, SLO_PERCENTILES);
    assert.equal(spec.load.properties.requestsPerSession.default, 1);
    // A spec using every field of the example parses.
    const example = parse(readFileSync(path.join(__dirname, '..', 'deploy', 'example-rlautoscaler.yaml'), 'utf8'));
    const parsed = parseSpec(example.spec, 'app2scale');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.ok && [parsed.spec.slo, parsed.spec.load], [{ latencyMs: 250, percentile: 99 }, { selector: 'job="load"', requestsPerSession: 8 }]);
  });

  it('reads the SLO and the load source, and names what is wrong in them', () => {
    const base = { target: { deployment: 'web' }, policy: { checkpoint: '/c' }, metrics: { prometheusUrl: 'http://p:9090' } };
    const plain = parseSpec(base, 'ns');
    assert.ok(plain.ok && plain.spec.slo === undefined && plain.spec.load === undefined);
    const sloOnly = parseSpec({ ...base, slo: { latencyMs: 200 } }, 'ns');
    assert.deepEqual(sloOnly.ok && [sloOnly.spec.slo, sloOnly.spec.load], [{ latencyMs: 200, percentile: 99 }, { selector: '', requestsPerSession: 1 }]);
    const bad = parseSpec({ ...base, slo: { percentile: 90 }, load: { requestsPerSession: 0 } }, 'ns');
    const text = bad.ok ? '' : bad.errors.join('\n');
    assert.match(text, /spec\.slo\.latencyMs is required/);
    assert.match(text, /spec\.slo\.percentile = 90 must be one of 50, 95, 99/);
    assert.match(text, /spec\.load\.requestsPerSession = 0 is outside 1\.\.1000/);
  });
});

describe('safety guard', () => {
  it('passes a one-level move within the bounds unchanged', () => {
    assert.deepEqual(guardConfig(config(2, 500, 500), config(3, 500, 500), BOUNDS, 1), { config: config(3, 500, 500), adjustments: [] });
  });

  it('clamps a proposal to the bounds', () => {
    const result = guardConfig(config(4, 800, 300), config(5, 900, 200), BOUNDS, 1);
    assert.deepEqual(result.config, config(4, 800, 300));
    assert.equal(result.adjustments.length, 3);
    assert.match(result.adjustments.join('\n'), /replicas 5 -> 4: above the maximum 4/);
    assert.match(result.adjustments.join('\n'), /heapMB 200 -> 300: below the minimum 300/);
  });

  it('limits every knob to the allowed levels per interval', () => {
    const result = guardConfig(config(1, 300, 800), config(4, 800, 300), BOUNDS, 1);
    assert.deepEqual(result.config, config(2, 400, 700));
    assert.match(result.adjustments.join('\n'), /at most 1 level\(s\) per interval/);
    assert.deepEqual(guardConfig(config(1, 300, 800), config(4, 800, 300), BOUNDS, 2).config, config(3, 500, 600));
  });

  it('moves a configuration outside the bounds back one step at a time', () => {
    assert.deepEqual(guardConfig(config(9, 100, 500), config(9, 100, 500), BOUNDS, 1).config, config(8, 200, 500));
  });

  it('snaps off-grid proposals to the grid', () => {
    assert.deepEqual(guardConfig(config(2, 500, 500), config(2, 540, 500), BOUNDS, 1).config, config(2, 500, 500));
  });
});

describe('stabilisation windows', () => {
  const windows = { scaleUpMs: 0, scaleDownMs: 10_000 };

  it('scales up at once with a zero scale-up window', () => {
    const result = stabilise({}, config(2, 500, 500), config(3, 500, 500), 1000, windows);
    assert.deepEqual(result.config, config(3, 500, 500));
    assert.deepEqual(result.held, []);
  });

  it('scales down only after the policy asked for it throughout the window', () => {
    let state = {};
    const current = config(3, 500, 500);
    const down = config(2, 500, 500);
    for (const t of [0, 5_000]) {
      const r = stabilise(state, current, down, t, windows);
      assert.deepEqual(r.config, current, `held at ${t} ms`);
      assert.match(r.held[0], /scale-down of replicas to 2 held/);
      state = r.state;
    }
    assert.deepEqual(stabilise(state, current, down, 10_000, windows).config, down);
  });

  it('starts again when the policy changes its mind or holds', () => {
    const current = config(3, 500, 500);
    const down = config(2, 500, 500);
    let state = stabilise({}, current, down, 0, windows).state;
    state = stabilise(state, current, current, 5_000, windows).state; // held once: the trend breaks
    state = stabilise(state, current, down, 8_000, windows).state;
    assert.deepEqual(stabilise(state, current, down, 12_000, windows).config, current);
    assert.deepEqual(stabilise(state, current, down, 18_000, windows).config, down);
  });

  it('starts again when the knob changed meanwhile', () => {
    const state = stabilise({}, config(3, 500, 500), config(2, 500, 500), 0, windows).state;
    // Someone scaled to 4: a trend from 3 says nothing about going down from 4.
    assert.deepEqual(stabilise(state, config(4, 500, 500), config(3, 500, 500), 20_000, windows).config, config(4, 500, 500));
  });

  it('keeps a trend per knob', () => {
    const w = { scaleUpMs: 5_000, scaleDownMs: 5_000 };
    let state = stabilise({}, config(2, 500, 500), config(2, 600, 500), 0, w).state;
    state = stabilise(state, config(2, 500, 500), config(2, 500, 400), 5_000, w).state; // cpu trend broken
    assert.deepEqual(stabilise(state, config(2, 500, 500), config(2, 500, 400), 10_000, w).config, config(2, 500, 400));
    assert.deepEqual(stabilise(state, config(2, 500, 500), config(2, 600, 500), 10_000, w).config, config(2, 500, 500));
  });
});

describe('fallback counting', () => {
  it('activates after the threshold of consecutive failures and hands back after one success', () => {
    let counts = NO_FAILURES;
    counts = countFailures(counts, { metrics: 'failed', policy: 'skipped' });
    counts = countFailures(counts, { metrics: 'failed', policy: 'skipped' });
    assert.deepEqual(fallbackState(counts, 3), { active: false, cause: null });
    counts = countFailures(counts, { metrics: 'failed', policy: 'skipped' });
    assert.deepEqual(fallbackState(counts, 3), { active: true, cause: 'metrics' });
    counts = countFailures(counts, { metrics: 'ok', policy: 'ok' });
    assert.deepEqual(counts, { metrics: 0, policy: 0 });
    assert.equal(fallbackState(counts, 3).active, false);
  });

  it('counts policy failures only when the policy was asked', () => {
    let counts = countFailures(NO_FAILURES, { metrics: 'ok', policy: 'failed' });
    counts = countFailures(counts, { metrics: 'failed', policy: 'skipped' });
    assert.deepEqual(counts, { metrics: 1, policy: 1 });
    counts = countFailures(counts, { metrics: 'ok', policy: 'failed' });
    assert.deepEqual(fallbackState(counts, 2), { active: true, cause: 'policy' });
  });
});

describe('decisions', () => {
  const safety: SafetySpec = { maxLevelChange: 1, scaleUpWindowSeconds: 0, scaleDownWindowSeconds: 0, failureThreshold: 2, targetCpuUtilisation: 0.7 };
  const current = config(2, 500, 500);
  const observation = { ...current, usedCpu: 0.7, usedRam: 0.4 };
  const input = (overrides: Partial<DecisionInput>): DecisionInput => ({
    current,
    bounds: BOUNDS,
    safety,
    metrics: { kind: 'ok', observation },
    policy: { kind: 'action', action: Action.DO_NOTHING },
    failures: NO_FAILURES,
    stabiliser: {},
    nowMs: 0,
    ...overrides,
  });

  it("takes the policy's action", () => {
    const d = decide(input({ policy: { kind: 'action', action: Action.INCREASE_CPU } }));
    assert.equal(d.source, 'Policy');
    assert.equal(d.action, 'INCREASE_CPU');
    assert.deepEqual(d.decided, config(2, 600, 500));
    assert.equal(d.changed, true);
  });

  it('refuses an action of a policy server that leaves the bounds', () => {
    const d = decide(input({ current: config(4, 500, 500), policy: { kind: 'action', action: Action.INCREASE_REPLICA } }));
    assert.deepEqual(d.decided, config(4, 500, 500));
    assert.equal(d.changed, false);
    assert.match(d.reason, /above the maximum 4/);
  });

  it('holds on an action number outside the action space', () => {
    const d = decide(input({ policy: { kind: 'action', action: 42 } }));
    assert.equal(d.source, 'Hold');
    assert.equal(d.changed, false);
    assert.match(d.reason, /action 42, which is not one of 0\.\.6/);
  });

  it('holds while failures are below the threshold', () => {
    const d = decide(input({ policy: { kind: 'failed', error: 'unreachable' } }));
    assert.equal(d.source, 'Hold');
    assert.equal(d.fallback.active, false);
    assert.match(d.reason, /policy failed \(1\/2\)/);
  });

  it('lets the threshold rule decide when the policy keeps failing and metrics are there', () => {
    const busy = { ...current, usedCpu: 0.5, usedRam: 0.4 }; // 100% of a 500m limit against a 70% target
    const d = decide(input({ metrics: { kind: 'ok', observation: busy }, policy: { kind: 'failed', error: 'gone' }, failures: { policy: 1, metrics: 0 } }));
    assert.equal(d.source, 'Fallback');
    assert.deepEqual(d.fallback, { active: true, cause: 'policy' });
    // ceil(2 * 1.0 / 0.7) = 3 replicas, one level up.
    assert.deepEqual(d.decided, config(3, 500, 500));
    const idle = { ...current, usedCpu: 0.05, usedRam: 0.4 };
    assert.deepEqual(decide(input({ metrics: { kind: 'ok', observation: idle }, policy: { kind: 'failed', error: 'gone' }, failures: { policy: 5, metrics: 0 } })).decided, config(1, 500, 500));
  });

  it('holds the configuration in fallback while the metrics are down, and says why', () => {
    const d = decide(input({ metrics: { kind: 'failed', error: 'unreachable' }, policy: { kind: 'skipped' }, failures: { policy: 0, metrics: 1 } }));
    assert.equal(d.source, 'Fallback');
    assert.deepEqual(d.fallback, { active: true, cause: 'metrics' });
    assert.equal(d.changed, false);
    assert.match(d.reason, /threshold rule needs CPU usage/);
  });

  it('applies the scale-down window to fallback decisions too', () => {
    const slow = { ...safety, scaleDownWindowSeconds: 60 };
    const idle = { ...current, usedCpu: 0.05, usedRam: 0.4 };
    const d = decide(input({ safety: slow, metrics: { kind: 'ok', observation: idle }, policy: { kind: 'failed', error: 'gone' }, failures: { policy: 5, metrics: 0 } }));
    assert.deepEqual(d.proposed, config(1, 500, 500));
    assert.deepEqual(d.decided, current);
  });
});

describe('conditions', () => {
  it('keeps lastTransitionTime while the status stays the same', () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const t1 = new Date('2026-01-01T00:01:00Z');
    const first = updateConditions(undefined, [{ type: 'FallbackActive', status: false, reason: 'PolicyInControl', message: 'a' }, { type: 'Ready', status: true, reason: 'Reconciled', message: 'b' }], t0, 1);
    assert.deepEqual(first.map((c) => c.type), ['Ready', 'FallbackActive']);
    const second = updateConditions(first, [{ type: 'FallbackActive', status: true, reason: 'MetricsUnavailable', message: 'c' }, { type: 'Ready', status: true, reason: 'Reconciled', message: 'd' }], t1, 2);
    assert.equal(second[0].lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(second[0].message, 'd');
    assert.equal(second[1].lastTransitionTime, '2026-01-01T00:01:00Z');
    assert.equal(second[1].observedGeneration, 2);
  });
});

describe('retry backoff', () => {
  it('doubles from the base up to the cap and starts again after a success', () => {
    const backoff = new Backoff({ baseMs: 1000, capMs: 10_000 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => backoff.next()), [1000, 2000, 4000, 8000, 10_000, 10_000]);
    assert.equal(backoff.failuresInARow, 6);
    backoff.reset();
    assert.deepEqual([backoff.next(), backoff.next()], [1000, 2000]);
  });

  it('stays at the cap however many failures in a row', () => {
    assert.equal(backoffDelay(0, TICK_RETRY), 0);
    assert.equal(backoffDelay(1, TICK_RETRY), TICK_RETRY.baseMs);
    assert.equal(backoffDelay(10_000, TICK_RETRY), TICK_RETRY.capMs);
    assert.equal(backoffDelay(2, WATCH_RETRY), 2 * WATCH_RETRY.baseMs);
  });

  it('spaces the ticks of a failing control loop by the backoff and resets it after a good tick', async () => {
    // The API server fails three reads, serves one (an invalid spec: a complete tick), fails once more, then the object is gone.
    const script: ('fail' | 'serve' | 'gone')[] = ['fail', 'fail', 'fail', 'serve', 'fail', 'gone'];
    const object: RLAutoscalerObject = { apiVersion: 'autoscaling.app2scale.dev/v1alpha1', kind: 'RLAutoscaler', metadata: { name: 'r', namespace: 'ns', uid: 'u', generation: 1 }, spec: { intervalSeconds: 1 } };
    const api = {
      async get() {
        const step = script.shift();
        if (step === 'fail') throw new Error('connection refused');
        return step === 'serve' ? object : undefined;
      },
      async writeStatus() {
        return object;
      },
    } as unknown as AutoscalerApi;
    const lines: Record<string, any>[] = [];
    const logger = jsonLogger({ write: (line) => lines.push(JSON.parse(line)) });
    const gone = new Promise<void>((resolve) => {
      new ResourceLoop(object, { api, kubeConfig: new k8s.KubeConfig(), events: { record: async () => undefined }, logger }, logger, () => resolve(), { baseMs: 20, capMs: 50 });
    });
    await gone;
    assert.deepEqual(lines.filter((l) => l.msg === 'tick failed').map((l) => l.retryInMs), [20, 40, 50, 20]);
    assert.equal(script.length, 0);
  });
});
