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
