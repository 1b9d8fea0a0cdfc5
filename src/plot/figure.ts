/**
 * The plotly.js figure shape (`{data, layout}`) and layout helpers shared by the builders.
 *
 * Figures are plain JSON so they can be tested, saved, inlined into HTML or sent to a notebook
 * without a browser. Only the fields the builders use are typed; plotly accepts many more.
 */

/** One plotly trace. */
export interface Trace {
  type: 'scatter' | 'bar' | 'heatmap' | 'histogram';
  name?: string;
  x?: ArrayLike<number | string> | (number | string)[];
  y?: ArrayLike<number | string | null> | (number | string | null)[];
  z?: (number | null)[][];
  xaxis?: string;
  yaxis?: string;
  [key: string]: unknown;
}

export interface Axis {
  title?: { text: string };
  domain?: [number, number];
  anchor?: string;
  [key: string]: unknown;
}

export interface Layout {
  title?: { text: string; [key: string]: unknown };
  width?: number;
  height?: number;
  [key: string]: unknown;
}

export interface Figure {
  data: Trace[];
  layout: Layout;
}

/** Colours of the plotly default palette, by role, so related traces share a colour. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** Axis key in the layout (`xaxis`, `yaxis2`) for the n-th axis (1-based). */
export function axisKey(kind: 'x' | 'y', n: number): string {
  return n === 1 ? `${kind}axis` : `${kind}axis${n}`;
}

/** Axis reference on a trace (`x`, `y2`) for the n-th axis (1-based). */
export function axisRef(kind: 'x' | 'y', n: number): string {
  return n === 1 ? kind : `${kind}${n}`;
}

/**
 * Vertical domains for `rows` stacked panels (top first) with a gap between them; `weights`
 * gives some panels more height.
 */
export function stackedDomains(rows: number, gap = 0.04, weights: number[] = []): [number, number][] {
  const w = Array.from({ length: rows }, (_, i) => weights[i] ?? 1);
  const total = w.reduce((a, b) => a + b, 0);
  const usable = 1 - gap * (rows - 1);
  const domains: [number, number][] = [];
  let top = 1;
  for (let i = 0; i < rows; i++) {
    const height = (usable * w[i]) / total;
    domains.push([Math.max(0, top - height), top]);
    top -= height + gap;
  }
  return domains;
}

/** Domains for `count` panels side by side with a gap. */
export function sideBySideDomains(count: number, gap = 0.08): [number, number][] {
  const width = (1 - gap * (count - 1)) / count;
  return Array.from({ length: count }, (_, i) => [i * (width + gap), i * (width + gap) + width] as [number, number]);
}

/**
 * Shared look: white background, legend in a row above the plot area and above the panel
 * titles, so it never covers data or names.
 */
export function baseLayout(title: string, height: number, width = 900): Layout {
  const margin = { l: 80, r: 30, t: 110, b: 60 };
  const plotHeight = height - margin.t - margin.b;
  return {
    title: { text: title, x: 0.02, xanchor: 'left', y: 1 - 12 / height, yanchor: 'top' },
    width,
    height,
    plot_bgcolor: 'white',
    paper_bgcolor: 'white',
    font: { size: 12 },
    margin,
    legend: { orientation: 'h', x: 0, xanchor: 'left', y: 1 + 24 / plotHeight, yanchor: 'bottom', font: { size: 11 } },
    hovermode: 'x unified',
  };
}

/** A title annotation at the top left of a panel (plotly has no per-axis subplot titles in JSON). */
export function panelTitle(text: string, xDomain: [number, number], yDomain: [number, number]): Record<string, unknown> {
  return { text: `<b>${text}</b>`, xref: 'paper', yref: 'paper', x: xDomain[0], y: yDomain[1], xanchor: 'left', yanchor: 'bottom', showarrow: false, font: { size: 12 } };
}

export const gridAxis = { gridcolor: '#e5e5e5', zerolinecolor: '#bbbbbb', linecolor: '#888888', showline: true, mirror: false };

/** NaN and infinities become null: JSON has no NaN and plotly leaves a gap for null. */
export function finiteOrNull(values: ArrayLike<number>): (number | null)[] {
  return Array.from(values, (v) => (Number.isFinite(v) ? v : null));
}
