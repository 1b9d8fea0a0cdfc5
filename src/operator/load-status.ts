/**
 * The request load under an RLAutoscaler (spec.load) and its latency objective (spec.slo): read
 * from Prometheus each interval and shown in the status beside the configuration. It informs;
 * the policy still decides from the pods' metrics, and a missing load series never stops control.
 */
import { RequestMetricClient } from '../load/request-metrics';
import type { ConditionInput } from './conditions';
import { errorText } from './log';
import type { StatusLoad } from './resource';
import type { AutoscalerSpec } from './spec';

export type LoadReading = { kind: 'ok'; load: StatusLoad } | { kind: 'failed'; error: string };

export function loadClient(spec: AutoscalerSpec): RequestMetricClient | undefined {
  if (!spec.load) return undefined;
  return new RequestMetricClient({ url: spec.metrics.prometheusUrl, selector: spec.load.selector, requestTimeoutMs: spec.metrics.timeoutSeconds * 1000 });
}

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : v);

export async function readLoad(client: RequestMetricClient, spec: AutoscalerSpec, time: string): Promise<LoadReading> {
  try {
    const w = await client.collect(spec.metrics.windowSeconds);
    const perSession = spec.load?.requestsPerSession ?? 1;
    const latencyMs = { p50: round(w.latencyMs.p50), p95: round(w.latencyMs.p95), p99: round(w.latencyMs.p99) };
    const load: StatusLoad = {
      offeredRps: round(w.targetSessionsPerSec * perSession),
      servedRps: round(w.servedRps),
      failedRps: round(w.failedRps + w.droppedPerSec * perSession),
      latencyMs,
      windowSeconds: spec.metrics.windowSeconds,
      time,
    };
    if (spec.slo) {
      const observedMs = latencyMs[`p${spec.slo.percentile}`];
      // No request ended in the window: no latency to hold against the target.
      if (Number.isFinite(observedMs)) load.slo = { percentile: spec.slo.percentile, observedMs, targetMs: spec.slo.latencyMs, met: observedMs <= spec.slo.latencyMs };
    }
    return { kind: 'ok', load };
  } catch (err) {
    return { kind: 'failed', error: errorText(err) };
  }
}

/** The SLOMet condition, or null without spec.slo. */
export function sloCondition(spec: AutoscalerSpec, reading: LoadReading | undefined): ConditionInput | null {
  if (!spec.slo || !reading) return null;
  const target = `p${spec.slo.percentile} <= ${spec.slo.latencyMs} ms`;
  if (reading.kind === 'failed') return { type: 'SLOMet', status: 'Unknown', reason: 'LoadUnavailable', message: `cannot read the load: ${reading.error}` };
  const slo = reading.load.slo;
  if (!slo) return { type: 'SLOMet', status: 'Unknown', reason: 'NoRequests', message: `no request ended in the last ${reading.load.windowSeconds} s; target ${target}` };
  return slo.met
    ? { type: 'SLOMet', status: true, reason: 'WithinTarget', message: `p${slo.percentile} ${slo.observedMs} ms <= ${slo.targetMs} ms at ${reading.load.servedRps} req/s served` }
    : { type: 'SLOMet', status: false, reason: 'TargetExceeded', message: `p${slo.percentile} ${slo.observedMs} ms > ${slo.targetMs} ms at ${reading.load.servedRps} req/s served of ${reading.load.offeredRps} offered` };
}
