import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIONS, Action, actionMask, applyAction, assertOnGrid, configFromIndex, configIndex, CONFIG_COUNT,
  encodeObservation, NEXT_CONFIG, OBSERVATION_SIZE, actionTowards, type Bounds,
} from '../src/space';

test('config index and config convert both ways for all 729 configurations', () => {
  const seen = new Set<string>();
  for (let c = 0; c < CONFIG_COUNT; c++) {
    const config = configFromIndex(c);
    assert.equal(configIndex(config), c);
    seen.add(JSON.stringify(config));
  }
  assert.equal(seen.size, 729);
  assert.deepEqual(configFromIndex(0), { replicas: 1, cpuMillis: 100, heapMB: 100 });
  assert.deepEqual(configFromIndex(728), { replicas: 9, cpuMillis: 900, heapMB: 900 });
});

test('actions are named by meaning and move the knob they name', () => {
  const from = { replicas: 5, cpuMillis: 500, heapMB: 500 };
  assert.deepEqual(applyAction(from, Action.INCREASE_CPU), { replicas: 5, cpuMillis: 600, heapMB: 500 });
  assert.deepEqual(applyAction(from, Action.DECREASE_HEAP), { replicas: 5, cpuMillis: 500, heapMB: 400 });
  assert.deepEqual(applyAction(from, Action.INCREASE_REPLICA), { replicas: 6, cpuMillis: 500, heapMB: 500 });
  assert.deepEqual(applyAction(from, Action.DO_NOTHING), from);
  assert.equal(ACTIONS[Action.INCREASE_HEAP].name, 'INCREASE_HEAP');
  for (const spec of ACTIONS) {
    const next = applyAction(from, spec.id)!;
    assert.equal(NEXT_CONFIG[configIndex(from) * 7 + spec.id], configIndex(next));
  }
});

test('moves off the grid are invalid, and the mask says so', () => {
  const corner = { replicas: 9, cpuMillis: 100, heapMB: 900 };
  assert.equal(applyAction(corner, Action.INCREASE_REPLICA), null);
  assert.equal(applyAction(corner, Action.DECREASE_CPU), null);
  assert.equal(applyAction(corner, Action.INCREASE_HEAP), null);
  assert.deepEqual(actionMask(corner), [true, false, true, true, false, false, true]);
  assert.throws(() => applyAction(corner, 7), /action 7 is not one of 0..6/);
});

test('bounds narrower than the grid restrict the moves', () => {
  const bounds: Bounds = { min: { replicas: 2, cpuMillis: 300, heapMB: 100 }, max: { replicas: 4, cpuMillis: 900, heapMB: 900 } };
  const config = { replicas: 2, cpuMillis: 300, heapMB: 500 };
  assert.deepEqual(actionMask(config, bounds), [true, true, false, true, false, true, true]);
});

test('grid checks name the knob and the value', () => {
  assert.throws(() => assertOnGrid({ replicas: 10, cpuMillis: 100, heapMB: 100 }), /config.replicas = 10 is not on the grid/);
  assert.throws(() => assertOnGrid({ replicas: 1, cpuMillis: 150, heapMB: 100 }), /config.cpuMillis = 150/);
});

test('the observation encoding is one-hot levels then usage', () => {
  const v = encodeObservation({ replicas: 2, cpuMillis: 900, heapMB: 100, usedCpu: 0.5, usedRam: 0.25 });
  assert.equal(v.length, OBSERVATION_SIZE);
  assert.equal(v[1], 1);
  assert.equal(v[9 + 8], 1);
  assert.equal(v[18 + 0], 1);
  assert.equal(v.reduce((a, b) => a + b, 0), 3.75);
  assert.deepEqual([v[27], v[28]], [0.5, 0.25]);
});

test('actionTowards walks replicas, then CPU, then heap', () => {
  const to = { replicas: 1, cpuMillis: 900, heapMB: 500 };
  assert.equal(actionTowards({ replicas: 3, cpuMillis: 900, heapMB: 500 }, to), Action.DECREASE_REPLICA);
  assert.equal(actionTowards({ replicas: 1, cpuMillis: 100, heapMB: 500 }, to), Action.INCREASE_CPU);
  assert.equal(actionTowards({ replicas: 1, cpuMillis: 900, heapMB: 800 }, to), Action.DECREASE_HEAP);
  assert.equal(actionTowards(to, to), Action.DO_NOTHING);
});
