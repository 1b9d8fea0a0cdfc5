/**
 * Training curves: episodic return against environment steps with the optimum (and any
 * baselines) as horizontal lines, then the losses, entropy, approximate KL and clip fraction.
 */
import { axisKey, axisRef, baseLayout, finiteOrNull, gridAxis, panelTitle, PALETTE, stackedDomains, type Figure, type Layout, type Trace } from './figure';

/** One logged training iteration. Missing fields are drawn as gaps. */
export interface TrainingPoint {
  envSteps: number;
  episodicReturnMean: number;
  episodicReturnMin?: number;
  episodicReturnMax?: number;
  policyLoss?: number;
  valueLoss?: number;
  entropy?: number;
  approxKl?: number;
  clipFraction?: number;
}

/** A horizontal reference line on the return panel. */
export interface ReferenceLine {
  label: string;
  value: number;
}

type Metric = Exclude<keyof TrainingPoint, 'envSteps' | 'episodicReturnMean' | 'episodicReturnMin' | 'episodicReturnMax'>;

const PANELS: { metric: Metric; title: string; axis: string }[] = [
  { metric: 'policyLoss', title: 'policy loss (clipped surrogate)', axis: 'policy loss' },
  { metric: 'valueLoss', title: 'value loss (squared error)', axis: 'value loss' },
  { metric: 'entropy', title: 'policy entropy', axis: 'entropy (nats)' },
  { metric: 'approxKl', title: 'approximate KL divergence old -> new policy', axis: 'approx KL (nats)' },
  { metric: 'clipFraction', title: 'fraction of samples clipped', axis: 'clip fraction' },
];

export function trainingFigure(history: TrainingPoint[], references: ReferenceLine[] = [], title = 'Training'): Figure {
  const rows = 1 + PANELS.length;
  const domains = stackedDomains(rows, 0.035, [2.6, 1, 1, 1, 1, 1]);
  const layout: Layout = baseLayout(title, 1100);
  const steps = history.map((p) => p.envSteps);
  const last = steps.length > 0 ? steps[steps.length - 1] : 1;
  layout.xaxis = { ...gridAxis, title: { text: 'environment steps' }, anchor: axisRef('y', rows), range: [0, last * 1.01] };
  const annotations: Record<string, unknown>[] = [panelTitle('episodic return (50 steps) against environment steps', [0, 1], domains[0])];
  layout.yaxis = { ...gridAxis, domain: domains[0], anchor: 'x', title: { text: 'episodic return' } };

  const data: Trace[] = [];
  const hasBand = history.some((p) => p.episodicReturnMin !== undefined && p.episodicReturnMax !== undefined);
  if (hasBand) {
    data.push({ type: 'scatter', name: 'episode min', x: steps, y: finiteOrNull(history.map((p) => p.episodicReturnMin ?? Number.NaN)), mode: 'lines', line: { width: 0 }, showlegend: false, hoverinfo: 'skip' });
    data.push({ type: 'scatter', name: 'min..max over the iteration', x: steps, y: finiteOrNull(history.map((p) => p.episodicReturnMax ?? Number.NaN)), mode: 'lines', line: { width: 0 }, fill: 'tonexty', fillcolor: 'rgba(31,119,180,0.18)' });
  }
  data.push({ type: 'scatter', name: 'mean episodic return', x: steps, y: finiteOrNull(history.map((p) => p.episodicReturnMean)), mode: 'lines+markers', marker: { size: 4 }, line: { color: PALETTE[0], width: 2.2 } });
  references.forEach((ref, i) => {
    const color = i === 0 ? '#2ca02c' : PALETTE[(i + 2) % PALETTE.length];
    data.push({ type: 'scatter', name: `${ref.label} (${ref.value.toFixed(2)})`, x: [0, last], y: [ref.value, ref.value], mode: 'lines', line: { color, dash: i === 0 ? 'dash' : 'dot', width: 1.8 }, hoverinfo: 'name' });
  });

  PANELS.forEach((panel, i) => {
    const n = i + 2;
    layout[axisKey('y', n)] = { ...gridAxis, domain: domains[i + 1], anchor: 'x', title: { text: panel.axis, font: { size: 11 } } };
    annotations.push(panelTitle(panel.title, [0, 1], domains[i + 1]));
    data.push({ type: 'scatter', name: panel.axis, x: steps, y: finiteOrNull(history.map((p) => p[panel.metric] ?? Number.NaN)), yaxis: axisRef('y', n), mode: 'lines', line: { color: PALETTE[(i + 1) % PALETTE.length], width: 1.6 }, showlegend: false });
  });
  // A filled band makes plotly reverse the legend by default; keep it in trace order.
  return { data, layout: { ...layout, annotations, legend: { ...(layout.legend as object), traceorder: 'normal' } } };
}

/** One line of a run's history.jsonl (structurally; see agent/history HistoryRecord). */
export interface HistoryLike {
  env_steps: number;
  episodic_return_mean: number | null;
  episodic_return_min?: number | null;
  episodic_return_max?: number | null;
  policy_loss?: number | null;
  value_loss?: number | null;
  entropy?: number | null;
  approx_kl?: number | null;
  clip_fraction?: number | null;
}

const orNaN = (x: number | null | undefined): number => (typeof x === 'number' ? x : Number.NaN);
const orUndefined = (x: number | null | undefined): number | undefined => (typeof x === 'number' ? x : undefined);

/** Training points from a run's history (readHistory); updates that finished no episode get a gap. */
export function trainingPoints(history: readonly HistoryLike[]): TrainingPoint[] {
  return history.map((r) => ({
    envSteps: r.env_steps,
    episodicReturnMean: orNaN(r.episodic_return_mean),
    episodicReturnMin: orUndefined(r.episodic_return_min),
    episodicReturnMax: orUndefined(r.episodic_return_max),
    policyLoss: orUndefined(r.policy_loss),
    valueLoss: orUndefined(r.value_loss),
    entropy: orUndefined(r.entropy),
    approxKl: orUndefined(r.approx_kl),
    clipFraction: orUndefined(r.clip_fraction),
  }));
}
