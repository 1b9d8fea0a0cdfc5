import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroBatcher } from '../src/server/batcher';

test('requests submitted together share one run, in order, up to maxBatch', async () => {
  const runs: number[][] = [];
  const batcher = new MicroBatcher<number, number>((inputs) => {
    runs.push([...inputs]);
    return inputs.map((x) => x * 10);
  }, { maxBatch: 4, maxDelayMs: 0 });
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => batcher.submit(i)));
  assert.deepEqual(answers, [0, 10, 20, 30, 40, 50]);
  assert.deepEqual(runs, [[0, 1, 2, 3], [4, 5]]);
});

test('requests of one turn of the event loop share a batch, and a lone request gets its own', async () => {
  const runs: number[][] = [];
  const batcher = new MicroBatcher<number, number>((inputs) => {
    runs.push([...inputs]);
    return inputs;
  }, { maxBatch: 64, maxDelayMs: 0 });
  // Submitted from separate callbacks of one turn (microtasks run between them), as requests read
  // from different sockets are.
  const answers = await new Promise<number[]>((resolve) => {
    const pending: Promise<number>[] = [];
    let left = 3;
    for (let i = 0; i < 3; i++) {
      setImmediate(() => {
        pending.push(batcher.submit(i));
        if (--left === 0) void Promise.all(pending).then(resolve);
      });
    }
  });
  assert.deepEqual(answers, [0, 1, 2]);
  assert.deepEqual(runs, [[0, 1, 2]]);
  assert.equal(await batcher.submit(7), 7);
  assert.deepEqual(runs.at(-1), [7]);
});

test('a failing run rejects every request of its batch, and the next batch runs afresh', async () => {
  let calls = 0;
  const batcher = new MicroBatcher<number, number>((inputs) => {
    if (calls++ === 0) throw new Error('forward pass failed');
    return inputs;
  }, { maxBatch: 8, maxDelayMs: 0 });
  const failed = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
  assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(await batcher.submit(3), 3);
});
