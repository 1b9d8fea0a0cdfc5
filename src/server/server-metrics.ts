/** The server's Prometheus metrics, on a registry of its own (several servers can share a process). */
import * as client from 'prom-client';
import { RequestStats } from './request-stats';
import { processCpuSeconds, threadCpuSeconds } from './thread-cpu';

export class ServerMetrics {
  readonly registry = new client.Registry();
  /** Requests by route and status, latency by route (policy_server_requests_total, policy_server_request_duration_seconds). */
  private readonly requests = new RequestStats(
    {
      requests: { name: 'policy_server_requests_total', help: 'HTTP requests by route and status code' },
      latency: { name: 'policy_server_request_duration_seconds', help: 'Time from request to response, by route', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] },
    },
    this.registry,
  );
  readonly episodesStarted = new client.Counter({ name: 'policy_server_episodes_started_total', help: 'Episodes started', labelNames: ['training'] as const, registers: [this.registry] });
  readonly episodesEnded = new client.Counter({ name: 'policy_server_episodes_ended_total', help: 'Episodes ended', registers: [this.registry] });
  readonly episodesOpen = new client.Gauge({ name: 'policy_server_episodes_open', help: 'Episodes started and not ended', registers: [this.registry] });
  /** Decisions counted since the last scrape, by source (plain numbers on the request path). */
  private readonly decisionsPending = { policy: 0, client: 0 };
  readonly decisions = new client.Counter({
    name: 'policy_server_decisions_total',
    help: 'Actions chosen by the policy or logged by clients',
    labelNames: ['source'] as const,
    registers: [this.registry],
    collect: () => {
      for (const source of ['policy', 'client'] as const) {
        if (this.decisionsPending[source] > 0) this.decisions.inc({ source }, this.decisionsPending[source]);
        this.decisionsPending[source] = 0;
      }
    },
  });

  countDecisions(source: 'policy' | 'client', count = 1): void {
    this.decisionsPending[source] += count;
  }

  /** The experience events counter follows `stored` (the log's own count of durable events). */
  countStoredEvents(stored: () => number): void {
    this.storedEvents = stored;
    this.storedReported = 0;
  }
  readonly batchSize = new client.Histogram({
    name: 'policy_server_forward_batch_size',
    help: 'Decisions served by one forward pass',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });
  /** Read from the log when scraped (see countStoredEvents). */
  private storedEvents: () => number = () => 0;
  private storedReported = 0;
  readonly experienceStored = new client.Counter({
    name: 'policy_server_experience_events_total',
    help: 'Events written durably to the experience log',
    registers: [this.registry],
    collect: () => {
      const stored = this.storedEvents();
      if (stored > this.storedReported) this.experienceStored.inc(stored - this.storedReported);
      this.storedReported = stored;
    },
  });
  readonly transitionsBuffered = new client.Gauge({ name: 'policy_server_transitions_buffered', help: 'Completed training transitions waiting for an update', registers: [this.registry] });
  readonly updates = new client.Counter({ name: 'policy_server_training_updates_total', help: 'PPO updates applied', registers: [this.registry] });
  readonly updateSeconds = new client.Histogram({
    name: 'policy_server_training_update_seconds',
    help: 'Duration of one PPO update with its checkpoint',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly policyVersion = new client.Gauge({ name: 'policy_server_policy_version', help: 'Updates behind the acting weights', registers: [this.registry] });

  /** How to read the CPU time of each thread reported, by name ("request", "learner"). */
  private readonly threads = new Map<string, () => number | null>();
  readonly threadCpu = new client.Gauge({
    name: 'policy_server_thread_cpu_seconds',
    help: 'CPU seconds used so far by one thread of the server (Linux only): the request thread answers, the learner trains (a learner process: all its threads)',
    labelNames: ['thread'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [thread, read] of this.threads) {
        const seconds = read();
        if (seconds !== null) this.threadCpu.set({ thread }, seconds);
      }
    },
  });

  /** Reports thread `tid`'s CPU time as `thread` (a null tid, on platforms without one, is ignored). */
  watchThread(thread: string, tid: number | null): void {
    if (tid !== null) this.threads.set(thread, () => threadCpuSeconds(tid));
  }

  /** Reports the learner's CPU time as "learner": its thread's, or its whole process's. */
  watchLearner(learner: { threadId: number | null; pid: number | null }): void {
    const { threadId, pid } = learner;
    if (threadId !== null) this.watchThread('learner', threadId);
    else if (pid !== null) this.threads.set('learner', () => processCpuSeconds(pid));
  }

  /** Counts a request and its latency (the hot path: plain numbers, see request-stats.ts). */
  observeRequest(route: string, status: number, seconds: number): void {
    this.requests.observe(route, status, seconds);
  }

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'policy_server_' });
  }
}
