import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTeastoreData, parseTeastoreData } from '../src/data';
import { Rng } from '../src/random';
import { CONFIG_COUNT, configFromIndex, configIndex } from '../src/space';
import { createPerformanceModel, DEFAULT_PARAMETERS, fitReport, teastoreModel, rSquared, spearman, medianAbsPercentError, configMeans } from '../src/model';
import { queueState, responseTimeQuantile, stationaryDistribution } from '../src/model/queue';
import { nelderMead } from '../src/model/optimise';

const model = teastoreModel();
const table = loadTeastoreData();

describe('queue maths', () => {
  it('matches the M/M/1 closed forms when the queue is long', () => {
    const state = queueState(50, 100, 2000);
    assert.ok(Math.abs(state.utilisation - 0.5) < 1e-9);
    assert.ok(Math.abs(state.meanInSystem - 1) < 1e-9); // rho / (1 - rho)
    // M/M/1 response time is Exp(mu - lambda): its median is ln 2 / 50.
    const median = responseTimeQuantile(stationaryDistribution(50, 100, 2000), 100, 0.5);
    assert.ok(Math.abs(median - Math.log(2) / 50) < 1e-6, `median ${median}`);
  });

  it('refuses 1/(K+1) of arrivals when arrival and service rates are equal', () => {
    const state = queueState(10, 10, 4);
    assert.ok(Math.abs(state.blocking - 0.2) < 1e-9);
  });

  it('stays finite far beyond saturation', () => {
    const state = queueState(1e6, 1, 500);
    assert.ok(Number.isFinite(state.throughput) && state.throughput <= 1 + 1e-9);
  });

  it('rejects a negative rate with a clear error', () => {
    assert.throws(() => queueState(-1, 1, 1), /arrival rate -1/);
  });
});

describe('Nelder-Mead', () => {
  it('finds the minimum of a shifted quadratic', () => {
    const result = nelderMead((x) => (x[0] - 3) ** 2 + 2 * (x[1] + 1) ** 2, [0, 0]);
    assert.ok(Math.abs(result.x[0] - 3) < 1e-3 && Math.abs(result.x[1] + 1) < 1e-3);
  });
});

describe('statistics', () => {
  it('R-squared is 1 for a perfect fit and 0 for the mean', () => {
    assert.equal(rSquared([1, 2, 3], [1, 2, 3]), 1);
    assert.equal(rSquared([1, 2, 3], [2, 2, 2]), 0);
  });
  it('Spearman is 1 for a monotone map and -1 for a reversed one; MdAPE in percent', () => {
    assert.equal(spearman([1, 2, 3, 4], [1, 8, 27, 64]), 1);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    assert.equal(medianAbsPercentError([100, 200, 400], [110, 180, 400]), 10);
  });
});

describe('the calibrated model', () => {
  const report = fitReport(model, table);
  const fit = Object.fromEntries(report.metrics.map((m) => [m.metric, m]));

  it('fits CPU per pod with R-squared >= 0.85 over the configurations', () => {
    assert.equal(report.rows.length, CONFIG_COUNT);
    assert.ok(fit.cpuCores.rSquared >= 0.85, `R2 ${fit.cpuCores.rSquared}`);
  });

  it('fits total transmitted packets with R-squared >= 0.75', () => {
    assert.ok(fit.totalOutPacketsPerSec.rSquared >= 0.75, `R2 ${fit.totalOutPacketsPerSec.rSquared}`);
  });

  it('ranks configurations by the classic reward as the data does (Spearman >= 0.8)', () => {
    assert.ok(report.classicRewardSpearman >= 0.8, `Spearman ${report.classicRewardSpearman}`);
  });

  it('reports data means that recompute from the table', () => {
    const means = configMeans(table);
    const row = report.rows[100];
    assert.deepEqual(row.config, configFromIndex(100));
    assert.equal(row.data.cpuCores, means[100].cpuCores);
    assert.equal(row.data.totalOutPacketsPerSec, means[100].outPacketsPerSec * row.config.replicas);
  });

  it('finds that more CPU raises capacity faster than linearly, and small heaps cost capacity', () => {
    const p = model.parameters;
    assert.ok(p.cpuExponent > 1, `a = ${p.cpuExponent}`);
    assert.ok(model.capacity({ replicas: 1, cpuMillis: 900, heapMB: 100 }) < model.capacity({ replicas: 1, cpuMillis: 900, heapMB: 900 }));
  });
});

