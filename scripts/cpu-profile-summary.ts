/**
 * Self time per function (and per file) of a V8 `.cpuprofile` (node --cpu-prof), heaviest first:
 * where a process's CPU goes, without a browser.
 *
 *   tsx scripts/cpu-profile-summary.ts PROFILE.cpuprofile [--top N] [--by function|file]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

function readProfile(file: string): CpuProfile {
  let profile: CpuProfile;
  try {
    profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  } catch (err) {
    throw new Error(`${file}: not a readable .cpuprofile (${(err as Error).message})`);
  }
  if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas)) {
    throw new Error(`${file}: not a V8 CPU profile (nodes, samples and timeDeltas expected)`);
  }
  return profile;
}

function frameName(node: ProfileNode, by: 'function' | 'file'): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? url.replace(/^file:\/\//, '').replace(/.*\/(node_modules\/)/, '$1').replace(/.*\/(src|bench)\//, '$1/') : '';
  if (by === 'file') return file || `(${functionName || 'native'})`;
  return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
}

/** Self time per function or file; a sample's time is the delta to the next sample. */
export function selfTimes(profile: CpuProfile, by: 'function' | 'file' = 'function'): { total: number; rows: SelfTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    const name = frameName(node, by);
    totals.set(name, (totals.get(name) ?? 0) + delta);
    total += delta;
  }
  const rows = [...totals].map(([name, ms]) => ({ name, ms, share: ms / total })).sort((a, b) => b.ms - a.ms);
  return { total, rows };
}

function main(argv: string[]): void {
  const files = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  const top = Number(argv[argv.indexOf('--top') + 1] ?? 40) || 40;
  const by = argv.includes('--by') ? (argv[argv.indexOf('--by') + 1] as 'function' | 'file') : 'function';
  if (!files.length || (by !== 'function' && by !== 'file')) {
    console.error('usage: tsx scripts/cpu-profile-summary.ts PROFILE.cpuprofile [--top N] [--by function|file]');
    process.exitCode = 2;
    return;
  }
  for (const file of files) {
    const { total, rows } = selfTimes(readProfile(file), by);
    console.log(`${path.basename(file)}: ${total.toFixed(0)} ms sampled`);
    for (const r of rows.slice(0, top)) console.log(`${r.ms.toFixed(1).padStart(9)} ms ${(100 * r.share).toFixed(1).padStart(5)}%  ${r.name}`);
  }
}

if (require.main === module) main(process.argv.slice(2));
