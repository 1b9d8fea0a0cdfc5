/**
 * Figures of live runs: where each step's wall time went (rollout, warm-up, measurement,
 * overhead) and how the policies compared over the same live episodes.
 */
import type { StepTimings } from '../env/cluster-env';
import { episodeFigure, type LabelledEpisode } from './episode';
import { baseLayout, gridAxis, PALETTE, type Figure, type Trace } from './figure';

/** Steps whose timings are drawn together, e.g. one episode ("ppo, episode 1"). */
export interface TimedSteps {
  label: string;
  timings: StepTimings[];
}

/** What a comparison figure needs of a policy's live result (`PolicyResult` fits). */
export interface PolicyReturns {
  policy: string;
  meanReturn: number;
  /** The return of each episode. */
  returns: number[];
}

const PHASES = [
  { key: 'rolloutMs', name: 'rollout', color: PALETTE[0] },
  { key: 'warmupMs', name: 'warm-up', color: PALETTE[1] },
  { key: 'measureMs', name: 'measurement window', color: PALETTE[2] },
  { key: 'overheadMs', name: 'overhead', color: PALETTE[3] },
] as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Stacked bars, one per step, of the phases of its wall time in milliseconds. Steps are grouped
 * under their label on the x axis (plotly's two-level category axis); the legend gives each
 * phase's median, since the overhead is too thin to read off a bar.
 */
export function stepTimingFigure(groups: TimedSteps[], title = 'Where the time of each live step went'): Figure {
  const steps = groups.flatMap((g) => g.timings.map((t, k) => ({ group: g.label, step: `${k + 1}`, timings: t })));
  if (steps.length === 0) throw new Error('stepTimingFigure needs at least one timed step');
  // A multicategory axis takes one array per level (Trace's x type knows only flat arrays).
  const x = [steps.map((s) => s.group), steps.map((s) => s.step)] as unknown as string[];
  const data: Trace[] = PHASES.map((phase) => {
    const values = steps.map((s) => s.timings[phase.key]);
    return {
      type: 'bar',
      name: `${phase.name} (median ${median(values).toFixed(0)} ms)`,
      x,
      y: values,
      marker: { color: phase.color },
      hovertemplate: `${phase.name}: %{y:.0f} ms<extra></extra>`,
    };
  });
  const layout = baseLayout(title, 480, Math.max(900, 160 + 38 * steps.length));
  const totals = steps.map((s) => s.timings.totalMs);
  return {
    data,
    layout: {
      ...layout,
      barmode: 'stack',
      hovermode: 'closest',
      margin: { ...(layout.margin as object), b: 90 },
      xaxis: { ...gridAxis, type: 'multicategory', title: { text: `step within each episode (median total ${median(totals).toFixed(0)} ms per step)` } },
      yaxis: { ...gridAxis, title: { text: 'wall time per step (ms)' }, rangemode: 'tozero' },
    },
  };
}

/**
 * Mean return per policy as bars, each episode's return as a point on its bar, so a mean of one
 * lucky episode is told apart from a steady one.
 */
export function liveComparisonFigure(rows: PolicyReturns[], title = 'Live comparison: return per episode', stepsPerEpisode?: number): Figure {
  if (rows.length === 0) throw new Error('liveComparisonFigure needs at least one policy');
  const policies = rows.map((r) => r.policy);
  const bars: Trace = {
    type: 'bar',
    name: 'mean return',
    x: policies,
    y: rows.map((r) => r.meanReturn),
    marker: { color: PALETTE[0], opacity: 0.55 },
    hovertemplate: '%{x}: mean return %{y:.3f}<extra></extra>',
  };
  const points: Trace = {
    type: 'scatter',
    mode: 'markers',
    name: 'one episode',
    x: rows.flatMap((r) => r.returns.map(() => r.policy)),
    y: rows.flatMap((r) => r.returns),
    marker: { color: '#222222', size: 9, symbol: 'circle-open', line: { width: 2 } },
    hovertemplate: '%{x}: episode return %{y:.3f}<extra></extra>',
  };
  const all = rows.flatMap((r) => [r.meanReturn, ...r.returns]).filter(Number.isFinite);
  const low = Math.min(0, ...all);
  const high = Math.max(0, ...all);
  const pad = 0.1 * (high - low || 1);
  const layout = baseLayout(title, 460, Math.max(600, 200 + 140 * rows.length));
  const returnLabel = stepsPerEpisode ? `return over a ${stepsPerEpisode}-step episode` : 'return per episode';
  return {
    data: [bars, points],
    layout: {
      ...layout,
      hovermode: 'closest',
      // The mean under each policy's name: a label on the bar would collide with its points.
      xaxis: {
        ...gridAxis,
        title: { text: 'policy' },
        tickvals: policies,
        ticktext: rows.map((r) => `${r.policy}<br>mean ${r.meanReturn.toFixed(3)}, ${r.returns.length} episode${r.returns.length === 1 ? '' : 's'}`),
      },
      yaxis: { ...gridAxis, title: { text: `${returnLabel} (sum of step rewards)` }, range: [low < 0 ? low - pad : 0, high + pad] },
    },
  };
}

/** The episode figure for live episodes: short ones, so the step axis ticks whole steps. */
export function liveEpisodeFigure(episodes: LabelledEpisode[], title = 'Live episode'): Figure {
  const figure = episodeFigure(episodes, title);
  figure.layout.xaxis = { ...(figure.layout.xaxis as object), dtick: 1, tick0: 0 };
  return figure;
}
