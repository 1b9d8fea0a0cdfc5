import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  allocatedCores,
  app2scaleV2Reward,
  costUnderSloReward,
  makeRequestReward,
  MAX_CORES,
  REQUEST_REWARD_NAMES,
  sloReward,
  type RequestMeasurement,
} from '../src/request-reward';

function window(overrides: Partial<RequestMeasurement> = {}): RequestMeasurement {
  return {
    config: { replicas: 2, cpuMillis: 500, heapMB: 400 },
    offeredRps: 100,
    servedRps: 100,
    failedRps: 0,
    p50Ms: 20,
    p95Ms: 60,
    p99Ms: 90,
    usedCpuCores: 0.25,
    usedRamGiB: 0.2,
    ...overrides,
  };
}

describe('request-level rewards', () => {
  it('every named reward records its name, version and parameters', () => {
    for (const name of REQUEST_REWARD_NAMES) {
      const reward = makeRequestReward(name);
      assert.equal(reward.name, name);
      assert.equal(reward.version, 1);
      assert.ok(Object.keys(reward.params).length > 0);
      assert.ok(Number.isFinite(reward.compute(window())));
    }
  });

  it('slo: served share minus cost, and a penalty once p95 or p99 exceeds its target', () => {
    const reward = sloReward({ p99TargetMs: 100, p95TargetMs: 80, costWeight: 0, sloPenalty: 1 });
    assert.equal(reward.compute(window()), 1);
    assert.equal(reward.compute(window({ servedRps: 50, failedRps: 50 })), 0.5);
    assert.equal(reward.compute(window({ p99Ms: 101 })), 0);
    assert.equal(reward.compute(window({ p95Ms: 81 })), 0);
    assert.equal(reward.compute(window({ p95Ms: 81, p99Ms: 500 })), 0, 'the penalty is paid once');
    const costly = sloReward({ costWeight: 0.5 });
    assert.ok(costly.compute(window({ config: { replicas: 4, cpuMillis: 500, heapMB: 400 } })) < costly.compute(window()));
  });

  it('app2scale-v2: alpha * min(served/expected, 1) + (1 - alpha) * capped utilisation', () => {
    const reward = app2scaleV2Reward({ alpha: 0.8 });
    // cpu 0.25 of 0.5 cores = 0.5, memory 0.2 of 400/1024 GiB.
    const util = 0.5 * 0.5 + 0.5 * (0.2 / (400 / 1024));
    assert.ok(Math.abs(reward.compute(window()) - (0.8 + 0.2 * util)) < 1e-12);
    // Served above expected and usage above the limit are both capped at 1.
    assert.ok(Math.abs(reward.compute(window({ servedRps: 150, usedCpuCores: 3, usedRamGiB: 9 })) - 1) < 1e-12);
    assert.throws(() => app2scaleV2Reward({ alpha: 1.5 }), /alpha must be within \[0, 1\], got 1.5/);
  });

  it('cost-under-slo: fewer allocated cores score higher while the SLO holds; a violation pays the penalty', () => {
    const reward = costUnderSloReward({ p99TargetMs: 100, violationReward: -1 });
    const small = window({ config: { replicas: 1, cpuMillis: 500, heapMB: 400 } });
    const big = window({ config: { replicas: 3, cpuMillis: 500, heapMB: 400 } });
    assert.ok(reward.compute(small) > reward.compute(big));
    assert.equal(reward.compute(small), 1 - allocatedCores(small.config) / MAX_CORES);
    assert.equal(reward.compute(window({ p99Ms: 150 })), -1);
    assert.equal(reward.compute(window({ servedRps: 90, failedRps: 10 })), -1, 'dropped requests break the SLO too');
  });

  it('an idle window is served in full', () => {
    const idle = window({ offeredRps: 0, servedRps: 0, p99Ms: 0, p95Ms: 0 });
    assert.equal(costUnderSloReward().compute(idle), 1 - allocatedCores(idle.config) / MAX_CORES);
    assert.ok(sloReward({ costWeight: 0 }).compute(idle) === 1);
  });

  it('names unknown rewards, unknown parameters and bad values', () => {
    assert.throws(() => makeRequestReward('throughput'), /unknown request reward "throughput"; expected one of slo, app2scale-v2, cost-under-slo/);
    assert.throws(() => makeRequestReward('slo', { alpha: 0.5 }), /reward slo has no parameter "alpha"/);
    assert.throws(() => makeRequestReward('slo', { p99TargetMs: 0 }), /p99TargetMs must be positive, got 0/);
    assert.throws(() => makeRequestReward('cost-under-slo', { p99TargetMs: Number.NaN }), /p99TargetMs must be a finite number/);
  });
});
