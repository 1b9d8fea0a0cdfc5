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
  const lines = [`  ${'policy'.padEnd(12)} ${'episodes'.padStart(8)} ${'mean return'.padStart(12)} ${'mean step reward'.padStart(17)} ${'invalid'.padStart(8)}`];
  for (const r of rows) {
    lines.push(`  ${r.policy.padEnd(12)} ${String(r.episodes).padStart(8)} ${r.meanReturn.toFixed(3).padStart(12)} ${r.meanStepReward.toFixed(4).padStart(17)} ${String(r.invalidMoves).padStart(8)}`);
  }
  return lines.join('\n');
}

export function formatTimings(timings: StepTimings[]): string {
  if (timings.length === 0) return '  no steps';
  const keys: (keyof StepTimings)[] = ['rolloutMs', 'warmupMs', 'measureMs', 'overheadMs', 'totalMs'];
  return keys.map((k) => `  median ${k.replace(/Ms$/, '').padEnd(9)} ${median(timings.map((t) => t[k])).toFixed(0).padStart(7)} ms`).join('\n');
}
