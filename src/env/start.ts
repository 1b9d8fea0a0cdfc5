/**
 * Where an episode starts: a fixed dataset row (row 558 reproduces the original), a uniformly drawn
 * row (`random-row`, so configurations are drawn as often as they were logged), or a given
 * configuration (its observation is drawn from that configuration's rows).
 */
import { configIndex, assertOnGrid, type ScalingConfig } from '../space';

export type Start = { kind: 'row'; row: number } | { kind: 'random-row' } | { kind: 'config'; config: ScalingConfig };

export const ORIGINAL_START: Start = { kind: 'row', row: 558 };

/** Parses `<replicas>,<cpuMillis>,<heapMB>` (e.g. `1,500,500`), checked against the grid. */
export function parseConfigText(text: string, what = 'config'): ScalingConfig {
  const m = /^(\d+),(\d+),(\d+)$/.exec(text);
  if (!m) throw new Error(`${what} must be <replicas>,<cpuMillis>,<heapMB>, e.g. 1,500,500; got ${JSON.stringify(text)}`);
  const config = { replicas: Number(m[1]), cpuMillis: Number(m[2]), heapMB: Number(m[3]) };
  assertOnGrid(config, what);
  return config;
}

/** Parses `row:558`, `random-row` or `config:<replicas>,<cpuMillis>,<heapMB>`. */
export function parseStart(text: string): Start {
  if (text === 'random-row') return { kind: 'random-row' };
  const row = /^row:(\d+)$/.exec(text);
  if (row) return { kind: 'row', row: Number(row[1]) };
  if (text.startsWith('config:')) return { kind: 'config', config: parseConfigText(text.slice('config:'.length), 'start') };
  throw new Error(`invalid start ${JSON.stringify(text)}: expected row:<n>, random-row or config:<replicas>,<cpuMillis>,<heapMB>`);
}

export function formatStart(start: Start): string {
  switch (start.kind) {
    case 'row':
      return `row:${start.row}`;
    case 'random-row':
      return 'random-row';
    case 'config':
      return `config:${start.config.replicas},${start.config.cpuMillis},${start.config.heapMB}`;
  }
}

export function checkStart(start: Start, rowCount: number): void {
  if (start.kind === 'row' && (!Number.isInteger(start.row) || start.row < 0 || start.row >= rowCount)) {
    throw new Error(`start row ${start.row} is outside the dataset's rows 0..${rowCount - 1}`);
  }
  if (start.kind === 'config') configIndex(start.config);
}
