import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baselineReturns, bestStaticConfig, monteCarloReturn, optimalPolicy } from '../src/agent/baselines';
import { evaluateConfigPolicy, evaluateRowPolicy, solveOptimum } from '../src/agent/optimal';
import { DatasetModel } from '../src/env/dataset-env';
import type { Start } from '../src/env/start';
import { Action, configFromIndex } from '../src/space';

const model = new DatasetModel();
const STARTS: Start[] = [{ kind: 'row', row: 558 }, { kind: 'random-row' }];

test('the best static configuration is one replica at 900m CPU and 500 MB heap', () => {
  assert.deepEqual(configFromIndex(bestStaticConfig(model)), { replicas: 1, cpuMillis: 900, heapMB: 500 });
});

for (const start of STARTS) {
  test(`the optimum is at least every baseline from ${JSON.stringify(start)}`, () => {
    const returns = baselineReturns(model, start, { episodes: 500 });
    for (const [name, r] of Object.entries(returns)) {
      const upper = r.exact ? r.mean : r.ci95![0];
      assert.ok(returns.optimum.mean >= upper - 1e-9, `${name}: ${r.mean} > optimum ${returns.optimum.mean}`);
    }
    assert.ok(returns.optimum.mean > returns['do-nothing'].mean + 10);
    assert.ok(returns.optimum.mean > returns.random.mean);
  });

  test(`a Monte-Carlo run of the optimal policy agrees with its exact value from ${JSON.stringify(start)}`, () => {
    const exact = solveOptimum(model).valueOf(start);
    const mc = monteCarloReturn(model, optimalPolicy(model), start, 3000, 42);
    assert.ok(Math.abs(mc.mean - exact) <= 3 * mc.stderr!, `MC ${mc.mean} ± ${mc.stderr} vs exact ${exact}`);
  });
}

test('row-level and configuration-level evaluation agree on a configuration policy', () => {
  const stayOrShrink = (c: number) => (configFromIndex(c).replicas > 1 ? Action.DECREASE_REPLICA : Action.INCREASE_CPU);
  const actionOfRow = Uint8Array.from(model.table.config, (c) => stayOrShrink(c));
  for (const start of STARTS) {
    const byConfig = evaluateConfigPolicy(model, stayOrShrink, start);
    const byRow = evaluateRowPolicy(model, actionOfRow, start);
    assert.ok(Math.abs(byConfig - byRow) < 1e-9, `${byConfig} vs ${byRow}`);
  }
});

test('an invalid move every step is worth 50 penalties', () => {
  const alwaysUp = new Uint8Array(model.table.rowCount).fill(Action.INCREASE_REPLICA);
  assert.ok(Math.abs(evaluateRowPolicy(model, alwaysUp, { kind: 'row', row: 558 }) - -250) < 1e-9);
});
