/** Figures of the recorded dataset: heatmaps over the CPU x heap grid, distributions, rewards. */
import { meanByConfig, type TeastoreTable } from '../data';
import { cpuHeapGrid, METRIC_LABELS, type MetricColumn } from '../dataset-stats';
import { LEVELS } from '../space';
import { axisKey, axisRef, baseLayout, finiteOrNull, gridAxis, panelTitle, PALETTE, sideBySideDomains, stackedDomains, type Figure, type Trace } from './figure';

const CPU_TICKS = Array.from({ length: LEVELS }, (_, i) => (i + 1) * 100);
const HEAP_TICKS = CPU_TICKS;
const CPU_AXIS_TITLE = 'CPU limit (millicores)';
const HEAP_AXIS_TITLE = 'JVM heap -Xmx (MB)';

function gridOrNull(values: ArrayLike<number>, replicas: number): (number | null)[][] {
  return cpuHeapGrid(values, replicas).map((row) => finiteOrNull(row));
}

/**
 * Mean throughput and mean cost of every CPU x heap configuration at one replica count, side by
 * side: where the reward's two terms pull.
 */
export function throughputCostHeatmaps(table: TeastoreTable, replicas: number): Figure {
  const panels = [
    { values: meanByConfig(table, table.outgoingPacketsPerSec), title: 'mean throughput', unit: 'packets/s per pod', colorscale: 'Viridis' },
    { values: meanByConfig(table, table.costPerHour), title: 'mean cost', unit: 'USD/hour', colorscale: 'Reds' },
  ];
  const domains = sideBySideDomains(panels.length, 0.2);
  const layout = baseLayout(`Dataset at ${replicas} replica${replicas === 1 ? '' : 's'}: mean throughput and cost per configuration`, 480);
  const annotations: Record<string, unknown>[] = [];
  const data: Trace[] = panels.map((panel, i) => {
    const n = i + 1;
    layout[axisKey('x', n)] = { ...gridAxis, domain: domains[i], anchor: axisRef('y', n), title: { text: CPU_AXIS_TITLE }, tickvals: CPU_TICKS, showgrid: false };
    // Both panels share the heap axis: only the first names it, so the title does not hit the colour bar.
    layout[axisKey('y', n)] = { ...gridAxis, domain: [0, 0.92], anchor: axisRef('x', n), title: i === 0 ? { text: HEAP_AXIS_TITLE } : undefined, tickvals: HEAP_TICKS, showgrid: false };
    annotations.push(panelTitle(`${panel.title} (${panel.unit})`, domains[i], [0, 0.92]));
    return {
      type: 'heatmap',
      name: panel.title,
      x: CPU_TICKS,
      y: HEAP_TICKS,
      z: gridOrNull(panel.values, replicas),
      xaxis: axisRef('x', n),
      yaxis: axisRef('y', n),
      colorscale: panel.colorscale,
      colorbar: { x: domains[i][1] + 0.01, xanchor: 'left', len: 0.9, y: 0.46, thickness: 14, title: { text: panel.unit, side: 'right' } },
      hovertemplate: `cpu %{x}m, heap %{y} MB<br>${panel.title} %{z:.4g} ${panel.unit}<extra></extra>`,
    };
  });
  return { data, layout: { ...layout, annotations, hovermode: 'closest', showlegend: false, margin: { l: 80, r: 90, t: 90, b: 60 } } };
}

