/**
 * One figure per episode (or several episodes side by side in the same panels): the
 * configuration over time, the CPU and memory it used against its limits, the step and
 * cumulative reward, and the actions taken with refused (invalid) moves marked.
 *
 * Step k on the x axis is the k-th step: the action chosen then, the reward it earned and the
 * state it led to. Step 0 is the start state.
 */
import { ACTIONS } from '../space';
import type { EpisodeRecord } from '../agent/episode';
import { axisKey, axisRef, baseLayout, gridAxis, panelTitle, PALETTE, stackedDomains, type Figure, type Layout, type Trace } from './figure';

export interface LabelledEpisode {
  /** Legend name, e.g. "PPO" or "optimum". */
  label: string;
  record: EpisodeRecord;
}

const MIB_PER_GIB = 1024;
const ACTION_NAMES = ACTIONS.map((a) => a.name);

const PANELS = [
  { key: 'replicas', title: 'replicas', axis: 'replicas (pods)', weight: 1 },
  { key: 'cpu', title: 'CPU per pod: limit (solid) and used (dotted)', axis: 'CPU (millicores)', weight: 1.2 },
  { key: 'memory', title: 'memory per pod: JVM heap -Xmx (solid) and used working set (dotted)', axis: 'memory (MiB)', weight: 1.2 },
  { key: 'reward', title: 'reward of each step', axis: 'reward', weight: 1 },
  { key: 'return', title: 'cumulative reward', axis: 'return', weight: 1 },
  { key: 'action', title: 'action taken (red x: refused, off the grid)', axis: '', weight: 1.5 },
] as const;
type PanelKey = (typeof PANELS)[number]['key'];

function steps(count: number, from: number): number[] {
  return Array.from({ length: count }, (_, i) => i + from);
}

function cumulative(values: number[]): number[] {
  let sum = 0;
  return values.map((v) => (sum += v));
}

/**
 * Builds the episode figure. The first episode is drawn solid and opaque; further ones (the
 * optimum's trajectory, say) in their own colour, so the agent can be read against them.
 */
export function episodeFigure(episodes: LabelledEpisode[], title = 'Episode'): Figure {
  if (episodes.length === 0) throw new Error('episodeFigure needs at least one episode');
  const domains = stackedDomains(PANELS.length, 0.035, PANELS.map((p) => p.weight));
  const panelAxis = new Map<PanelKey, string>(PANELS.map((p, i) => [p.key, axisRef('y', i + 1)]));
  const length = Math.max(...episodes.map((e) => e.record.actions.length));
  const layout: Layout = baseLayout(title, 1150);
  // Room for the action names on the left.
  layout.margin = { ...(layout.margin as object), l: 140 };
  layout.xaxis = { ...gridAxis, title: { text: 'step' }, range: [-0.5, length + 0.5], anchor: axisRef('y', PANELS.length) };
  const annotations: Record<string, unknown>[] = [];
  PANELS.forEach((panel, i) => {
    const axis: Record<string, unknown> = { ...gridAxis, domain: domains[i], anchor: 'x', title: { text: panel.axis, font: { size: 11 } } };
    if (panel.key === 'replicas') Object.assign(axis, { range: [0.5, 9.5], tickvals: [1, 3, 5, 7, 9] });
    if (panel.key === 'action') Object.assign(axis, { type: 'category', categoryorder: 'array', categoryarray: ACTION_NAMES, range: [-0.5, ACTION_NAMES.length - 0.5], tickfont: { size: 10 } });
    layout[axisKey('y', i + 1)] = axis;
    annotations.push(panelTitle(panel.title, [0, 1], domains[i]));
  });

  const data: Trace[] = [];
  // Refused moves go last so their legend entries follow the episodes'.
  const refused: Trace[] = [];
  episodes.forEach((episode, e) => {
    const { record, label } = episode;
    const color = PALETTE[e % PALETTE.length];
    const group = `episode-${e}`;
    const states = steps(record.observations.length, 0);
    const moves = steps(record.actions.length, 1);
    // The first episode is drawn wide and underneath, later ones thin on top: where they agree,
    // both stay visible.
    const width = e === 0 ? 3.5 : 1.5;
    const line = (dash: 'solid' | 'dot' = 'solid') => ({ color, width, dash, shape: 'hv' });
    const common = { type: 'scatter' as const, legendgroup: group, showlegend: false, xaxis: 'x' };
    const obs = record.observations;

    // One legend entry per episode (on its replicas line); the panels say what each line is.
    data.push({ ...common, name: `${label} (return ${record.return.toFixed(2)})`, x: states, y: obs.map((o) => o.replicas), yaxis: panelAxis.get('replicas'), mode: 'lines', line: line(), showlegend: true });
    data.push({ ...common, name: `${label}: CPU limit (millicores)`, x: states, y: obs.map((o) => o.cpuMillis), yaxis: panelAxis.get('cpu'), mode: 'lines', line: line() });
    data.push({ ...common, name: `${label}: CPU used (millicores)`, x: states, y: obs.map((o) => o.usedCpu * 1000), yaxis: panelAxis.get('cpu'), mode: 'lines', line: line('dot') });
    data.push({ ...common, name: `${label}: heap -Xmx (MiB)`, x: states, y: obs.map((o) => o.heapMB), yaxis: panelAxis.get('memory'), mode: 'lines', line: line() });
    data.push({ ...common, name: `${label}: memory used (MiB)`, x: states, y: obs.map((o) => o.usedRam * MIB_PER_GIB), yaxis: panelAxis.get('memory'), mode: 'lines', line: line('dot') });
    data.push({ ...common, name: `${label}: step reward`, x: moves, y: record.rewards, yaxis: panelAxis.get('reward'), mode: 'lines+markers', marker: { size: e === 0 ? 6 : 4, color }, line: { color, width: e === 0 ? 2 : 1.2 } });
    data.push({ ...common, name: `${label}: cumulative reward`, x: moves, y: cumulative(record.rewards), yaxis: panelAxis.get('return'), mode: 'lines', line: { color, width } });
    data.push({
      ...common,
      name: `${label}: action`,
      x: moves,
      y: record.actions.map((a) => ACTION_NAMES[a]),
      yaxis: panelAxis.get('action'),
      mode: 'markers',
      // Open diamonds for later episodes keep equal actions at the same step both visible.
      marker: { color, size: 7, symbol: e === 0 ? 'circle' : 'diamond-open' },
    });
    const invalidSteps = moves.filter((_, i) => record.invalid[i]);
    if (invalidSteps.length > 0) {
      refused.push({
        ...common,
        name: `refused move (${label}: ${invalidSteps.length})`,
        x: invalidSteps,
        y: invalidSteps.map((k) => ACTION_NAMES[record.actions[k - 1]]),
        yaxis: panelAxis.get('action'),
        mode: 'markers',
        marker: { color: '#d62728', size: 12, symbol: 'x-thin-open', line: { width: 3, color: '#d62728' } },
        showlegend: true,
        legendgroup: 'invalid',
        meta: { role: 'invalid-moves' },
      });
    }
  });
  return { data: [...data, ...refused], layout: { ...layout, annotations } };
}
