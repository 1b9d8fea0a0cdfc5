/**
 * The in-place ablation as a figure: changes per hour of each knob, one group of bars per arm
 * and policy, so one sees at a glance which knobs a policy moves when CPU is cheap to move.
 */
import type { AblationRow } from '../agent/in-place-ablation';
import { baseLayout, gridAxis, PALETTE, type Figure, type Trace } from './figure';

const KNOBS: { key: 'replicaChangesPerHour' | 'cpuChangesPerHour' | 'heapChangesPerHour'; label: string }[] = [
  { key: 'replicaChangesPerHour', label: 'replicas' },
  { key: 'cpuChangesPerHour', label: 'CPU limit' },
  { key: 'heapChangesPerHour', label: 'heap' },
];

export function inPlaceAblationFigure(rows: readonly AblationRow[], title = 'Changes per hour by knob, with and without in-place CPU resize'): Figure {
  const groups = rows.map((r) => `${r.arm}: ${r.policy}`);
  const data: Trace[] = KNOBS.map(({ key, label }, i) => ({
    type: 'bar',
    name: label,
    x: groups,
    y: rows.map((r) => r[key]),
    marker: { color: PALETTE[i % PALETTE.length] },
    hovertemplate: `${label}: %{y:.1f}/h<extra>%{x}</extra>`,
  }) as Trace);
  const layout = baseLayout(title, 480);
  layout.barmode = 'group';
  layout.xaxis = { ...gridAxis, title: { text: 'arm: policy' } };
  layout.yaxis = { ...gridAxis, rangemode: 'tozero', title: { text: 'changes per hour' } };
  return { data, layout };
}
