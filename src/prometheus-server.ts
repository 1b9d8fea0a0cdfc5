/**
 * Starts a real Prometheus (Debian's `prometheus` binary) for tests and demos: a free loopback
 * port, a generated config scraping the given targets every second, a temporary TSDB, and a clean
 * stop. Users with their own Prometheus pass its URL to MetricClient instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { findBinary } from './find-binary';

export { findBinary };

export interface PrometheusOptions {
  /** URLs to scrape, e.g. the simulator's metricsUrl. */
  targets: string[];
  /** Path of the binary (default: `prometheus` on PATH). */
  binary?: string;
  scrapeIntervalSeconds?: number;
  /** Resolve only once this PromQL returns a non-empty result (default: a sample of every target). */
  readyQuery?: string;
  readyTimeoutMs?: number;
}

export interface PrometheusHandle {
  url: string;
  configPath: string;
  dataDir: string;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove the temporary files. */
  stop(): Promise<void>;
}

export class PrometheusLaunchError extends Error {
  override name = 'PrometheusLaunchError';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The generated configuration: one job per target, honouring the target's own labels. */
export function prometheusConfig(targets: string[], scrapeIntervalSeconds: number): string {
  return stringify({
    global: { scrape_interval: `${scrapeIntervalSeconds}s`, evaluation_interval: `${scrapeIntervalSeconds}s`, scrape_timeout: `${scrapeIntervalSeconds}s` },
    scrape_configs: targets.map((target, i) => {
      const url = new URL(target);
      return {
        job_name: `target-${i}`,
        scheme: url.protocol.replace(':', ''),
        metrics_path: url.pathname || '/metrics',
        honor_labels: true,
        static_configs: [{ targets: [url.host] }],
      };
    }),
  });
}

async function queryNonEmpty(url: string, query: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return false;
    const body = (await response.json()) as { data?: { result?: unknown[] } };
    return (body.data?.result?.length ?? 0) > 0;
  } catch {
    return false;
  }
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusHandle> {
  if (options.targets.length === 0) throw new PrometheusLaunchError('startPrometheus: no scrape targets given');
  const binary = findBinary(options.binary ?? 'prometheus');
  if (!binary) {
    throw new PrometheusLaunchError(`the prometheus binary ${JSON.stringify(options.binary ?? 'prometheus')} was not found; install it with \`apt-get install prometheus\` or pass a Prometheus URL instead`);
  }
  const interval = options.scrapeIntervalSeconds ?? 1;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rl-autoscaler-prometheus-'));
  const configPath = path.join(dir, 'prometheus.yml');
  const dataDir = path.join(dir, 'data');
  writeFileSync(configPath, prometheusConfig(options.targets, interval));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const args = [`--config.file=${configPath}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=1h', '--log.level=warn'];
  // A process killed outright (SIGKILL, a signal's default action) runs no exit handler: with
  // util-linux's setpriv the kernel kills Prometheus when its parent dies, whatever the cause.
  const setpriv = findBinary('setpriv');
  const [command, commandArgs] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', binary, ...args]] : [binary, args];
  const child: ChildProcess = spawn(command, commandArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      stderr += String(err);
      exited = { code: -1, signal: null };
      resolve();
    });
  });

  // A process that exits without calling stop() (an uncaught error, process.exit in a notebook
  // kernel) still takes its Prometheus and temporary TSDB with it.
  const onProcessExit = () => {
    if (!exited) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onProcessExit);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.off('exit', onProcessExit);
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    })());

  const readyQuery = options.readyQuery ?? `count(up{job=~"target-.*"} == 1) >= ${options.targets.length}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  try {
    for (;;) {
      if (exited) throw new PrometheusLaunchError(`prometheus exited early (code ${exited.code}, signal ${exited.signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      if (await queryNonEmpty(url, readyQuery)) break;
      if (Date.now() > deadline) throw new PrometheusLaunchError(`prometheus at ${url} had no samples for ${JSON.stringify(readyQuery)} within ${options.readyTimeoutMs ?? 30_000} ms`);
      await sleep(200);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, configPath, dataDir, stop };
}
