/**
 * The cluster simulator: a local stand-in for a Kubernetes cluster running the TeaStore web UI, driven
 * by the recorded dataset. It serves the subset of the Kubernetes REST API that the project and
 * kubectl use, simulates rollouts, and exposes cAdvisor-style metrics for Prometheus to scrape.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTeastoreData, type TeastoreTable } from '../data';
import { Rng } from '../random';
import { FaultInjector } from './faults';
import { createApiHandler, type ReceivedRequest } from './api-routes';
import { writeKubeconfig } from './kubeconfig';
import { DatasetMetrics, type ServedRow } from './cadvisor';
import { DEPLOYMENTS, NAMESPACES, registerBuiltins, RL_AUTOSCALERS } from './resources';
import { RolloutSimulator } from './rollout';
import type { KubeObject } from './status';
import { ObjectStore, type ResourceType } from './store';
import { TEASTORE_NAMESPACE, teastoreDeployment, teastoreNamespace } from './teastore';
import { kubernetesMinorOf, startPodResize } from './resize-setup';
import { teastoreModel } from '../model/model';
import type { PerformanceModel } from '../model/types';
import { TeastoreApp } from './app';
import { LoadDrivenUsage } from './load-usage';

export interface SimulatorOptions {
  /** TCP port (0 picks a free one). */
  port?: number;
  host?: string;
  seed?: number;
  /** Pod creation to ready (default 3000 ms). */
  podStartDelayMs?: number;
  /** Terminating pod until it is gone (default 2000 ms). */
  podStopDelayMs?: number;
  /** A new dataset row per pod every period (default 10000 ms). */
  measurementPeriodMs?: number;
  /** Where to write the kubeconfig (default: a new temporary directory, removed on stop). */
  kubeconfigPath?: string;
  /** Dataset to draw rows from (default: the bundled one). */
  table?: TeastoreTable;
  /** Create the starting TeaStore namespace and deployment (default true). */
  withTeastore?: boolean;
  /** Serve the operator's custom resource from the start (default true). */
  withRlAutoscalerResource?: boolean;
  /** Kubernetes version to behave as, e.g. "1.32" (no in-place resize) or "1.33" (default). */
  kubernetesVersion?: string;
  /** CPU the simulated node can allocate to pods, in millicores (default 16000). */
  nodeCpuMillis?: number;
  /** From an accepted in-place resize until the container runs with it (default 300 ms). */
  resizeDelayMs?: number;
  /** The performance model behind the web UI and its metrics (default: calibrated on the bundled data). */
  model?: PerformanceModel;
  /** Port of the web UI (default 0: a free one). */
  appPort?: number;
}

