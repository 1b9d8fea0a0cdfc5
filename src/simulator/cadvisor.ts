/**
 * cAdvisor-style metrics of the simulated pods, driven by the dataset. Every ready pod serves the
 * usage of one dataset row drawn for its current configuration (replicas of its Deployment, CPU
 * limit and heap of its main container); a new row is drawn every measurement period and
 * whenever the replica count changes. Counters grow at the row's rates; the memory gauge shows
 * the row's working set. Like cAdvisor, a pod also has pod-level (`container=""`) and pause
 * (`container="POD"`) series, so only a query filtered to the container reads the app alone.
 *
 * Once the simulator's web UI has received a request (`load`), the pods' usage follows the load
 * each pod actually serves (load-usage.ts) and the drawn rows only lend their noise; without
 * load a pod then falls to idle. Until then the rows are replayed as recorded.
 */
import { actualCpuLimit } from './pod-resize';
import type { TeastoreTable } from '../data';
import { FieldError, parseCpuMillis, parseHeapMB } from '../kube-fields';
import { Rng } from '../random';
import { configIndex, LEVELS, type ScalingConfig } from '../space';
import { DEPLOYMENTS, PODS } from './resources';
import { isPodReady } from './rollout';
import type { PodUsage } from '../measurement';
import type { KubeObject } from './status';
import type { ObjectStore } from './store';
import type { LoadDrivenUsage, LoadSource } from './load-usage';

/** One dataset row served to one pod over [fromMs, toMs) (toMs null while it is being served). */
export interface ServedRow extends PodUsage {
  namespace: string;
  pod: string;
  row: number;
  config: ScalingConfig;
  fromMs: number;
  toMs: number | null;
  /** True when the row has no packet counts (NaN in the dataset): the network series are left out. */
  networkSkipped: boolean;
}

export interface MetricsOptions {
  table: TeastoreTable;
  seed: number;
  measurementPeriodMs: number;
  /** Env var that carries the heap setting of the main container. */
  heapEnvVar?: string;
  /** The web UI's load and the model's usage for it; without, rows are replayed as recorded. */
  load?: { source: LoadSource; usage: LoadDrivenUsage };
}

/** Shortest window over which a scrape turns the load's counters into usage (shorter ones wait). */
const MIN_LOAD_WINDOW_MS = 500;

const GIB = 2 ** 30;
const PAUSE_IMAGE = 'registry.k8s.io/pause:3.9';
const PAUSE_CPU_CORES = 0.0002;
const PAUSE_MEMORY_BYTES = 700 * 1024;
const ROW_DRAW_ATTEMPTS = 50;
const SERVED_LOG_LIMIT = 100_000;

interface PodSeries {
  key: string;
  namespace: string;
  pod: string;
  uid: string;
  deployment: string | undefined;
  container: string;
  image: string;
  served: ServedRow;
  since: number;
  cpuSeconds: number;
  receivedPackets: number;
  transmittedPackets: number;
  pauseSince: number;
  pauseCpuSeconds: number;
  /** The web UI's counters of this pod when the usage was last brought up to date. */
  loadArrivals: number;
  loadServed: number;
  /** Working set from the load (once load-driven). */
  loadMemoryGiB: number | undefined;
}

const nearestLevel = (value: number, unit: number) => Math.min(LEVELS, Math.max(1, Math.round(value / unit))) * unit;

