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

test('a batch closes without waiting for the event loop to go round', async () => {
  const batcher = new MicroBatcher<number, number>((inputs) => inputs, { maxBatch: 64, maxDelayMs: 0 });
  const order: string[] = [];
  // Scheduled before the request: if the batcher waited for the end of the loop's turn
  // (setImmediate), this would run first.
  setImmediate(() => order.push('turn ended'));
  await batcher.submit(1).then(() => order.push('answered'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['answered', 'turn ended']);
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
