import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PolicyServer } from '../src/server/server';
import { currentThreadId, threadCpuSeconds } from '../src/server/thread-cpu';

const onLinux = process.platform === 'linux';

/** Spins until this thread has used `ms` more CPU time (wall time would depend on the machine's load). */
function busyFor(ms: number): number {
  const tid = currentThreadId()!;
  const start = threadCpuSeconds(tid)!;
  let x = 0;
  while ((threadCpuSeconds(tid)! - start) * 1000 < ms) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
  return x;
}

test('a thread\'s CPU time grows with the work it does', { skip: !onLinux }, () => {
  const tid = currentThreadId();
  assert.ok(tid !== null && tid > 0, 'the main thread has a kernel id');
  const before = threadCpuSeconds(tid!);
  assert.ok(before !== null && before > 0);
  // Against the process's own count (the test runner does its work on this thread).
  const processBefore = process.cpuUsage();
  busyFor(200);
  const processUsed = process.cpuUsage(processBefore);
  const after = threadCpuSeconds(tid!)!;
  assert.ok(after - before! >= 0.2, `busy for 200 ms of CPU, counted ${((after - before!) * 1000).toFixed(0)} ms`);
  assert.ok((processUsed.user + processUsed.system) / 1e6 >= 0.8 * (after - before!), 'the process used at least what its thread did (within clock granularity)');
  assert.equal(threadCpuSeconds(2 ** 30), null, 'a thread that does not exist has no CPU time');
});

test('/metrics reports the request thread\'s and the learner thread\'s CPU time apart', { skip: !onLinux }, async () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'server-cpu-test-'));
  const server = await PolicyServer.start({ stateDir, port: 0, log: () => {} });
  try {
    const read = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const value = (thread: string) => Number(new RegExp(`^policy_server_thread_cpu_seconds\\{thread="${thread}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
      return { request: value('request'), learner: value('learner') };
    };
    const first = await read();
    assert.ok(first.request > 0, `request thread CPU ${first.request}`);
    assert.ok(first.learner > 0, `learner thread CPU ${first.learner} (it initialised the policy)`);
    busyFor(200);
    const second = await read();
    assert.ok(second.request - first.request >= 0.2, 'work on the request thread is charged to it');
    assert.ok(second.learner - first.learner < 0.1, 'and not to the idle learner thread');
  } finally {
    await server.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
