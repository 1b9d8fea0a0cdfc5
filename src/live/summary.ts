/** Text summaries of live runs: the policy comparison and where the step time went. */
import type { StepTimings } from '../env/cluster-env';
import type { PolicyResult } from './run';

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function formatComparison(rows: PolicyResult[]): string {
  // Under load, what each policy did to the requests and what it allocated.
  const underLoad = rows.some((r) => r.load);
  const sloMs = rows.find((r) => r.load)?.load?.p99TargetMs;
  const loadHeader = underLoad ? ` ${`p99<=${sloMs}ms`.padStart(12)} ${'mean cores'.padStart(10)} ${'served'.padStart(7)} ${'changes'.padStart(8)}` : '';
  const lines = [`  ${'policy'.padEnd(12)} ${'episodes'.padStart(8)} ${'mean return'.padStart(12)} ${'mean step reward'.padStart(17)} ${'invalid'.padStart(8)}${loadHeader}`];
  for (const r of rows) {
    const l = r.load;
    const loadCells = !underLoad ? '' : l ? ` ${pct(l.sloAttainment).padStart(12)} ${l.meanCores.toFixed(2).padStart(10)} ${pct(l.servedShare).padStart(7)} ${l.changes.toFixed(1).padStart(8)}` : ` ${'-'.padStart(12)} ${'-'.padStart(10)} ${'-'.padStart(7)} ${'-'.padStart(8)}`;
    lines.push(`  ${r.policy.padEnd(12)} ${String(r.episodes).padStart(8)} ${r.meanReturn.toFixed(3).padStart(12)} ${r.meanStepReward.toFixed(4).padStart(17)} ${String(r.invalidMoves).padStart(8)}${loadCells}`);
  }
  return lines.join('\n');
}

function pct(share: number): string {
  return `${(100 * share).toFixed(0)}%`;
}

export function formatTimings(timings: StepTimings[]): string {
  if (timings.length === 0) return '  no steps';
  const keys: (keyof StepTimings)[] = ['rolloutMs', 'warmupMs', 'measureMs', 'overheadMs', 'totalMs'];
  return keys.map((k) => `  median ${k.replace(/Ms$/, '').padEnd(9)} ${median(timings.map((t) => t[k])).toFixed(0).padStart(7)} ms`).join('\n');
}
