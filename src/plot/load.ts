/**
 * Figures of load: profiles (rate over time) and a generator run window by window (rates asked
 * for and achieved, latency percentiles, outcomes).
 */
import type { LoadProfile } from '../load/profile';
import type { LoadStats } from '../load/stats';
import { axisKey, axisRef, PALETTE, type Figure, type Trace } from './figure';

export interface ProfileFigureOptions {
  /** Seconds to draw (default: the longest finite profile, else one hour). */
  durationSeconds?: number;
  /** Samples per profile (default 600). */
  points?: number;
  /** Time axis unit (default: hours when the span is over 3 h, minutes over 3 min, else seconds). */
  unit?: 's' | 'min' | 'h';
  title?: string;
}

const UNIT_SECONDS = { s: 1, min: 60, h: 3600 } as const;

function pickUnit(spanSeconds: number): 's' | 'min' | 'h' {
  return spanSeconds > 3 * 3600 ? 'h' : spanSeconds > 180 ? 'min' : 's';
}

/** Rate over time of each profile, one line each (steps drawn as they are, by dense sampling). */
export function profileFigure(profiles: readonly LoadProfile[], options: ProfileFigureOptions = {}): Figure {
  const finite = profiles.map((p) => p.durationSeconds).filter(Number.isFinite);
  const span = options.durationSeconds ?? (finite.length ? Math.max(...finite) : 3600);
  const unit = options.unit ?? pickUnit(span);
  const points = options.points ?? 600;
  const data: Trace[] = profiles.map((profile, i) => {
    const x: number[] = [];
    const y: number[] = [];
    for (let k = 0; k <= points; k++) {
      // Sample just inside the end, where the rate of a finite profile drops to 0.
      const t = Math.min((span * k) / points, span - 1e-9);
      x.push(t / UNIT_SECONDS[unit]);
      y.push(profile.rate(t));
    }
    return { type: 'scatter', mode: 'lines', name: profile.name, x, y, line: { color: PALETTE[i % PALETTE.length], width: 2 }, hovertemplate: `${profile.description}<br>%{y:.1f}/s<extra></extra>` };
  });
  return {
    data,
    layout: {
      title: { text: options.title ?? 'Load profiles: arrival rate over time' },
      height: 380,
      xaxis: { title: { text: `time (${unit})` } },
      yaxis: { title: { text: 'arrivals per second' }, rangemode: 'tozero' },
      legend: { orientation: 'h', y: -0.25 },
    },
  };
}

/**
 * A run window by window, three panels on one time axis: arrivals asked for (expected), sent and
 * served (ok sessions) per second; latency p50/p95/p99 from the intended start; outcomes per
 * window (ok requests, failures by reason, dropped arrivals).
 */
export function loadRunFigure(windows: readonly LoadStats[], title = 'Load run, window by window'): Figure {
  const mid = windows.map((w) => (w.startS + w.endS) / 2);
  const perSecond = (count: (w: LoadStats) => number | null) => windows.map((w) => {
    const value = count(w);
    return value === null ? null : value / Math.max(1e-9, w.endS - w.startS);
  });
  const line = (name: string, y: (number | null)[], color: string, axis: number, dash?: string): Trace => ({
    type: 'scatter', mode: 'lines+markers', name, x: mid, y, xaxis: axisRef('x', axis), yaxis: axisRef('y', axis), line: { color, dash }, marker: { size: 5 },
  });
  // Outcomes per window, labelled by the window's span.
  const windowLabels = windows.map((w) => `${w.startS.toFixed(1)}-${w.endS.toFixed(1)}`);
  const bar = (name: string, y: number[], color: string): Trace => ({ type: 'bar', name, x: windowLabels, y, xaxis: 'x3', yaxis: 'y3', marker: { color } });
  const data: Trace[] = [
    line('expected arrivals/s', perSecond((w) => w.expectedArrivals), PALETTE[7], 1, 'dash'),
    line('sent sessions/s', perSecond((w) => w.sent), PALETTE[0], 1),
    line('ok sessions/s', perSecond((w) => w.ok), PALETTE[2], 1),
    line('latency p50', windows.map((w) => w.latencyMs.p50), PALETTE[2], 2),
    line('latency p95', windows.map((w) => w.latencyMs.p95), PALETTE[1], 2),
    line('latency p99', windows.map((w) => w.latencyMs.p99), PALETTE[3], 2),
    bar('ok requests', windows.map((w) => w.requests.ok), PALETTE[2]),
    bar('HTTP >= 400', windows.map((w) => w.requests.failed.http), PALETTE[3]),
    bar('time-outs', windows.map((w) => w.requests.failed.timeout), PALETTE[1]),
    bar('connection errors', windows.map((w) => w.requests.failed.connection), PALETTE[4]),
    bar('dropped arrivals', windows.map((w) => w.dropped), PALETTE[7]),
  ];
  const mode = windows[0]?.mode ?? 'open-loop';
  const domains: [number, number][] = [[0.74, 1], [0.4, 0.64], [0, 0.27]];
  const yTitles = ['per second', 'latency (ms)', 'per window'];
  const layout: Figure['layout'] = {
    title: { text: `${title} (${mode})` },
    height: 720,
    barmode: 'stack',
    legend: { orientation: 'h', y: -0.14 },
  };
  // One time range on the two line panels, so a window lines up across them.
  const range = windows.length ? [windows[0].startS, windows[windows.length - 1].endS] : undefined;
  domains.forEach((domain, i) => {
    layout[axisKey('x', i + 1)] =
      i === 2 ? { type: 'category', anchor: 'y3', title: { text: 'window (seconds since the run started)' } } : { type: 'linear', range, anchor: axisRef('y', i + 1), title: i === 1 ? { text: 'time since the run started (s)' } : undefined };
    // Latency on a log axis: a stall's second-long tail and the milliseconds around it both show.
    layout[axisKey('y', i + 1)] = i === 1 ? { domain, anchor: axisRef('x', i + 1), title: { text: yTitles[i] }, type: 'log' } : { domain, anchor: axisRef('x', i + 1), title: { text: yTitles[i] }, rangemode: 'tozero' };
  });
  return { data, layout };
}
