/**
 * Prometheus access for the live environment: per-pod packet rates, CPU and memory of a
 * deployment's pods over a measurement window. One aggregated query per metric (`sum by (pod)`)
 * with `rate` over the window, the four run concurrently, with bounded retries. A value that is
 * missing, NaN or infinite never leaves this module: it is retried, then reported as an error.
 */
import { PrometheusDriver } from 'prometheus-query';
import type { PodUsage } from './measurement';

export type UsageMetric = keyof PodUsage;
const USAGE_METRICS: readonly UsageMetric[] = ['incomingPacketsPerSec', 'outgoingPacketsPerSec', 'usedCpuCores', 'usedRamGiB'];

export interface WindowMetrics {
  perPod: Record<string, PodUsage>;
  /** Mean over the pods. */
  mean: PodUsage;
  pods: string[];
  /** Window length in seconds. */
  window: number;
  /** Evaluation time (end of the window). */
  at: Date;
}

/**
 * PromQL templates, one per metric, each returning one series per pod labelled `pod`.
 * Placeholders: {namespace}, {pods} (a regex alternation of the pod names), {container},
 * {window} (e.g. `10s`). Memory is in bytes; it is converted to GiB here.
 */
export type QueryTemplates = Record<UsageMetric, string>;

export const DEFAULT_QUERIES: Readonly<QueryTemplates> = {
  // Network counters live in the pod's network namespace (pod-level series): no container filter.
  incomingPacketsPerSec: 'sum by (pod) (rate(container_network_receive_packets_total{namespace="{namespace}", pod=~"{pods}"}[{window}]))',
  outgoingPacketsPerSec: 'sum by (pod) (rate(container_network_transmit_packets_total{namespace="{namespace}", pod=~"{pods}"}[{window}]))',
  // CPU and memory of the app container only: not the pause container, not the pod cgroup.
  usedCpuCores: 'sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="{namespace}", pod=~"{pods}", container="{container}", image!=""}[{window}]))',
  usedRamGiB: 'sum by (pod) (avg_over_time(container_memory_working_set_bytes{namespace="{namespace}", pod=~"{pods}", container="{container}", image!=""}[{window}]))',
};

const BYTES_PER_GIB = 2 ** 30;

export type MetricErrorKind = 'unreachable' | 'http' | 'empty' | 'partial' | 'invalid-value' | 'bad-input';

export class MetricError extends Error {
  override name = 'MetricError';
  constructor(
    message: string,
    readonly kind: MetricErrorKind,
    readonly query?: string,
    /** Pods without a usable value (partial results). */
    readonly missingPods: string[] = [],
  ) {
    super(message);
  }
}

export interface MetricClientOptions {
  /** Prometheus base URL, e.g. http://127.0.0.1:9090. */
  url: string;
  /** Give up on a metric after this long (default 15 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 500 ms). */
  retryDelayMs?: number;
  /** HTTP timeout of one request (default 5 s). */
  requestTimeoutMs?: number;
  queries?: Partial<QueryTemplates>;
}