export class DatasetMetrics {
  private readonly rng: Rng;
  private readonly pods = new Map<string, PodSeries>();
  private readonly log: ServedRow[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly heapEnvVar: string;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: MetricsOptions,
  ) {
    this.rng = new Rng(options.seed);
    this.heapEnvVar = options.heapEnvVar ?? 'CATALINA_OPTS';
    this.unsubscribe = store.subscribe((event) => {
      if (event.resourceType === PODS) this.onPod(event.type, event.object);
      else if (event.resourceType === DEPLOYMENTS && event.type === 'MODIFIED' && event.old?.spec?.replicas !== event.object.spec?.replicas) {
        const now = Date.now();
        for (const s of this.pods.values()) if (s.namespace === event.object.metadata?.namespace && s.deployment === event.object.metadata?.name) this.draw(s, now);
      }
    });
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const s of this.pods.values()) this.draw(s, now);
    }, options.measurementPeriodMs);
    this.timer.unref();
    for (const pod of store.list(PODS, undefined)) this.onPod('ADDED', pod);
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }

  /** Every row served so far (oldest first), optionally for one pod. */
  servedRows(pod?: string): ServedRow[] {
    return this.log.filter((r) => pod === undefined || r.pod === pod).map((r) => ({ ...r, config: { ...r.config } }));
  }

  /**
   * Time-weighted mean of what a pod was served over [fromMs, toMs]: the value a perfect
   * rate() over that window would measure. Null when nothing was served in the window.
   */
  servedAverage(pod: string, fromMs: number, toMs: number): PodUsage | null {
    const sums = { incomingPacketsPerSec: 0, outgoingPacketsPerSec: 0, usedCpuCores: 0, usedRamGiB: 0 };
    let total = 0;
    for (const r of this.log) {
      if (r.pod !== pod) continue;
      const overlap = Math.min(toMs, r.toMs ?? Date.now()) - Math.max(fromMs, r.fromMs);
      if (overlap <= 0) continue;
      total += overlap;
      for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += r[k] * overlap;
    }
    if (total === 0) return null;
    for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] /= total;
    return sums;
  }

  private onPod(type: string, pod: KubeObject): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const existing = this.pods.get(key);
    if (type === 'DELETED') {
      if (existing) {
        this.advance(existing, Date.now());
        existing.served.toMs = Date.now();
        this.pods.delete(key);
      }
      return;
    }
    // Series appear once the pod's containers run and it is ready; a terminating pod keeps them.
    if (!existing && isPodReady(pod) && !pod.metadata?.deletionTimestamp) {
      const main = this.mainContainer(pod);
      const now = Date.now();
      const series: PodSeries = {
        key,
        namespace: pod.metadata!.namespace,
        pod: pod.metadata!.name,
        uid: pod.metadata!.uid,
        deployment: pod.metadata?.labels?.['app.kubernetes.io/simulated-by-deployment'],
        container: main.name,
        image: main.image ?? '',
        served: undefined as unknown as ServedRow,
        since: now,
        cpuSeconds: 0,
        receivedPackets: 0,
        transmittedPackets: 0,
        pauseSince: now,
        pauseCpuSeconds: 0,
        loadArrivals: 0,
        loadServed: 0,
        loadMemoryGiB: undefined,
      };
      this.pods.set(key, series);
      this.draw(series, now);
    }
  }

  /** The container the dataset describes: the one with the heap env var, else the first one. */
  private mainContainer(pod: KubeObject): KubeObject {
    const containers: KubeObject[] = pod.spec?.containers ?? [];
    return containers.find((c) => (c.env ?? []).some((e: KubeObject) => e.name === this.heapEnvVar)) ?? containers[0] ?? { name: 'main' };
  }

  /** The pod's configuration snapped to the grid (the dataset only knows grid points). */
  private configOf(series: PodSeries): ScalingConfig {
    const pod = this.store.find(PODS, series.namespace, series.pod);
    const deployment = series.deployment ? this.store.find(DEPLOYMENTS, series.namespace, series.deployment) : undefined;
    const container = pod?.spec?.containers?.find((c: KubeObject) => c.name === series.container) ?? {};
    let cpuMillis = 900;
    let heapMB = 900;
    try {
      // What the container runs with: after an in-place resize, the status's, not the spec's.
      const limit = pod ? actualCpuLimit(pod, series.container) : undefined;
      if (limit !== undefined) cpuMillis = parseCpuMillis(limit);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
    }
    const heapValue = (container.env ?? []).find((e: KubeObject) => e.name === this.heapEnvVar)?.value;
    try {
      if (heapValue !== undefined) heapMB = parseHeapMB(heapValue);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
    }
    return {
      replicas: nearestLevel(deployment?.spec?.replicas ?? 1, 1),
      cpuMillis: nearestLevel(cpuMillis, 100),
      heapMB: nearestLevel(heapMB, 100),
    };
  }

  private get loadDriven(): boolean {
    return this.options.load?.source.everLoaded ?? false;
  }

  /** Brings the counters up to `now` at the current rates (`force`: even over a short window). */
  private advance(s: PodSeries, now: number, force = true): void {
    const seconds = (now - s.since) / 1000;
    if (this.options.load && this.loadDriven && s.served) {
      if (!force && now - s.since < MIN_LOAD_WINDOW_MS) return;
      this.advanceWithLoad(s, seconds, this.options.load);
    } else if (s.served) {
      s.cpuSeconds += s.served.usedCpuCores * seconds;
      if (!s.served.networkSkipped) {
        s.receivedPackets += s.served.incomingPacketsPerSec * seconds;
        s.transmittedPackets += s.served.outgoingPacketsPerSec * seconds;
      }
    }
    s.since = now;
  }

  private advanceWithLoad(s: PodSeries, seconds: number, load: NonNullable<MetricsOptions['load']>): void {
    const counters = load.source.podLoad(s.pod);
    const arrivals = counters ? counters.arrivals - s.loadArrivals : 0;
    const served = counters ? counters.served - s.loadServed : 0;
    const resources = counters ?? this.configOf(s);
    const usage = load.usage.usage(resources, arrivals, served, seconds, s.served);
    s.cpuSeconds += usage.usedCpuCores * seconds;
    s.receivedPackets += usage.incomingPacketsPerSec * seconds;
    s.transmittedPackets += usage.outgoingPacketsPerSec * seconds;
    s.loadMemoryGiB = usage.usedRamGiB;
    if (counters) [s.loadArrivals, s.loadServed] = [counters.arrivals, counters.served];
  }

  /** Draws a new dataset row for the pod, preferring rows without NaN packet counts. */
  private draw(s: PodSeries, now: number): void {
    this.advance(s, now);
    const config = this.configOf(s);
    const { table } = this.options;
    const c = configIndex(config);
    const start = table.configStart[c];
    const count = table.configStart[c + 1] - start;
    let row = table.rowsOfConfig[start + this.rng.int(count)];
    for (let i = 0; i < ROW_DRAW_ATTEMPTS && !this.hasPackets(row); i++) row = table.rowsOfConfig[start + this.rng.int(count)];
    const networkSkipped = !this.hasPackets(row);
    if (s.served) s.served.toMs = now;
    s.served = {
      namespace: s.namespace,
      pod: s.pod,
      row,
      config,
      fromMs: now,
      toMs: null,
      incomingPacketsPerSec: networkSkipped ? 0 : table.incomingPacketsPerSec[row],
      outgoingPacketsPerSec: networkSkipped ? 0 : table.outgoingPacketsPerSec[row],
      usedCpuCores: table.usedCpuCores[row],
      usedRamGiB: table.usedRamGiB[row],
      networkSkipped,
    };
    this.log.push(s.served);
    if (this.log.length > SERVED_LOG_LIMIT) this.log.splice(0, this.log.length - SERVED_LOG_LIMIT);
  }

  private hasPackets(row: number): boolean {
    const { table } = this.options;
    return Number.isFinite(table.incomingPacketsPerSec[row]) && Number.isFinite(table.outgoingPacketsPerSec[row]);
  }

  /** The Prometheus text exposition of all series at this instant. */
  exposition(): string {
    const now = Date.now();
    const cpu: string[] = [];
    const memory: string[] = [];
    const received: string[] = [];
    const transmitted: string[] = [];
    const loadDriven = this.loadDriven;
    for (const s of this.pods.values()) {
      this.advance(s, now, false);
      s.pauseCpuSeconds += (PAUSE_CPU_CORES * (now - s.pauseSince)) / 1000;
      s.pauseSince = now;
      const podCgroup = `/kubepods/burstable/pod${s.uid}`;
      const app = labels({ container: s.container, id: `${podCgroup}/${s.uid.slice(0, 8)}-${s.container}`, image: s.image, name: `${s.pod}_${s.container}`, namespace: s.namespace, pod: s.pod });
      const pause = labels({ container: 'POD', id: `${podCgroup}/pause`, image: PAUSE_IMAGE, name: `${s.pod}_POD`, namespace: s.namespace, pod: s.pod });
      const podLevel = labels({ container: '', id: podCgroup, image: '', name: '', namespace: s.namespace, pod: s.pod });
      const appMemory = (loadDriven && s.loadMemoryGiB !== undefined ? s.loadMemoryGiB : s.served.usedRamGiB) * GIB;
      cpu.push(`container_cpu_usage_seconds_total${app.replace('}', ',cpu="total"}')} ${num(s.cpuSeconds)}`);
      cpu.push(`container_cpu_usage_seconds_total${pause.replace('}', ',cpu="total"}')} ${num(s.pauseCpuSeconds)}`);
      cpu.push(`container_cpu_usage_seconds_total${podLevel.replace('}', ',cpu="total"}')} ${num(s.cpuSeconds + s.pauseCpuSeconds)}`);
      memory.push(`container_memory_working_set_bytes${app} ${num(Math.round(appMemory))}`);
      memory.push(`container_memory_working_set_bytes${pause} ${PAUSE_MEMORY_BYTES}`);
      memory.push(`container_memory_working_set_bytes${podLevel} ${num(Math.round(appMemory) + PAUSE_MEMORY_BYTES)}`);
      if (!s.served.networkSkipped || loadDriven) {
        // Network counters belong to the pod's network namespace: one pod-level series per interface.
        const net = podLevel.replace('}', ',interface="eth0"}');
        received.push(`container_network_receive_packets_total${net} ${num(s.receivedPackets)}`);
        transmitted.push(`container_network_transmit_packets_total${net} ${num(s.transmittedPackets)}`);
      }
    }
    return [
      family('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed in seconds.', cpu),
      family('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.', memory),
      family('container_network_receive_packets_total', 'counter', 'Cumulative count of packets received', received),
      family('container_network_transmit_packets_total', 'counter', 'Cumulative count of packets transmitted', transmitted),
    ].join('');
  }
}

function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return `{${parts.join(',')}}`;
}

function num(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`internal error: non-finite metric value ${v}`);
  return String(v);
}

function family(name: string, type: string, help: string, lines: string[]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${lines.map((l) => `${l}\n`).join('')}`;
}
