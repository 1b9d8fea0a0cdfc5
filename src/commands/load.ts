/**
 * `rl-autoscaler load`: sends load to the web UI, open loop (session arrivals per second following
 * a profile) or closed loop (N users with a think time), for a duration or until SIGINT/SIGTERM.
 * A progress line per window on stderr, the summary (or one JSON object) on stdout, and optionally
 * Prometheus metrics on /metrics. Failures of the target are counted, never fatal.
 */
import { LoadWorkerError, ParallelOpenLoop, startClosedLoop, startLoad, type LoadControl, type LoadStats, type ScenarioName } from '../load/generator';
import { LoadMetrics, serveLoadMetrics, type MetricsServer } from '../load/metrics';
import type { LoadProfile } from '../load/profile';
import { parseDurationSeconds, parseProfileSpec } from '../load/profile-spec';
import { SCENARIO_NAMES } from '../load/scenarios';
import type { ArrivalProcess } from '../load/scheduler';
import { intOption, parseOptions } from './args';
import { LOAD } from './definitions';
import { UsageError } from './types';

const PROCESSES: readonly ArrivalProcess[] = ['poisson', 'even'];

interface CommonConfig {
  target: string;
  scenario: ScenarioName;
  durationS: number;
  seed: number;
  timeoutMs: number;
  metricsPort?: number;
  metricsHost: string;
  json: boolean;
}

export type LoadConfig = CommonConfig &
  ({ mode: 'open-loop'; profileSpec: string; profile: LoadProfile; process: ArrivalProcess; maxInFlight: number; workers: number } | { mode: 'closed-loop'; users: number; thinkTimeMs: number });