export interface CollectRequest {
  namespace: string;
  /** Container whose CPU and memory count. */
  container: string;
  /** Pod names to measure (e.g. DeploymentClient.listReadyPods()). */
  pods: string[];
  /** Window length in whole seconds. */
  windowSeconds: number;
  /** End of the window (default: now). */
  at?: Date;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const escapeLabel = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** The query text for one metric with its placeholders filled in. */
export function renderQuery(template: string, request: CollectRequest): string {
  const pods = request.pods.map((p) => escapeLabel(escapeRegex(p))).join('|');
  return template
    .replace(/\{namespace\}/g, escapeLabel(request.namespace))
    .replace(/\{pods\}/g, pods)
    .replace(/\{container\}/g, escapeLabel(request.container))
    .replace(/\{window\}/g, `${request.windowSeconds}s`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * prometheus-query rejects with {errorType, error, httpStatus?, code?}: network_error and
 * timeout_error when Prometheus cannot be reached, http_error with the API's own error text.
 * Only a 4xx answer (a bad query) is final; everything else may pass and is retried.
 */
function describeFailure(err: unknown): { kind: MetricErrorKind; text: string; final: boolean } {
  const e = err as { errorType?: string; error?: string; httpStatus?: number; code?: string; message?: string };
  if (e && typeof e === 'object' && e.errorType === 'http_error') {
    const status = e.httpStatus ?? 0;
    return { kind: 'http', text: `HTTP ${status}: ${e.error}`, final: status >= 400 && status < 500 };
  }
  if (e && typeof e === 'object' && typeof e.error === 'string') return { kind: 'unreachable', text: `${e.error}${e.code && !e.error.includes(e.code) ? ` (${e.code})` : ''}`, final: false };
  return { kind: 'unreachable', text: e?.message ?? String(err), final: false };
}

export class MetricClient {
  readonly url: string;
  private readonly driver: PrometheusDriver;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;
  readonly queries: QueryTemplates;

  constructor(options: MetricClientOptions) {
    if (!/^https?:\/\//.test(options.url)) throw new MetricError(`Prometheus URL ${JSON.stringify(options.url)} must start with http:// or https://`, 'bad-input');
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.queries = { ...DEFAULT_QUERIES, ...(options.queries ?? {}) };
    this.driver = new PrometheusDriver({ endpoint: this.url, baseURL: '/api/v1', timeout: options.requestTimeoutMs ?? 5000 });
  }

  /**
   * One metric for every pod: retried until each pod has a finite value or the timeout passes,
   * then a MetricError naming the query (unreachable, empty or partial).
   */
  async queryPerPod(metric: UsageMetric, request: CollectRequest, deadline: number): Promise<Record<string, number>> {
    const query = renderQuery(this.queries[metric], request);
    let failure: MetricError;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.driver.instantQuery(query, request.at ?? new Date());
        const values: Record<string, number> = {};
        for (const series of result.result as { metric: { labels: Record<string, string> }; value: { value: number } }[]) {
          const pod = series.metric?.labels?.pod;
          const value = Number(series.value?.value);
          if (pod !== undefined && Number.isFinite(value)) values[pod] = value;
        }
        const missing = request.pods.filter((p) => !(p in values));
        if (missing.length === 0) return values;
        const kind: MetricErrorKind = Object.keys(values).length === 0 ? (result.result.length > 0 ? 'invalid-value' : 'empty') : 'partial';
        failure = new MetricError(
          `${metric}: ${kind === 'empty' ? 'empty result' : kind === 'partial' ? 'partial result' : 'no finite value'} for pods ${missing.join(', ')} after ${attempt} attempt(s) (query: ${query})`,
          kind,
          query,
          missing,
        );
      } catch (err) {
        const { kind, text, final } = describeFailure(err);
        failure = new MetricError(`${metric}: Prometheus at ${this.url} ${kind === 'unreachable' ? 'is unreachable' : 'answered an error'}: ${text} (query: ${query})`, kind, query, request.pods);
        if (final) throw failure; // a bad query does not get better by retrying
      }
      if (Date.now() + this.retryDelayMs > deadline) throw failure;
      await sleep(this.retryDelayMs);
    }
  }

  /** The four metrics for the pods over the window, queried concurrently. */
  async collect(request: CollectRequest): Promise<WindowMetrics> {
    if (request.pods.length === 0) throw new MetricError(`no pods to measure in namespace ${request.namespace}`, 'bad-input');
    if (!Number.isInteger(request.windowSeconds) || request.windowSeconds < 1) {
      throw new MetricError(`windowSeconds must be a positive integer, got ${request.windowSeconds}`, 'bad-input');
    }
    const deadline = Date.now() + this.timeoutMs;
    const results = await Promise.all(USAGE_METRICS.map((m) => this.queryPerPod(m, request, deadline)));
    const byMetric = Object.fromEntries(USAGE_METRICS.map((m, i) => [m, results[i]])) as Record<UsageMetric, Record<string, number>>;
    const pods = [...request.pods].sort();
    const perPod: Record<string, PodUsage> = {};
    for (const pod of pods) {
      perPod[pod] = {
        incomingPacketsPerSec: byMetric.incomingPacketsPerSec[pod],
        outgoingPacketsPerSec: byMetric.outgoingPacketsPerSec[pod],
        usedCpuCores: byMetric.usedCpuCores[pod],
        usedRamGiB: byMetric.usedRamGiB[pod] / BYTES_PER_GIB,
      };
    }
    const mean = {} as PodUsage;
    for (const m of USAGE_METRICS) mean[m] = pods.reduce((sum, p) => sum + perPod[p][m], 0) / pods.length;
    return { perPod, mean, pods, window: request.windowSeconds, at: request.at ?? new Date() };
  }
}
