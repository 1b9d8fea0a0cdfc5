import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { TRAINING_MARKOV, TRAINING_PROFILE_SPECS } from '../src/env/load-setup';
import { DEFAULT_MARKOV_COPIES, ratesOf, trainingLoadSources } from '../src/env/load-training-set';

async function cli(args: string[]): Promise<{ code: number; errors: string }> {
  const { main } = await import('../src/cli');
  const errors: string[] = [];
  const error = console.error;
  console.error = (...parts: unknown[]) => void errors.push(parts.join(' '));
  try {
    return { code: await main(args), errors: errors.join('\n') };
  } finally {
    console.error = error;
  }
}

describe('the load training set', () => {
  it('holds the Markov task N times beside the synthetic profiles', () => {
    for (const copies of [0, 1, DEFAULT_MARKOV_COPIES]) {
      const sources = trainingLoadSources(copies, 60);
      assert.equal(sources.length, copies + TRAINING_PROFILE_SPECS.length);
      assert.equal(sources.filter((s) => s.kind === 'markov' && s.name === TRAINING_MARKOV.name).length, copies);
      assert.deepEqual(sources.filter((s) => s.kind === 'trace').map((s) => s.name), [...TRAINING_PROFILE_SPECS]);
    }
    assert.throws(() => trainingLoadSources(-1, 60), /copies among the training sources must be an integer >= 0, got -1/);
    assert.throws(() => trainingLoadSources(1.5, 60), /got 1.5/);
  });

  it('lists the rates a set of sources brings', () => {
    const rates = ratesOf(trainingLoadSources(1, 60));
    for (const level of TRAINING_MARKOV.levels) assert.ok(rates.includes(level));
    assert.ok(rates.length > 6 * 60, 'every window of the six-hour profiles');
  });

  it('train --env load takes --markov-copies with the benchmark default, and names a bad one', async () => {
    assert.equal(DEFAULT_MARKOV_COPIES, 5);
    const bad = await cli(['train', '--env', 'load', '--markov-copies', 'many']);
    assert.equal(bad.code, 2);
    assert.match(bad.errors, /--markov-copies must be an integer >= 0, got "many"/);
    const mixed = await cli(['train', '--env', 'load', '--markov-copies', '2', '--profiles', 'sine:80:50:1h']);
    assert.equal(mixed.code, 2);
    assert.match(mixed.errors, /--markov-copies sets the default training set; with --profiles/);
    const classic = await cli(['train', '--markov-copies', '2']);
    assert.equal(classic.code, 2);
    assert.match(classic.errors, /--markov-copies goes with --env load/);
  });
});