export interface Simulator {
  apiUrl: string;
  metricsUrl: string;
  /** The TeaStore web UI's base URL (the load generator's target). */
  appUrl: string;
  /** The web UI behind appUrl. */
  app: TeastoreApp;
  kubeconfigPath: string;
  store: ObjectStore;
  faults: FaultInjector;
  /** Patches received (oldest first), e.g. to check a patch carries only the changed fields. */
  receivedPatches(): ReceivedRequest[];
  /** Every mutating request received (create, update, patch, delete). */
  receivedRequests(): ReceivedRequest[];
  clearReceived(): void;
  /** Dataset rows served to pods, per pod and time. */
  servedRows(pod?: string): ServedRow[];
  servedAverage: DatasetMetrics['servedAverage'];
  /** While true, new pods start but never become ready. */
  setPodsNeverReady(value: boolean): void;
  /** Serves another group/version/resource (schema-less, namespaced or not, with status). */
  registerResource(type: ResourceType): ResourceType;
  /** Creates a Deployment (and its namespace if needed), as `kubectl apply` would. */
  createDeployment(manifest: KubeObject): KubeObject;
  /**
   * Ends every open watch, as a restarting API server or a broken connection would: cleanly
   * (end of the chunked response) or, with `abrupt`, by destroying the socket. Returns how many.
   */
  dropWatches(options?: { abrupt?: boolean }): number;
  /** Forgets the watch history, as etcd compaction does: resuming from an older resourceVersion then gets 410 Expired. */
  compactHistory(): void;
  stop(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = options.seed ?? 0;
  const rng = new Rng(seed);
  const nameRng = rng.fork();
  const store = new ObjectStore(() => nameRng.next());
  registerBuiltins(store);
  if (options.withRlAutoscalerResource !== false) store.register(RL_AUTOSCALERS);
  const table = options.table ?? loadTeastoreData();

  const rollout = new RolloutSimulator(store, {
    podStartDelayMs: options.podStartDelayMs ?? 3000,
    podStopDelayMs: options.podStopDelayMs ?? 2000,
    random: () => nameRng.next(),
  });
  const kubernetesMinor = kubernetesMinorOf(options.kubernetesVersion);
  const podResize = startPodResize(store, kubernetesMinor, options);
  const model = options.model ?? teastoreModel();
  // The app is created after the metrics, so on a pod's deletion the metrics read its last counters first.
  const appRef: { app?: TeastoreApp } = {};
  const loadSource = { get everLoaded() { return appRef.app?.everLoaded ?? false; }, podLoad: (pod: string) => appRef.app?.podLoad(pod) };
  const metrics = new DatasetMetrics(store, { table, seed: rng.nextUint32(), measurementPeriodMs: options.measurementPeriodMs ?? 10_000, load: { source: loadSource, usage: new LoadDrivenUsage(model, table) } });
  const app = new TeastoreApp(store, { model, seed: rng.nextUint32(), port: options.appPort ?? 0, host: options.host });
  appRef.app = app;

  const createDeployment = (manifest: KubeObject): KubeObject => {
    const namespace = manifest.metadata?.namespace ?? TEASTORE_NAMESPACE;
    if (!store.find(NAMESPACES, undefined, namespace)) store.create(NAMESPACES, undefined, teastoreNamespace(namespace));
    return store.create(DEPLOYMENTS, namespace, manifest);
  };
  if (options.withTeastore !== false) createDeployment(teastoreDeployment());
  for (const ns of ['default', 'kube-system']) store.create(NAMESPACES, undefined, teastoreNamespace(ns));

  const faults = new FaultInjector();
  const received: ReceivedRequest[] = [];
  const watches = new Set<ServerResponse>();
  const handler = createApiHandler({
    store,
    faults,
    received,
    watches,
    kubernetesMinor,
    subresources: podResize.subresources,
    extraRoutes: {
      '/metrics': () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: metrics.exposition() }),
      '/simulator/served-rows': () => ({ contentType: 'application/json', body: JSON.stringify(metrics.servedRows()) }),
      '/simulator/received-requests': () => ({ contentType: 'application/json', body: JSON.stringify(received) }),
    },
  });

  const server: Server = createServer((req, res) => void handler(req, res));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`the cluster simulator cannot listen on ${host}:${options.port ?? 0}: ${err.code ?? err.message}`)),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const apiUrl = `http://${host}:${port}`;
  try {
    await app.listen();
  } catch (err) {
    metrics.stop();
    await app.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }

  let tempDir: string | undefined;
  let kubeconfigPath = options.kubeconfigPath;
  if (!kubeconfigPath) {
    tempDir = mkdtempSync(path.join(os.tmpdir(), 'teastore-simulator-'));
    kubeconfigPath = path.join(tempDir, 'kubeconfig');
  }
  kubeconfigPath = writeKubeconfig(kubeconfigPath, apiUrl, TEASTORE_NAMESPACE);

  let stopped = false;
  return {
    apiUrl,
    metricsUrl: `${apiUrl}/metrics`,
    appUrl: app.url,
    app,
    kubeconfigPath,
    store,
    faults,
    receivedPatches: () => received.filter((r) => r.verb === 'patch').map((r) => structuredClone(r)),
    receivedRequests: () => received.map((r) => structuredClone(r)),
    clearReceived: () => void received.splice(0),
    servedRows: (pod?: string) => metrics.servedRows(pod),
    servedAverage: (pod, fromMs, toMs) => metrics.servedAverage(pod, fromMs, toMs),
    setPodsNeverReady: (value) => rollout.setPodsNeverReady(value),
    registerResource: (type) => store.register(type),
    createDeployment,
    dropWatches(dropOptions = {}) {
      const open = [...watches];
      for (const res of open) {
        if (dropOptions.abrupt) res.destroy();
        else res.end();
      }
      return open.length;
    },
    compactHistory: () => store.compact(),
    async stop() {
      if (stopped) return;
      stopped = true;
      rollout.stop();
      podResize.stop();
      metrics.stop();
      await app.close();
      for (const res of watches) res.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}

export type { ServedRow } from './cadvisor';
export type { ReceivedRequest } from './api-routes';
export type { FaultSpec } from './faults';
export type { ResourceType } from './store';
export { RL_AUTOSCALERS } from './resources';
export { teastoreDeployment } from './teastore';
