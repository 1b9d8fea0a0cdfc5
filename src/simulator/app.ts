/**
 * The simulator's TeaStore web UI: an HTTP server at a Service-like address that serves the
 * paths of the load generator's `home` and `browse` scenarios. Behind it, every ready pod of the
 * TeaStore Deployment is a real-time queue (pod-queue.ts) whose service times and room follow the
 * performance model for that pod's CPU limit and heap. Requests are spread over the ready pods
 * at random, as kube-proxy spreads a Service's connections. A pod that is not ready (starting)
 * gets no requests; a pod that starts terminating leaves the endpoints and fails the requests it
 * holds (503), as a stopping web server does; with no ready pod, every request is refused (503).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PerformanceModel } from '../model/types';
import { Rng } from '../random';
import { OverheadHistogram } from './overhead';
import { PodQueue, type PodQueueCounters } from './pod-queue';
import { podResources } from './pod-resources';
import { PODS } from './resources';
import { isPodReady } from './rollout';
import type { KubeObject } from './status';
import type { ObjectStore } from './store';
import { TEASTORE_DEPLOYMENT, TEASTORE_NAMESPACE } from './teastore';

/** The web UI's base path, as the real TeaStore serves it. */
export const APP_BASE_PATH = '/tools.descartes.teastore.webui/';
const PAGES = new Set(['', 'login', 'loginAction', 'category', 'product', 'cartAction', 'profile']);
const DEPLOYMENT_LABEL = 'app.kubernetes.io/simulated-by-deployment';

export interface AppOptions {
  model: PerformanceModel;
  seed: number;
  port?: number;
  host?: string;
  namespace?: string;
  deployment?: string;
  heapEnvVar?: string;
}

interface Pending {
  res: http.ServerResponse;
  /** Answered, failed, or abandoned by the client: nothing more to do. */
  done: boolean;
}

interface Endpoint {
  name: string;
  /** The pod's settings in force: from when it became ready, then after each in-place resize. */
  resources: { cpuMillis: number; heapMB: number };
  queue: PodQueue;
  pending: Set<Pending>;
}

/** What a pod's queue has done so far, for the metrics. */
export interface PodLoad extends PodQueueCounters {
  cpuMillis: number;
  heapMB: number;
}

export class TeastoreApp {
  /** Every pod that ever served, by name (kept after the pod stops, for its last metrics). */
  private readonly queues = new Map<string, Endpoint>();
  /** Ready, not terminating pods: where new requests go. */
  private endpoints: Endpoint[] = [];
  private readonly rng: Rng;
  private readonly serviceRng: Rng;
  private readonly namespace: string;
  private readonly deployment: string;
  private readonly heapEnvVar: string;
  private readonly unsubscribe: () => void;
  private server: http.Server | undefined;
  private requestsReceived = 0;
  /** How late responses leave after their modelled completion, ms. */
  readonly overhead = new OverheadHistogram();
  url = '';

  constructor(
    store: ObjectStore,
    private readonly options: AppOptions,
  ) {
    const root = new Rng(options.seed);
    this.rng = root.fork();
    this.serviceRng = root.fork();
    this.namespace = options.namespace ?? TEASTORE_NAMESPACE;
    this.deployment = options.deployment ?? TEASTORE_DEPLOYMENT;
    this.heapEnvVar = options.heapEnvVar ?? 'CATALINA_OPTS';
    this.unsubscribe = store.subscribe((event) => {
      if (event.resourceType === PODS) this.onPod(event.type, event.object);
    });
    for (const pod of store.list(PODS, this.namespace)) this.onPod('ADDED', pod);
  }

