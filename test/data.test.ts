import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DatasetError, DEFAULT_DATA_PATH, loadTeastoreData, parseTeastoreData, rowRecord, toDataFrame } from '../src/data';
import { costPerHour } from '../src/measurement';
import { CONFIG_COUNT } from '../src/space';

const HEADER = 're heap cpu inc_tps out_tps max_sess curr_sess cpu ram cost goodness reward re heap cpu actionstate Qvalue';
const GOOD_ROW = ' 9  100  100   14.367   16.389   3   6  0.0999  0.3044  0.0400 -394.0 1.0  8  100 0.1 9-100-100-0 0.5';

function writeTemp(content: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rl-data-'));
  const file = path.join(dir, 'data.csv');
  writeFileSync(file, content);
  return file;
}

test('the bundled dataset loads with the documented shape', () => {
  const t = loadTeastoreData();
  assert.equal(t.rowCount, 21168);
  assert.equal(t.sha256, '51dfe92e811e2447c9e8070930d9ea0f16ddfa4a914263a71b3bcd33d50ca94a');
  // Heap comes before CPU in the file: row 558 is "9 100 100" and row 0 is 831/880 packets.
  assert.deepEqual([t.replicas[558], t.heapMB[558], t.cpuMillis[558]], [9, 100, 100]);
  assert.equal(Math.round(t.incomingPacketsPerSec[0]), 831);
  assert.equal(Math.round(t.outgoingPacketsPerSec[0]), 880);
  const nan = (a: Float64Array) => a.reduce((n, v) => n + (Number.isNaN(v) ? 1 : 0), 0);
  assert.equal(nan(t.incomingPacketsPerSec), 139);
  assert.equal(nan(t.outgoingPacketsPerSec), 160);
  // Every one of the 729 configurations has rows (min 6, max 65).
  let min = Infinity;
  let max = 0;
  for (let c = 0; c < CONFIG_COUNT; c++) {
    const n = t.configStart[c + 1] - t.configStart[c];
    min = Math.min(min, n);
    max = Math.max(max, n);
  }
  assert.deepEqual([min, max], [6, 65]);
  assert.equal(rowRecord(t, 558).actionState, t.actionState[558]);
});

test('the cost model reproduces the logged cost column within its rounding', () => {
  const t = loadTeastoreData();
  let worst = 0;
  for (let row = 0; row < t.rowCount; row++) {
    worst = Math.max(worst, Math.abs(costPerHour(t.usedCpuCores[row], t.usedRamGiB[row], t.replicas[row]) - t.costPerHour[row]));
  }
  assert.ok(worst < 1e-4, `largest difference ${worst}`);
});

test('the DataFrame has meaningful column names and every row', () => {
  const df = toDataFrame(loadTeastoreData());
  assert.deepEqual(df.shape, [21168, 17]);
  assert.ok(df.columns.includes('usedCpuCores') && df.columns.includes('heapMB'));
});

test('bad input gets an error naming the file, line, column and value', async (t) => {
  const cases: Array<[string, string | null, RegExp]> = [
    ['missing file', null, /cannot read the dataset \(ENOENT\)/],
    ['empty file', '', /the file is empty/],
    ['wrong header', HEADER.replace('heap cpu inc_tps', 'cpu heap inc_tps') + '\n' + GOOD_ROW, /:1: unexpected header/],
    ['header only', HEADER + '\n', /no data rows/],
    ['short row', `${HEADER}\n${GOOD_ROW}\n 9 100 100 1 2 3`, /:3: expected 17 fields, found 6/],
    ['non-numeric value', `${HEADER}\n${GOOD_ROW.replace('0.3044', '0.3x44')}`, /:2: column usedRamGiB: "0.3x44" is not a number/],
    ['NaN where not allowed', `${HEADER}\n${GOOD_ROW.replace('0.0999', 'NaN')}`, /:2: column usedCpuCores: NaN is not allowed/],
    ['off-grid heap', `${HEADER}\n${GOOD_ROW.replace(' 9  100  100', ' 9  150  100')}`, /:2: column heapMB: 150 is not on the grid/],
  ];
  for (const [name, content, message] of cases) {
    await t.test(name, () => {
      const file = content === null ? path.join(tmpdir(), 'does-not-exist', 'data.csv') : writeTemp(content);
      assert.throws(() => loadTeastoreData(file), (err: unknown) => {
        assert.ok(err instanceof DatasetError);
        assert.match(err.message, message);
        assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
        return true;
      });
    });
  }
});

test('NaN is accepted in the packet-rate columns and a missing final newline is fine', () => {
  const text = `${HEADER}\n${GOOD_ROW.replace('14.367', 'NaN').replace('16.389', 'NaN')}`;
  const t = parseTeastoreData(text, 'inline');
  assert.equal(t.rowCount, 1);
  assert.ok(Number.isNaN(t.incomingPacketsPerSec[0]) && Number.isNaN(t.outgoingPacketsPerSec[0]));
});

test('the bundled file is the one data/README.md describes', () => {
  const readme = readFileSync(path.join(path.dirname(DEFAULT_DATA_PATH), 'README.md'), 'utf8');
  assert.ok(readme.includes(loadTeastoreData().sha256));
});