/** Reads and checks every option; any mistake is a UsageError, raised before anything is sent. */
export function parseLoadArgs(args: string[]): LoadConfig {
  const opts = parseOptions(args, LOAD.options);
  if (opts.target === undefined) throw new UsageError('--target URL is required');
  let url: URL;
  try {
    url = new URL(opts.target);
  } catch {
    throw new UsageError(`--target ${JSON.stringify(opts.target)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--target must be an http:// or https:// URL, got ${JSON.stringify(opts.target)}`);

  const scenario = opts.scenario as ScenarioName;
  if (!SCENARIO_NAMES.includes(scenario)) throw new UsageError(`--scenario must be one of ${SCENARIO_NAMES.join(', ')}, got ${JSON.stringify(opts.scenario)}`);
  const process = opts.process as ArrivalProcess;
  if (!PROCESSES.includes(process)) throw new UsageError(`--process must be one of ${PROCESSES.join(', ')}, got ${JSON.stringify(opts.process)}`);

  const positive = (name: string, fallback: number) => {
    const n = intOption(opts[name as keyof typeof opts] as string | undefined, name, fallback);
    if (n <= 0) throw new UsageError(`--${name} must be positive, got ${n}`);
    return n;
  };
  const seed = intOption(opts.seed, 'seed', 0);
  const timeoutMs = positive('timeout-ms', 10_000);
  let metricsPort: number | undefined;
  if (opts['metrics-port'] !== undefined) {
    metricsPort = intOption(opts['metrics-port'], 'metrics-port', 0);
    if (metricsPort < 0 || metricsPort > 65535) throw new UsageError(`--metrics-port must be 0..65535, got ${metricsPort}`);
  }

  let durationS: number | undefined;
  if (opts.duration !== undefined) {
    durationS = parseDurationSeconds(opts.duration);
    if (!Number.isFinite(durationS) || durationS <= 0) throw new UsageError(`--duration must be a positive duration such as 90s, 10m or 1h, got ${JSON.stringify(opts.duration)}`);
  }
  const common = { target: opts.target, scenario, seed, timeoutMs, metricsPort, metricsHost: opts['metrics-host'] ?? '127.0.0.1', json: opts.json ?? false };

  if (opts['closed-loop-users'] !== undefined) {
    if (opts.profile !== undefined) throw new UsageError('--profile is for the open loop; a closed loop (--closed-loop-users) has no arrival rate');
    if (opts['max-in-flight'] !== undefined) throw new UsageError('--max-in-flight is for the open loop; a closed loop has at most one session per user');
    if (opts.workers !== undefined) throw new UsageError('--workers is for the open loop; a closed loop runs in one thread');
    if (durationS === undefined) throw new UsageError('a closed loop needs --duration');
    const users = positive('closed-loop-users', 1);
    const thinkTimeMs = intOption(opts['think-time-ms'], 'think-time-ms', 0);
    if (thinkTimeMs < 0) throw new UsageError(`--think-time-ms must not be negative, got ${thinkTimeMs}`);
    return { ...common, durationS, mode: 'closed-loop', users, thinkTimeMs };
  }
  if (opts['think-time-ms'] !== undefined) throw new UsageError('--think-time-ms needs --closed-loop-users');
  if (opts.profile === undefined) throw new UsageError('--profile SPEC is required (or --closed-loop-users N for a closed loop)');
  let profile: LoadProfile;
  try {
    profile = parseProfileSpec(opts.profile);
  } catch (err) {
    throw new UsageError(`--profile: ${(err as Error).message}`);
  }
  if (durationS === undefined) {
    if (!Number.isFinite(profile.durationSeconds)) throw new UsageError(`--duration is required: the profile ${JSON.stringify(opts.profile)} is unbounded`);
    durationS = profile.durationSeconds;
  }
  return { ...common, durationS, mode: 'open-loop', profileSpec: opts.profile, profile, process, maxInFlight: positive('max-in-flight', 10_000), workers: positive('workers', 1) };
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);

function failedText(s: LoadStats): string {
  const f = s.requests.failed;
  return `failed ${s.requests.failedTotal} (http ${f.http}, timeout ${f.timeout}, connection ${f.connection})`;
}

/** One line per window: what was asked, what happened, latency of the window. */
export function formatProgress(config: LoadConfig, w: LoadStats, run: LoadControl): string {
  const head = config.mode === 'open-loop' ? `open-loop ${config.profile.rate(w.endS).toFixed(1)} sessions/s` : `closed-loop ${config.users} users`;
  const expected = w.expectedArrivals === null ? '' : ` expected ${w.expectedArrivals.toFixed(1)}`;
  return (
    `[${w.endS.toFixed(0).padStart(5)}s] ${head}: arrivals ${w.arrivals}${expected} dropped ${w.dropped} in flight ${run.sessionsInFlight}; ` +
    `requests ok ${w.requests.ok} ${failedText(w)}; latency p50 ${ms(w.latencyMs.p50)} p99 ${ms(w.latencyMs.p99)} max ${ms(w.latencyMs.max)} ms; served ${pct(w.servedRatio)}`
  );
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => '  ' + r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}

/** The summary printed at the end. */
export function formatSummary(config: LoadConfig, totals: LoadStats, interrupted: string | null): string {
  const what = config.mode === 'open-loop' ? `profile ${config.profileSpec} (session arrivals/s), ${config.process} arrivals` : `${config.users} users, think time ${config.thinkTimeMs} ms`;
  const lines = [
    `load summary: ${totals.mode}, scenario ${config.scenario}, ${what}`,
    `  target ${config.target}, ran ${totals.endS.toFixed(1)} s of ${config.durationS} s${interrupted ? `, interrupted by ${interrupted}` : ''}`,
    '',
    ...table([
      ['sessions', 'count'],
      ['expected', totals.expectedArrivals === null ? '-' : totals.expectedArrivals.toFixed(1)],
      ['arrivals', String(totals.arrivals)],
      ['sent', String(totals.sent)],
      ['dropped', String(totals.dropped)],
      ['completed', String(totals.completed)],
      ['ok', String(totals.ok)],
      ['served/expected', pct(totals.servedRatio)],
    ]),
    '',
    ...table([
      ['requests', 'count'],
      ['sent', String(totals.requests.sent)],
      ['ok', String(totals.requests.ok)],
      ['failed http', String(totals.requests.failed.http)],
      ['failed timeout', String(totals.requests.failed.timeout)],
      ['failed connection', String(totals.requests.failed.connection)],
      ['aborted at stop', String(totals.requests.aborted)],
    ]),
    '',
    ...table([
      ['latency (ms)', 'count', 'p50', 'p90', 'p95', 'p99', 'max'],
      ...[['all requests', totals.latencyMs] as const, ...Object.entries(totals.latencyByNameMs), ['whole session', totals.sessionLatencyMs] as const].map(([name, l]) => [
        name,
        String(l.count),
        ms(l.p50),
        ms(l.p90),
        ms(l.p95),
        ms(l.p99),
        ms(l.max),
      ]),
    ]),
  ];
  if (totals.mode === 'closed-loop') lines.push('', 'closed-loop: arrivals wait for responses, so these latencies understate what users of an open system would see.');
  return lines.join('\n');
}

export async function run(args: string[]): Promise<number> {
  const config = parseLoadArgs(args);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  let metrics: LoadMetrics | undefined;
  let server: MetricsServer | undefined;
  if (config.metricsPort !== undefined) {
    const profile = config.mode === 'open-loop' ? config.profileSpec : `${config.users} users, think ${config.thinkTimeMs} ms`;
    metrics = new LoadMetrics({ mode: config.mode, scenario: config.scenario, profile });
    server = await serveLoadMetrics(config.metricsPort, metrics, config.metricsHost);
    log(`metrics on ${server.url}`);
  }

  const common = { scenario: config.scenario, seed: config.seed, timeoutMs: config.timeoutMs, observer: metrics?.observer };
  let loadRun: LoadControl;
  if (config.mode === 'open-loop') {
    const { profile } = config;
    loadRun = startLoad(config.target, profile, { ...common, process: config.process, maxSessionsInFlight: config.maxInFlight, workers: config.workers });
    metrics?.attach(loadRun, (t) => profile.rate(t));
    const threads = config.workers > 1 ? ` on ${config.workers} worker threads` : '';
    log(`load: open-loop, ${config.profileSpec} session arrivals/s (${profile.description}), scenario ${config.scenario}, ${config.durationS} s against ${config.target}${threads}`);
    // Arrivals begin once every worker thread is up; the duration counts from then.
    if (loadRun instanceof ParallelOpenLoop) {
      try {
        await loadRun.ready;
      } catch (err) {
        await server?.close();
        throw err;
      }
    }
  } else {
    loadRun = startClosedLoop(config.target, { ...common, users: config.users, pacing: { thinkTimeMs: config.thinkTimeMs } });
    metrics?.attach(loadRun);
    log(`load: closed-loop, ${config.users} users, think time ${config.thinkTimeMs} ms, scenario ${config.scenario}, ${config.durationS} s against ${config.target}`);
  }

  const progressMs = process.stderr.isTTY ? 1000 : 10_000;
  let interrupted: NodeJS.Signals | null = null;
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  let timer: NodeJS.Timeout | undefined;
  let endEarly: () => void = () => {};
  const progress = setInterval(() => {
    try {
      log(formatProgress(config, loadRun.takeWindow(), loadRun));
    } catch (err) {
      // A generator worker died: stop now; stop() reports it with the windows completed before.
      if (!(err instanceof LoadWorkerError)) throw err;
      endEarly();
    }
  }, progressMs);
  await new Promise<void>((resolve) => {
    endEarly = resolve;
    timer = setTimeout(resolve, config.durationS * 1000);
    onSignal = (signal) => {
      interrupted = signal;
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  clearTimeout(timer);
  clearInterval(progress);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  if (interrupted) log(`${interrupted}: stopping; sessions in flight are aborted`);

  let totals: LoadStats;
  try {
    totals = await loadRun.stop(interrupted ? { drainMs: 0 } : {});
  } catch (err) {
    await server?.close();
    if (!(err instanceof LoadWorkerError)) throw err;
    log(`error: ${err.message}`);
    process.stdout.write(`${config.json ? JSON.stringify({ target: config.target, error: err.message, ...err.completed }) : formatSummary(config, err.completed, interrupted)}\n`);
    return 1;
  }
  await server?.close();
  if (config.json) {
    const meta = config.mode === 'open-loop' ? { profile: config.profileSpec, process: config.process, maxInFlight: config.maxInFlight, workers: config.workers } : { users: config.users, thinkTimeMs: config.thinkTimeMs };
    process.stdout.write(`${JSON.stringify({ target: config.target, scenario: config.scenario, ...meta, durationS: config.durationS, interrupted, ...totals })}\n`);
  } else {
    process.stdout.write(`${formatSummary(config, totals, interrupted)}\n`);
  }
  return interrupted === 'SIGINT' ? 130 : interrupted === 'SIGTERM' ? 143 : 0;
}