  async listen(): Promise<string> {
    const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => this.handle(req, res));
    server.headersTimeout = 0;
    server.requestTimeout = 0;
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`the simulator's web UI cannot listen on ${host}:${this.options.port ?? 0}: ${err.code ?? err.message}`)));
      server.listen(this.options.port ?? 0, host, () => resolve());
    });
    this.server = server;
    this.url = `http://${host}:${(server.address() as AddressInfo).port}${APP_BASE_PATH}`;
    return this.url;
  }

  /** True once any request has reached the web UI (the metrics then follow the load). */
  get everLoaded(): boolean {
    return this.requestsReceived > 0;
  }

  /** Counters of a pod's queue, or undefined for a pod that never became an endpoint. */
  podLoad(pod: string): PodLoad | undefined {
    const e = this.queues.get(pod);
    if (!e) return undefined;
    return { ...e.queue.counters, ...e.resources };
  }

  /** Names of the pods receiving new requests. */
  endpointNames(): string[] {
    return this.endpoints.map((e) => e.name);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    for (const e of this.queues.values()) this.failPending(e);
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onPod(type: string, pod: KubeObject): void {
    if (pod.metadata?.namespace !== this.namespace || pod.metadata?.labels?.[DEPLOYMENT_LABEL] !== this.deployment) return;
    const name: string = pod.metadata.name;
    const serving = type !== 'DELETED' && isPodReady(pod) && !pod.metadata.deletionTimestamp;
    let endpoint = this.queues.get(name);
    if (serving && !endpoint) {
      endpoint = this.newEndpoint(name, pod);
      if (endpoint) this.queues.set(name, endpoint);
    }
    const listed = this.endpoints.some((e) => e.name === name);
    if (serving && endpoint && !listed) this.endpoints.push(endpoint);
    if (serving && endpoint) this.followResize(endpoint, pod);
    if (!serving && listed) {
      this.endpoints = this.endpoints.filter((e) => e.name !== name);
      if (endpoint) this.failPending(endpoint);
    }
    if (type === 'DELETED') this.queues.delete(name);
  }

  /**
   * A queue for a pod that became ready; none when the model refuses its settings (e.g. a zero
   * CPU limit): such a pod never serves, as a container that cannot start would not. This runs
   * inside the store's change listener, so it must not throw into the API request.
   */
  private newEndpoint(name: string, pod: KubeObject): Endpoint | undefined {
    const resources = podResources(pod, this.heapEnvVar);
    const config = { replicas: 1, ...resources };
    try {
      return { name, resources, queue: new PodQueue(this.options.model.serviceTimeMs(config), this.options.model.queueRoom(config), this.serviceRng.fork()), pending: new Set() };
    } catch (err) {
      if (err instanceof RangeError) return undefined;
      throw err;
    }
  }

  /**
   * An in-place CPU resize, once in force (the pod status's limit): requests admitted from now on
   * get the model's service time for the new limit; those already in the pod finish as admitted,
   * so none is lost. Settings the model refuses leave the queue as it was.
   */
  private followResize(endpoint: Endpoint, pod: KubeObject): void {
    const resources = podResources(pod, this.heapEnvVar);
    if (resources.cpuMillis === endpoint.resources.cpuMillis && resources.heapMB === endpoint.resources.heapMB) return;
    const config = { replicas: 1, ...resources };
    try {
      endpoint.queue.retune(this.options.model.serviceTimeMs(config), this.options.model.queueRoom(config));
      endpoint.resources = resources;
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
    }
  }

  private failPending(endpoint: Endpoint): void {
    for (const p of endpoint.pending) {
      p.done = true;
      endpoint.queue.lose();
      send(p.res, 503, 'the pod stopped');
    }
    endpoint.pending.clear();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    if (!pathname.startsWith(APP_BASE_PATH) || !PAGES.has(pathname.slice(APP_BASE_PATH.length))) return send(res, 404, 'not found');
    this.requestsReceived++;
    if (this.endpoints.length === 0) return send(res, 503, 'no ready pod');
    const endpoint = this.endpoints.length === 1 ? this.endpoints[0] : this.endpoints[this.rng.int(this.endpoints.length)];
    const now = performance.now();
    const admitted = endpoint.queue.admit(now);
    if (!admitted) return send(res, 503, 'the pod is full');
    const pending: Pending = { res, done: false };
    endpoint.pending.add(pending);
    res.once('close', () => {
      pending.done = true;
      endpoint.pending.delete(pending);
    });
    // Timers have a 1 ms resolution and fire no earlier than asked: wake up to 1 ms early, then
    // finish on the event loop's check phase, so a response leaves when its queue says it is done.
    const deliver = () => {
      if (pending.done) return;
      const remaining = admitted.completeAtMs - performance.now();
      if (remaining > 1) setTimeout(deliver, remaining - 1);
      else if (remaining > 0) setImmediate(deliver);
      else {
        pending.done = true;
        endpoint.pending.delete(pending);
        endpoint.queue.complete();
        send(res, 200, PAGE_BODY, admitted.sojournMs);
        this.overhead.record(performance.now() - admitted.completeAtMs);
      }
    };
    deliver();
  }
}

const PAGE_BODY = '<html><body>TeaStore</body></html>';

/** Answers; the modelled time in the pod (queueing + service) travels in a header for benchmarks. */
function send(res: http.ServerResponse, status: number, body: string, modelledMs?: number): void {
  if (res.destroyed || res.headersSent) return;
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) };
  if (modelledMs !== undefined) headers['x-modelled-ms'] = modelledMs.toFixed(3);
  res.writeHead(status, headers);
  res.end(body);
}