/** Histograms of the measured metrics over all rows (NaN rows left out and counted in the title). */
export function metricHistograms(table: TeastoreTable, columns: readonly MetricColumn[] = ['outgoingPacketsPerSec', 'usedCpuCores', 'usedRamGiB', 'costPerHour']): Figure {
  const cols = 2;
  const rows = Math.ceil(columns.length / cols);
  const xDomains = sideBySideDomains(cols, 0.1);
  const yDomains = stackedDomains(rows, 0.16);
  const layout = baseLayout(`Dataset: distributions of the measured metrics (${table.rowCount} rows)`, 280 * rows + 120);
  const annotations: Record<string, unknown>[] = [];
  const data: Trace[] = columns.map((column, i) => {
    const n = i + 1;
    const xd = xDomains[i % cols];
    const yd = yDomains[Math.floor(i / cols)];
    const values = Array.from(table[column] as ArrayLike<number>).filter((v) => !Number.isNaN(v));
    const missing = table.rowCount - values.length;
    layout[axisKey('x', n)] = { ...gridAxis, domain: xd, anchor: axisRef('y', n), title: { text: METRIC_LABELS[column] } };
    layout[axisKey('y', n)] = { ...gridAxis, domain: yd, anchor: axisRef('x', n), title: { text: 'rows' } };
    annotations.push(panelTitle(missing > 0 ? `${column} (${missing} NaN rows left out)` : column, xd, yd));
    return { type: 'histogram', name: column, x: values, nbinsx: 60, xaxis: axisRef('x', n), yaxis: axisRef('y', n), marker: { color: PALETTE[i % PALETTE.length] } };
  });
  return { data, layout: { ...layout, annotations, showlegend: false, hovermode: 'closest' } };
}

/**
 * Expected step reward of every configuration (the mean reward of its rows) as nine CPU x heap
 * heatmaps, one per replica count, on one colour scale: the landscape the agent climbs.
 */
export function rewardLandscape(expectedReward: ArrayLike<number>, rewardName = 'classic'): Figure {
  const cols = 3;
  const xDomains = sideBySideDomains(cols, 0.07).map(([a, b]) => [a * 0.92, b * 0.92] as [number, number]);
  const yDomains = stackedDomains(3, 0.1);
  const layout = baseLayout(`Expected step reward (${rewardName}) per configuration, one panel per replica count`, 900);
  const annotations: Record<string, unknown>[] = [];
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < expectedReward.length; i++) {
    if (Number.isFinite(expectedReward[i])) {
      min = Math.min(min, expectedReward[i]);
      max = Math.max(max, expectedReward[i]);
    }
  }
  const data: Trace[] = [];
  for (let replicas = 1; replicas <= LEVELS; replicas++) {
    const n = replicas;
    const xd = xDomains[(replicas - 1) % cols];
    const yd = yDomains[Math.floor((replicas - 1) / cols)];
    const bottomRow = replicas > LEVELS - cols;
    const leftColumn = (replicas - 1) % cols === 0;
    layout[axisKey('x', n)] = { ...gridAxis, domain: xd, anchor: axisRef('y', n), tickvals: [100, 300, 500, 700, 900], showgrid: false, title: bottomRow ? { text: CPU_AXIS_TITLE } : undefined };
    layout[axisKey('y', n)] = { ...gridAxis, domain: yd, anchor: axisRef('x', n), tickvals: [100, 300, 500, 700, 900], showgrid: false, title: leftColumn ? { text: HEAP_AXIS_TITLE } : undefined };
    annotations.push(panelTitle(`${replicas} replica${replicas === 1 ? '' : 's'}`, xd, yd));
    data.push({
      type: 'heatmap',
      name: `${replicas} replicas`,
      x: CPU_TICKS,
      y: HEAP_TICKS,
      z: gridOrNull(expectedReward, replicas),
      xaxis: axisRef('x', n),
      yaxis: axisRef('y', n),
      coloraxis: 'coloraxis',
      hovertemplate: `${replicas} replicas, cpu %{x}m, heap %{y} MB<br>expected reward %{z:.3f}<extra></extra>`,
    });
  }
  return {
    data,
    layout: {
      ...layout,
      annotations,
      showlegend: false,
      hovermode: 'closest',
      coloraxis: { colorscale: 'RdBu', cmin: Math.min(min, -max), cmax: Math.max(max, -min), colorbar: { title: { text: 'reward per step', side: 'right' }, x: 0.95, len: 0.9 } },
    },
  };
}