describe('sanity of predictions', () => {
  const configs = Array.from({ length: CONFIG_COUNT }, (_, c) => configFromIndex(c)).filter((_, c) => c % 7 === 0);
  const rates = [0, 1, 10, 100, 1000, 10000];

  it('never serves more than offered; served + failed = offered', () => {
    for (const config of configs) {
      for (const rate of rates) {
        const p = model.predict(config, rate);
        assert.ok(p.servedRps <= rate + 1e-9, `${JSON.stringify(config)} at ${rate}: served ${p.servedRps}`);
        assert.ok(Math.abs(p.servedRps + p.failedRps - rate) < 1e-6);
        assert.ok(p.cpuCores <= config.cpuMillis / 1000 + 1e-12);
      }
    }
  });

  it('latency rises with load and explodes near capacity', () => {
    const config = { replicas: 3, cpuMillis: 700, heapMB: 500 };
    const capacity = model.capacity(config);
    const fractions = [0.1, 0.3, 0.5, 0.7, 0.9, 0.98];
    const p95 = fractions.map((f) => model.predict(config, f * capacity).latencyMs.p95);
    for (let i = 1; i < p95.length; i++) assert.ok(p95[i] > p95[i - 1], `p95 ${p95.join(', ')}`);
    assert.ok(p95[5] > 10 * p95[0], `p95 near capacity ${p95[5]} vs light load ${p95[0]}`);
  });

  it('more replicas or more CPU never lower capacity', () => {
    for (let c = 0; c < CONFIG_COUNT; c++) {
      const config = configFromIndex(c);
      const capacity = model.capacity(config);
      if (config.replicas < 9) assert.ok(model.capacity({ ...config, replicas: config.replicas + 1 }) >= capacity);
      if (config.cpuMillis < 900) assert.ok(model.capacity({ ...config, cpuMillis: config.cpuMillis + 100 }) >= capacity);
    }
  });

  it('falls to idle without load', () => {
    const p = model.predict({ replicas: 2, cpuMillis: 500, heapMB: 500 }, 0);
    assert.equal(p.servedRps, 0);
    assert.equal(p.transmittedPacketsPerSec, 0);
    assert.ok(p.cpuCores <= model.parameters.idleCpuCores + 1e-12);
  });

  it('names a bad configuration or rate', () => {
    assert.throws(() => model.predict({ replicas: 0, cpuMillis: 500, heapMB: 500 }, 10), /replicas=0/);
    assert.throws(() => model.predict({ replicas: 1, cpuMillis: 500, heapMB: 500 }, Number.NaN), /offered rate NaN/);
    assert.throws(() => createPerformanceModel({ ...DEFAULT_PARAMETERS, timeoutSec: -1 }), /timeoutSec=-1/);
  });
});

describe('noise', () => {
  const config = { replicas: 2, cpuMillis: 400, heapMB: 600 };

  it('is reproducible from a seed and varies as the data does', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 400 }, () => model.sampleMeasurement(config, 100, rng).transmittedPacketsPerSec);
    };
    assert.deepEqual(draw(5), draw(5));
    assert.notDeepEqual(draw(5), draw(6));
    const samples = draw(7);
    const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
    const cv = Math.sqrt(samples.reduce((s, v) => s + (v - mean) ** 2, 0) / samples.length) / mean;
    // The recorded rows of this configuration: their coefficient of variation.
    const rows: number[] = [];
    for (let k = table.configStart[configIndex(config)]; k < table.configStart[configIndex(config) + 1]; k++) {
      const v = table.outgoingPacketsPerSec[table.rowsOfConfig[k]];
      if (Number.isFinite(v)) rows.push(v);
    }
    const dataMean = rows.reduce((s, v) => s + v, 0) / rows.length;
    const dataCv = Math.sqrt(rows.reduce((s, v) => s + (v - dataMean) ** 2, 0) / rows.length) / dataMean;
    assert.ok(Math.abs(cv - dataCv) < 0.35 * dataCv, `sampled cv ${cv} vs data cv ${dataCv}`);
    assert.ok(Math.abs(mean / model.predict(config, 100).transmittedPacketsPerSec - 1) < 0.1);
  });
});

describe('transition costs', () => {
  const from = { replicas: 3, cpuMillis: 500, heapMB: 500 };
  it('adding a replica starts one pod and stops none', () => {
    const t = model.transition(from, { ...from, replicas: 4 });
    assert.equal(t.podsStarted, 1);
    assert.equal(t.podsStopped, 0);
    assert.equal(t.requestsLost, 0);
    assert.equal(t.startDelaySec, model.parameters.podStartSec);
  });
  it('a new CPU limit replaces every pod and loses their in-flight requests', () => {
    const t = model.transition(from, { ...from, cpuMillis: 600 }, 100);
    assert.equal(t.podsStarted, 3);
    assert.equal(t.podsStopped, 3);
    assert.ok(t.requestsLost > 0);
    assert.ok(model.transition(from, { ...from, cpuMillis: 600 }, 200).requestsLost > t.requestsLost);
  });
  it('no change costs nothing', () => {
    assert.deepEqual(model.transition(from, from), { startDelaySec: 0, warmUpSec: 0, podsStarted: 0, podsStopped: 0, requestsLost: 0 });
  });
});

describe('calibration on other data', () => {
  it('refuses a dataset with too few configurations', async () => {
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync('data/teastore_data.csv', 'utf8').split('\n').slice(0, 6).join('\n');
    const small = parseTeastoreData(lines, 'small.csv');
    const { calibrate } = await import('../src/model');
    assert.throws(() => calibrate(small), /calibration needs at least 10/);
  });
});
