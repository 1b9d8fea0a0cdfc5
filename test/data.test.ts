import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { COLUMN_NAMES, DatasetError, DEFAULT_DATA_PATH, loadTeastoreData, parseTeastoreData, rowRecord, toDataFrame } from '../src/data';
import { describeColumns, summarizeValues } from '../src/dataset-stats';
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

/** GOOD_ROW with one field replaced, addressed by its column name. */
function rowWith(column: (typeof COLUMN_NAMES)[number], token: string): string {
  const tokens = GOOD_ROW.trim().split(/\s+/);
  tokens[COLUMN_NAMES.indexOf(column)] = token;
  return tokens.join(' ');
}

test('physically impossible values are refused with the file, line, column and value', async (t) => {
  const cases: Array<[(typeof COLUMN_NAMES)[number], string, RegExp]> = [
    ['usedCpuCores', '-0.0999', /is negative/],
    ['usedRamGiB', '-0.3044', /is negative/],
    ['costPerHour', '-0.0400', /is negative/],
    ['incomingPacketsPerSec', '-14.367', /is negative/],
    ['outgoingPacketsPerSec', '-1', /is negative/],
    ['maxSessionRate', '-3', /is not a non-negative integer/],
    ['maxSessionRate', '2.5', /is not a non-negative integer/],
    ['currentSessionRate', '-6', /is not a non-negative integer/],
    ['currentSessionRate', '6.5', /is not a non-negative integer/],
    ['replicas', '-1', /is not on the grid 1\.\.9 step 1/],
    ['replicas', '0', /is not on the grid 1\.\.9 step 1/],
    ['replicas', '2.5', /is not on the grid 1\.\.9 step 1/],
    ['replicas', '10', /is not on the grid 1\.\.9 step 1/],
    ['nextReplicas', '1.5', /is not on the grid 1\.\.9 step 1/],
    ['nextReplicas', '-2', /is not on the grid 1\.\.9 step 1/],
    ['cpuMillis', '-100', /is not on the grid 100\.\.900 step 100/],
    ['cpuMillis', '1000', /is not on the grid 100\.\.900 step 100/],
    ['cpuMillis', '100.5', /is not on the grid 100\.\.900 step 100/],
    ['heapMB', '0', /is not on the grid 100\.\.900 step 100/],
    ['nextHeapMB', '250', /is not on the grid 100\.\.900 step 100/],
    ['nextCpuCores', '0.15', /is not on the grid 0\.1\.\.0\.9 step 0\.1/],
    ['nextCpuCores', '100', /is not on the grid 0\.1\.\.0\.9 step 0\.1/],
    ['nextCpuCores', '0', /is not on the grid 0\.1\.\.0\.9 step 0\.1/],
    ['usedCpuCores', '1e999', /is infinite/],
    ['goodness', 'Infinity', /is infinite/],
    ['qValue', '-inf', /is infinite/],
    ['loggedReward', '-1e400', /is infinite/],
    ['outgoingPacketsPerSec', '+Inf', /is infinite/],
    ['actionState', '9-100-100-7', /is not prevReplicas-prevHeapMB-prevCpuMillis-prevAction/],
    ['actionState', '9-150-100-0', /is not prevReplicas-prevHeapMB-prevCpuMillis-prevAction/],
    ['actionState', '9-100-100', /is not prevReplicas-prevHeapMB-prevCpuMillis-prevAction/],
  ];
  for (const [column, token, reason] of cases) {
    await t.test(`${column} = ${token}`, () => {
      // The bad value sits on the second data row, line 3 of the file.
      const file = writeTemp(`${HEADER}\n${GOOD_ROW}\n${rowWith(column, token)}`);
      assert.throws(() => loadTeastoreData(file), (err: unknown) => {
        assert.ok(err instanceof DatasetError, String(err));
        assert.ok(err.message.startsWith(`${file}:3: column ${column}: ${token} `), err.message);
        assert.match(err.message, reason);
        assert.deepEqual([err.file, err.line, err.column, err.value], [file, 3, column, token]);
        return true;
      });
    });
  }
});

