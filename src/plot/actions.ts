/** Bar charts comparing policies: how often each action was taken, and expected returns. */
import { ACTIONS } from '../space';
import { baseLayout, gridAxis, PALETTE, type Figure, type Trace } from './figure';

/** Share of steps on which each action was taken, one bar group per policy. */
export function actionFrequencyFigure(actionsByPolicy: { label: string; actions: number[] }[], title = 'How often each action was taken'): Figure {
  const names = ACTIONS.map((a) => a.name);
  const data: Trace[] = actionsByPolicy.map(({ label, actions }, i) => {
    const counts = new Array<number>(names.length).fill(0);
    for (const a of actions) counts[a]++;
    return { type: 'bar', name: `${label} (${actions.length} steps)`, x: names, y: counts.map((c) => (actions.length > 0 ? (100 * c) / actions.length : 0)), marker: { color: PALETTE[i % PALETTE.length] } };
  });
  const layout = baseLayout(title, 460);
  // Two-line tick labels (INCREASE / REPLICA) stay horizontal and do not overlap.
  const xaxis = { ...gridAxis, title: { text: 'action' }, tickangle: 0, tickvals: names, ticktext: names.map((n) => n.replace('_', '<br>')) };
  return { data, layout: { ...layout, barmode: 'group', hovermode: 'closest', margin: { ...(layout.margin as object), b: 90 }, xaxis, yaxis: { ...gridAxis, title: { text: 'share of steps (%)' }, rangemode: 'tozero' } } };
}

/** Expected 50-step return per policy as horizontal bars, best at the top. */
export function returnsFigure(returns: { label: string; value: number }[], title = 'Expected return per policy'): Figure {
  const sorted = [...returns].sort((a, b) => a.value - b.value);
  const data: Trace[] = [{
    type: 'bar',
    orientation: 'h',
    name: 'expected return',
    x: sorted.map((r) => r.value),
    y: sorted.map((r) => r.label),
    text: sorted.map((r) => r.value.toFixed(2)),
    textposition: 'auto',
    marker: { color: sorted.map((r) => (r.value >= 0 ? PALETTE[0] : PALETTE[3])) },
  }];
  const layout = baseLayout(title, 120 + 40 * sorted.length);
  return { data, layout: { ...layout, showlegend: false, hovermode: 'closest', margin: { l: 130, r: 30, t: 70, b: 60 }, xaxis: { ...gridAxis, title: { text: 'expected 50-step return' } }, yaxis: { ...gridAxis, automargin: true } } };
}
