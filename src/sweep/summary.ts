/** The sweep's summary table: one row per point, written as markdown, CSV and JSON beside the checkpoints. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Grid } from './plan';
import type { PointResult } from './train-point';

/** A point that did not produce a result (its process failed); kept in the table so nothing is silently missing. */
export interface PointFailure {
  sweep: string;
  index: number;
  seed: number;
  settings: PointResult['settings'];
  error: string;
}

export type SummaryRow = PointResult | PointFailure;

export const isFailure = (row: SummaryRow): row is PointFailure => 'error' in row;

const num = (v: number | null, digits: number) => (v === null || !Number.isFinite(v) ? '' : v.toFixed(digits));

/** Column headers and cell texts, shared by the markdown and CSV forms. */
function cells(rows: readonly SummaryRow[], grid: Grid): { header: string[]; body: string[][] } {
  const keys = grid.map((g) => g.key);
  const header = ['index', 'seed', ...keys, 'final_return', 'fraction_of_optimum', 'exact_return', 'optimum', 'seconds', 'checkpoint'];
  const body = rows.map((r) => {
    const settings = keys.map((k) => (r.settings[k] === null ? 'none' : String(r.settings[k])));
    if (isFailure(r)) return [String(r.index), String(r.seed), ...settings, '', '', '', '', '', `FAILED: ${r.error}`];
    return [String(r.index), String(r.seed), ...settings, num(r.finalReturn, 3), num(r.fractionOfOptimum, 4), num(r.exactReturn, 3), num(r.optimum, 3), num(r.seconds, 1), r.checkpoint];
  });
  return { header, body };
}

export function formatMarkdown(rows: readonly SummaryRow[], grid: Grid): string {
  const { header, body } = cells(rows, grid);
  const line = (c: string[]) => `| ${c.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...body.map(line)].join('\n') + '\n';
}

const csvCell = (text: string) => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

export function formatCsv(rows: readonly SummaryRow[], grid: Grid): string {
  const { header, body } = cells(rows, grid);
  return [header, ...body].map((c) => c.map(csvCell).join(',')).join('\n') + '\n';
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Writes summary.md, summary.csv and summary.json into the sweep folder; returns their paths. */
export function writeSummary(sweepDir: string, rows: readonly SummaryRow[], grid: Grid, extra: Record<string, unknown> = {}): { markdown: string; csv: string; json: string } {
  fs.mkdirSync(sweepDir, { recursive: true });
  const files = { markdown: path.join(sweepDir, 'summary.md'), csv: path.join(sweepDir, 'summary.csv'), json: path.join(sweepDir, 'summary.json') };
  const sorted = [...rows].sort((a, b) => a.index - b.index);
  writeAtomically(files.markdown, formatMarkdown(sorted, grid));
  writeAtomically(files.csv, formatCsv(sorted, grid));
  writeAtomically(files.json, JSON.stringify({ ...extra, grid, rows: sorted }, null, 2) + '\n');
  return files;
}