test('values at the edge of what is possible are accepted', () => {
  const rows = [
    // Metrics-server gaps: zero usage and cost; a zero packet rate and session rates.
    rowWith('usedCpuCores', '0').replace(' 0.3044 ', ' 0 ').replace(' 0.0400 ', ' 0.0 '),
    rowWith('outgoingPacketsPerSec', '0.0'),
    rowWith('maxSessionRate', '0'),
    rowWith('currentSessionRate', '0'),
    // The grid's ends, the next CPU limit in cores with a trailing zero, signed scores.
    rowWith('nextCpuCores', '0.90'),
    rowWith('nextCpuCores', '0.30'),
    rowWith('nextReplicas', '1'),
    rowWith('nextHeapMB', '900'),
    rowWith('goodness', '-2492.829'),
    rowWith('loggedReward', '-10000.3072'),
    rowWith('qValue', '-1329.9021'),
    rowWith('actionState', '1-900-900-6'),
  ];
  const t = parseTeastoreData(`${HEADER}\n${rows.join('\n')}`, 'inline');
  assert.equal(t.rowCount, rows.length);
  assert.deepEqual([t.usedCpuCores[0], t.usedRamGiB[0], t.costPerHour[0]], [0, 0, 0]);
  assert.equal(t.nextCpuCores[4], 0.9);
  assert.equal(t.actionState[11], '1-900-900-6');
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

test('summarizeValues skips NaN and counts it', () => {
  // Worked by hand: the non-NaN values are 1, 2, 3, 4.
  const s = summarizeValues([4, Number.NaN, 1, 3, Number.NaN, 2]);
  assert.equal(s.count, 4);
  assert.equal(s.nanCount, 2);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.std - Math.sqrt(5 / 3)) < 1e-12, `std ${s.std}`); // (2.25 + 0.25 + 0.25 + 2.25) / 3
  assert.deepEqual([s.min, s.q25, s.median, s.q75, s.max], [1, 1.75, 2.5, 3.25, 4]);
  // An odd count has a middle value; one value has no spread; none has no statistics.
  assert.equal(summarizeValues([5, 1, Number.NaN, 3]).median, 3);
  const one = summarizeValues([Number.NaN, 7]);
  assert.deepEqual([one.count, one.nanCount, one.mean, one.median, one.min, one.max], [1, 1, 7, 7, 7, 7]);
  assert.ok(Number.isNaN(one.std));
  const none = summarizeValues([Number.NaN, Number.NaN]);
  assert.deepEqual([none.count, none.nanCount], [0, 2]);
  for (const key of ['mean', 'std', 'min', 'q25', 'median', 'q75', 'max'] as const) assert.ok(Number.isNaN(none[key]), key);
});

test('describeColumns summarises the packet rates over their non-NaN rows', () => {
  const table = loadTeastoreData();
  const rows = describeColumns(table, ['incomingPacketsPerSec', 'outgoingPacketsPerSec', 'replicas', 'usedCpuCores']);
  assert.deepEqual(rows.map((r) => r.column), ['incomingPacketsPerSec', 'outgoingPacketsPerSec', 'replicas', 'usedCpuCores']);
  for (const row of rows) {
    // Recomputed here the plain way: filter, sort, average, middle element(s).
    const all = Array.from(table[row.column] as ArrayLike<number>);
    const values = all.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
    const median = n % 2 === 1 ? values[(n - 1) / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    assert.equal(row.count, n, row.column);
    assert.equal(row.nanCount, all.length - n, row.column);
    assert.ok(Math.abs(row.mean - mean) <= 1e-9 * Math.abs(mean), `${row.column} mean ${row.mean} vs ${mean}`);
    assert.ok(Math.abs(row.std - Math.sqrt(variance)) <= 1e-9 * Math.sqrt(variance), `${row.column} std`);
    assert.deepEqual([row.min, row.median, row.max], [values[0], median, values[n - 1]], row.column);
    for (const key of ['mean', 'std', 'min', 'q25', 'median', 'q75', 'max'] as const) assert.ok(Number.isFinite(row[key]), `${row.column} ${key}`);
  }
  // The counts and values the dataset's reference description gives (computed there in plain Python).
  const [incoming, outgoing] = rows;
  assert.deepEqual([incoming.count, incoming.nanCount, outgoing.count, outgoing.nanCount], [21029, 139, 21008, 160]);
  assert.equal(incoming.mean.toFixed(1), '608.3');
  assert.equal(incoming.median.toFixed(1), '430.0');
  assert.equal(outgoing.mean.toFixed(1), '757.1');
  assert.equal(outgoing.median.toFixed(1), '505.3');
  assert.deepEqual([incoming.min, incoming.max, outgoing.min, outgoing.max], [1.767, 5419.433, 0, 7252.733]);
});
