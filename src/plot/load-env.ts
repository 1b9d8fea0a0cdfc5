/**
 * Figures of the load environment: episodes of several policies on one load, three panels on one
 * time axis: the load against each policy's capacity, p99 latency against the SLO line, and the
 * allocated cores (the configuration) over time.
 */
import type { LoadEpisode } from '../agent/load-evaluate';
import { allocatedCores } from '../request-reward';
import type { ScalingConfig } from '../space';
import { axisKey, axisRef, baseLayout, gridAxis, panelTitle, PALETTE, stackedDomains, type Figure, type Trace } from './figure';

export interface LabelledLoadEpisode {
  label: string;
  episode: LoadEpisode;
}

/**
 * `capacity(config)` gives the highest rate a configuration serves (the model's `capacity`);
 * `intervalSeconds` scales the time axis to minutes.
 */
export function loadEpisodeFigure(
  episodes: readonly LabelledLoadEpisode[],
  options: { capacity: (config: ScalingConfig) => number; p99TargetMs: number; intervalSeconds: number; title?: string },
): Figure {
  const domains = stackedDomains(3, 0.08, [1.2, 1, 1]);
  const minutes = (n: number) => Array.from({ length: n }, (_, t) => ((t + 1) * options.intervalSeconds) / 60);
  const data: Trace[] = [];
  const first = episodes[0]?.episode;
  if (first) {
    data.push({ type: 'scatter', mode: 'lines', name: 'load (req/s)', x: minutes(first.rates.length), y: first.rates, xaxis: 'x', yaxis: 'y', line: { color: '#222222', width: 3 }, hovertemplate: 'load %{y:.1f}/s<extra></extra>' } as Trace);
  }
  episodes.forEach(({ label, episode }, i) => {
    const color = PALETTE[i % PALETTE.length];
    const x = minutes(episode.windows.length);
    const line = (axis: number, y: number[], name: string, extra: Record<string, unknown> = {}): Trace =>
      ({ type: 'scatter', mode: 'lines', name, x, y, xaxis: axisRef('x', axis), yaxis: axisRef('y', axis), line: { color, shape: 'hv' }, legendgroup: label, ...extra }) as Trace;
    data.push(line(1, episode.windows.map((w) => options.capacity(w.config)), `${label}: capacity`, { line: { color, shape: 'hv', dash: 'dot' } }));
    data.push(line(2, episode.windows.map((w) => (w.servedRps > 0 ? w.p99Ms : 0)), `${label}: p99`, { showlegend: false }));
    data.push(line(3, episode.windows.map((w) => allocatedCores(w.config)), `${label}: cores`, { showlegend: false, text: episode.windows.map((w) => `${w.config.replicas}x ${w.config.cpuMillis}m ${w.config.heapMB}MB`), hovertemplate: '%{text}<extra></extra>' }));
  });
  const span = first ? minutes(first.windows.length) : [0];
  data.push({ type: 'scatter', mode: 'lines', name: `SLO p99 ${options.p99TargetMs} ms`, x: [0, span[span.length - 1]], y: [options.p99TargetMs, options.p99TargetMs], xaxis: 'x2', yaxis: 'y2', line: { color: '#d62728', dash: 'dash' } } as Trace);
  const layout = baseLayout(options.title ?? 'Load, capacity, p99 and configuration per step', 820);
  const titles = ['load and capacity (req/s)', 'p99 latency (ms, log scale)', 'allocated cores'];
  titles.forEach((text, k) => {
    const n = k + 1;
    layout[axisKey('x', n)] = { ...gridAxis, domain: [0, 1], anchor: axisRef('y', n), matches: n > 1 ? 'x' : undefined, title: n === 3 ? { text: 'time (min)' } : undefined };
    layout[axisKey('y', n)] = { ...gridAxis, domain: domains[k], anchor: axisRef('x', n), ...(n === 2 ? { type: 'log' } : { rangemode: 'tozero' }) };
  });
  layout.annotations = titles.map((text, k) => panelTitle(text, [0, 1], domains[k]));
  return { data, layout };
}
