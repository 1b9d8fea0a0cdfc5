/**
 * Figures of the performance model: predicted against recorded per configuration, and served
 * rate and p95 latency against offered load for a few configurations (the capacity knee).
 */
import type { FitMetric, FitReport } from '../model/fit-report';
import type { PerformanceModel } from '../model/types';
import type { ScalingConfig } from '../space';
import { axisKey, axisRef, baseLayout, PALETTE, panelTitle, sideBySideDomains, stackedDomains, type Figure, type Trace } from './figure';

const FIT_LABELS: Readonly<Record<FitMetric, string>> = {
  cpuCores: 'CPU per pod (cores)',
  memoryGiB: 'memory per pod (GiB)',
  outPacketsPerSec: 'transmitted packets/s per pod',
  totalOutPacketsPerSec: 'transmitted packets/s, all pods',
  inPacketsPerSec: 'received packets/s per pod',
  classicReward: 'classic reward',
};

/** One scatter per metric, data on x and model on y, with the identity line and R-squared. */
export function fitScatterFigure(report: FitReport, metrics: readonly FitMetric[] = ['cpuCores', 'totalOutPacketsPerSec', 'memoryGiB', 'classicReward']): Figure {
  const cols = 2;
  const rows = Math.ceil(metrics.length / cols);
  const xDomains = sideBySideDomains(cols, 0.1);
  const yDomains = stackedDomains(rows, 0.12);
  const layout = baseLayout(`Model against data, per configuration (${report.rows.length} configurations at ${report.offeredRps} req/s)`, 380 * rows);
  const annotations: Record<string, unknown>[] = [];
  const data: Trace[] = [];
  metrics.forEach((metric, i) => {
    const n = i + 1;
    const xd = xDomains[i % cols];
    const yd = yDomains[Math.floor(i / cols)];
    const x = report.rows.map((r) => r.data[metric]);
    const y = report.rows.map((r) => r.model[metric]);
    const finite = [...x, ...y].filter((v) => Number.isFinite(v));
    const low = Math.min(...finite);
    const high = Math.max(...finite);
    const fit = report.metrics.find((m) => m.metric === metric);
    layout[axisKey('x', n)] = { domain: xd, anchor: axisRef('y', n), title: { text: `recorded ${FIT_LABELS[metric]}` } };
    layout[axisKey('y', n)] = { domain: yd, anchor: axisRef('x', n), title: { text: 'modelled' } };
    annotations.push(panelTitle(`${FIT_LABELS[metric]}: R² ${fit ? fit.rSquared.toFixed(3) : 'n/a'}`, xd, yd));
    data.push({
      type: 'scatter', mode: 'markers', name: metric, x, y, xaxis: axisRef('x', n), yaxis: axisRef('y', n),
      marker: { size: 4, color: report.rows.map((r) => r.config.replicas), colorscale: 'Viridis', opacity: 0.7 },
      text: report.rows.map((r) => `${r.config.replicas} x ${r.config.cpuMillis}m x ${r.config.heapMB} MB`),
      hovertemplate: '%{text}<br>recorded %{x:.3f}<br>modelled %{y:.3f}<extra></extra>',
    });
    data.push({ type: 'scatter', mode: 'lines', name: 'identity', x: [low, high], y: [low, high], xaxis: axisRef('x', n), yaxis: axisRef('y', n), line: { color: '#444', dash: 'dash', width: 1 }, hoverinfo: 'skip' });
  });
  return { data, layout: { ...layout, annotations, showlegend: false, hovermode: 'closest' } };
}

const label = (c: ScalingConfig) => `${c.replicas} x ${c.cpuMillis}m x ${c.heapMB} MB`;

/** Served rate (top) and p95 latency (bottom, log scale) against offered load, one line per configuration. */
export function loadCurveFigure(model: PerformanceModel, configs: readonly ScalingConfig[], rates: readonly number[]): Figure {
  const [top, bottom] = stackedDomains(2, 0.1);
  const data: Trace[] = [];
  configs.forEach((config, i) => {
    const predictions = rates.map((rate) => model.predict(config, rate));
    const color = PALETTE[i % PALETTE.length];
    data.push({ type: 'scatter', mode: 'lines', name: label(config), legendgroup: label(config), x: [...rates], y: predictions.map((p) => p.servedRps), xaxis: 'x', yaxis: 'y', line: { color } });
    data.push({ type: 'scatter', mode: 'lines', name: label(config), legendgroup: label(config), showlegend: false, x: [...rates], y: predictions.map((p) => p.latencyMs.p95), xaxis: 'x2', yaxis: 'y2', line: { color } });
  });
  return {
    data,
    layout: {
      ...baseLayout('Served rate and p95 latency against offered load (the capacity knee)', 700),
      xaxis: { domain: [0, 1], anchor: 'y', title: { text: 'offered load (req/s)' } },
      yaxis: { domain: top, anchor: 'x', title: { text: 'served (req/s)' } },
      xaxis2: { domain: [0, 1], anchor: 'y2', title: { text: 'offered load (req/s)' } },
      yaxis2: { domain: bottom, anchor: 'x2', type: 'log', title: { text: 'p95 latency (ms)' } },
    },
  };
}
