/**
 * Sweep throughput on this machine: the same sweep (seeds 1..N, fast preset, a fixed budget per
 * training) run with 1 and with 2 trainings at once, through the `sweep` command as users run it
 * (one process per point). Reports trainings per minute of wall-clock time for each, and the ratio.
 *
 * Options: --seeds N (default 4), --steps S (default 8192), --parallel P (the second run; default 2).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI_ENTRY } from '../src/sweep/local';

const { values } = parseArgs({ options: { seeds: { type: 'string', default: '4' }, steps: { type: 'string', default: '8192' }, parallel: { type: 'string', default: '2' } } });
const seeds = Number(values.seeds);
const steps = Number(values.steps);
const parallel = Number(values.parallel);
for (const [name, v] of [['seeds', seeds], ['steps', steps], ['parallel', parallel]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-sweep-'));

/** Runs the sweep with P at once; resolves to trainings per minute and the mean fraction of the optimum. */
function runSweep(p: number): { perMinute: number; seconds: number; meanFraction: number } {
  const out = path.join(dir, `parallel-${p}`);
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI_ENTRY, 'sweep', '--seeds', `1..${seeds}`, '--steps', String(steps), '--parallel', String(p), '--out', out], { encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`sweep with --parallel ${p} failed (exit ${r.status}): ${r.stderr.slice(-1000)}`);
  const rows = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')).rows as { fractionOfOptimum: number }[];
  const meanFraction = rows.reduce((s, row) => s + row.fractionOfOptimum, 0) / rows.length;
  console.log(`parallel ${p}: ${seeds} trainings of ${steps} steps in ${seconds.toFixed(1)} s (${((seeds / seconds) * 60).toFixed(2)} per minute), mean fraction of optimum ${meanFraction.toFixed(4)}`);
  return { perMinute: (seeds / seconds) * 60, seconds, meanFraction };
}

try {
  console.log(`sweep benchmark: seeds 1..${seeds}, ${steps} steps each, ${os.availableParallelism()} CPUs`);
  const one = runSweep(1);
  const many = runSweep(parallel);
  console.log(`RESULT sweep trainings_per_min_1=${one.perMinute.toFixed(2)} trainings_per_min_${parallel}=${many.perMinute.toFixed(2)} speedup=${(many.perMinute / one.perMinute).toFixed(2)} points=${seeds} steps=${steps}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
