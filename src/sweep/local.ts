/**
 * Runs a sweep's points on this machine, P at a time, each in its own process running the very
 * command an Indexed Job's pod runs (`rl-autoscaler sweep ... --index I`): a point's result does
 * not depend on where it ran, and a crashing point takes down only itself.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SweepPoint } from './plan';
import { pointFolder, type PointResult } from './train-point';
import type { PointFailure, SummaryRow } from './summary';

/** The command-line entry point the point processes start. */
export const CLI_ENTRY = path.resolve(__dirname, '..', '..', 'bin', 'rl-autoscaler.js');

export interface LocalRunOptions {
  sweep: string;
  sweepDir: string;
  points: readonly SweepPoint[];
  /** The `sweep` arguments every point runs with (`--index I` is appended). */
  args: readonly string[];
  parallel: number;
  /** Called as each point ends, in the order they end. */
  onPoint?: (row: SummaryRow) => void;
}

/** The result line of a point's stdout: its last line that parses as a JSON object. */
export function resultLine(stdout: string): PointResult | undefined {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines[i]) as PointResult;
    } catch {
      // not a result line
    }
  }
  return undefined;
}

function runPoint(options: LocalRunOptions, point: SweepPoint): Promise<SummaryRow> {
  const logFile = `${pointFolder(options.sweepDir, point.index)}.log`;
  const log = fs.createWriteStream(logFile);
  const env = { ...process.env };
  delete env.JOB_COMPLETION_INDEX; // the --index argument is the point's, whatever the parent's environment says
  const child = spawn(process.execPath, [CLI_ENTRY, 'sweep', ...options.args, '--index', String(point.index)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderrTail = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    log.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000);
    log.write(chunk);
  });
  return new Promise((resolve) => {
    const fail = (error: string): PointFailure => ({ sweep: options.sweep, index: point.index, seed: point.seed, settings: point.settings, error });
    child.on('error', (err) => log.end(() => resolve(fail(`cannot start ${CLI_ENTRY}: ${err.message}`))));
    child.on('close', (code, signal) => {
      log.end(() => {
        const result = resultLine(stdout);
        if (code === 0 && result) return resolve(result);
        const lastLine = stderrTail.trim().split('\n').pop() ?? '';
        resolve(fail(`${signal ? `killed by ${signal}` : `exit code ${code}`}${lastLine ? `: ${lastLine}` : ''} (log: ${logFile})`));
      });
    });
  });
}

/** Runs every point, at most `parallel` at once; resolves to the rows in index order. */
export async function runPointsLocally(options: LocalRunOptions): Promise<SummaryRow[]> {
  if (!Number.isInteger(options.parallel) || options.parallel < 1) throw new Error(`parallel must be a positive integer, got ${options.parallel}`);
  fs.mkdirSync(options.sweepDir, { recursive: true });
  const queue = [...options.points];
  const rows: SummaryRow[] = [];
  const worker = async () => {
    for (let point = queue.shift(); point; point = queue.shift()) {
      const row = await runPoint(options, point);
      rows.push(row);
      options.onPoint?.(row);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.parallel, options.points.length) }, worker));
  return rows.sort((a, b) => a.index - b.index);
}
