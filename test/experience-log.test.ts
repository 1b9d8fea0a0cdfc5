import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExperienceLog, readExperienceLog } from '../src/server/experience-log';

test('appends from many concurrent writers are durable in call order, grouped into few fsyncs', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'experience-log-test-')), 'experience.jsonl');
  const log = ExperienceLog.open(file, 0);
  const order: number[] = [];
  // 64 writers, each waiting for its last event to be durable before it appends the next.
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      for (let k = 0; k < 30; k++) {
        const { seq, durable } = log.append({ type: 'reward', episode: `writer-${w}`, reward: k });
        order.push(seq);
        await durable;
        // Acknowledged means on disk: the file already holds this event's line, whole.
        const lines = fs.readFileSync(file, 'utf8').split('\n');
        assert.ok(lines.some((line) => line.startsWith(`{"seq":${seq},`)), `event ${seq} acknowledged but not in the file`);
      }
    }),
  );
  await log.close();
  const { events, droppedBytes } = readExperienceLog(file);
  assert.equal(droppedBytes, 0);
  assert.deepEqual(
    events.map((e) => e.seq),
    Array.from({ length: 64 * 30 }, (_, i) => i + 1),
  );
  assert.deepEqual([...order].sort((a, b) => a - b), events.map((e) => e.seq));
  assert.equal(log.written, 64 * 30);
  assert.ok(log.groups < 64 * 30 / 4, `${log.groups} groups for ${64 * 30} events: appends of one turn should share a write and an fsync`);
  // A reopened log continues the sequence.
  const again = ExperienceLog.open(file, events.at(-1)!.seq);
  assert.equal(again.append({ type: 'reward', episode: 'late', reward: 1 }).seq, 64 * 30 + 1);
  await again.close();
});

test('process durability acknowledges once written, fsyncs in the background, and sync() waits for an fsync', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'experience-log-test-')), 'experience.jsonl');
  // A long interval: any fsync seen before it elapses was asked for by sync().
  const log = ExperienceLog.open(file, 0, 0, { durability: 'process', syncIntervalMs: 60_000 });
  assert.equal(log.durability, 'process');
  const appended = Array.from({ length: 10 }, (_, k) => log.append({ type: 'reward', episode: 'e', reward: k }));
  await Promise.all(appended.map((a) => a.durable));
  // Acknowledged means written to the file: another reader (a restarted process) sees every line.
  assert.deepEqual(readExperienceLog(file).events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(log.groups, 1, 'appends made by one piece of code share one write');
  assert.equal(log.syncs, 0, 'no fsync on the acknowledgement path');
  await log.sync();
  assert.equal(log.syncs, 1);
  await log.sync();
  assert.equal(log.syncs, 1, 'nothing new written, no new fsync');
  await log.close();
});

test('process durability fsyncs written events within the interval', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'experience-log-test-')), 'experience.jsonl');
  const log = ExperienceLog.open(file, 0, 0, { durability: 'process', syncIntervalMs: 20 });
  await log.append({ type: 'reward', episode: 'e', reward: 1 }).durable;
  const deadline = Date.now() + 5000;
  while (log.syncs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(log.syncs, 1);
  await log.close();
});

test('an unknown durability is refused by name', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'experience-log-test-')), 'experience.jsonl');
  assert.throws(() => ExperienceLog.open(file, 0, 0, { durability: 'disk' as never }), /durability must be one of process, machine, got "disk"/);
});

test('appends of one event-loop turn share a write; writeSoon() writes those of the running code without waiting a turn', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'experience-log-test-')), 'experience.jsonl');
  const log = ExperienceLog.open(file, 0, 0, { durability: 'process', syncIntervalMs: 60_000 });
  // Eight callbacks of one turn (like eight requests read in one turn): one write. Immediates
  // queued together run in one check phase; eight zero-delay timers may straddle a millisecond
  // and expire in two turns on a busy machine.
  await Promise.all(Array.from({ length: 8 }, (_, k) => new Promise<void>((resolve) => setImmediate(() => void log.append({ type: 'reward', episode: 'e', reward: k }).durable.then(resolve)))));
  assert.equal(log.written, 8);
  assert.equal(log.groups, 1, 'one write for the turn');
  // After the turn's I/O (as a batch of decisions answers its requests): appends from promise
  // callbacks are written before anything the next turn runs, if writeSoon() was asked.
  const writtenNextTurn = await new Promise<number>((resolve) =>
    setImmediate(() => {
      void Promise.resolve().then(() => log.append({ type: 'reward', episode: 'e', reward: 9 }));
      log.writeSoon();
      setImmediate(() => resolve(log.written));
    }),
  );
  assert.equal(writtenNextTurn, 9, 'the step appended in a promise callback was written in the same turn');
  assert.equal(log.groups, 2);
  await log.close();
  assert.deepEqual(readExperienceLog(file).events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

for (const durability of ['process', 'machine'] as const) {
  test(`${durability} durability: unacknowledged appends keep their place in the log and count as durable once the log says so`, async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'experience-log-test-')), 'experience.jsonl');
    const log = ExperienceLog.open(file, 0, 0, { durability, syncIntervalMs: 60_000 });
    const seqs = [log.appendUnacknowledged({ type: 'reward', episode: 'a', reward: 1 })];
    const acked = log.append({ type: 'reward', episode: 'b', reward: 2 });
    seqs.push(acked.seq, log.appendUnacknowledged({ type: 'reward', episode: 'a', reward: 3 }));
    assert.deepEqual(seqs, [1, 2, 3]);
    assert.equal(log.durableEvents, 0, 'nothing is durable before the write');
    await acked.durable;
    // The acknowledged event's group holds the unacknowledged ones around it.
    assert.equal(log.durableEvents, 3);
    assert.deepEqual(readExperienceLog(file).events.map((e) => [e.seq, (e as { episode: string }).episode]), [[1, 'a'], [2, 'b'], [3, 'a']]);
    await log.close();
  });
}

test('a failed log refuses unacknowledged appends and tells onFailure once', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'experience-log-test-')), 'experience.jsonl');
  const log = ExperienceLog.open(file, 0, 0, { durability: 'process' });
  const failures: string[] = [];
  log.onFailure = (err) => failures.push(err.message);
  // Closing the descriptor under the log makes its next write fail.
  fs.closeSync((log as unknown as { fd: number }).fd);
  const first = log.append({ type: 'reward', episode: 'a', reward: 1 });
  await assert.rejects(first.durable, /experience log .*experience\.jsonl: EBADF/);
  assert.equal(log.appendUnacknowledged({ type: 'reward', episode: 'a', reward: 2 }), -1);
  const third = log.append({ type: 'reward', episode: 'a', reward: 3 });
  assert.equal(third.seq, -1);
  await assert.rejects(third.durable, /EBADF/);
  assert.equal(failures.length, 1);
  assert.match(failures[0], /EBADF/);
});
