/**
 * A small local stand-in for the TeaStore web UI, serving the paths the scenarios use, so tests
 * and benchmarks have a fast, controllable counterpart: a configurable service time, a share of
 * HTTP 500 answers, and stalls (every request, in service or arriving, is held until the stall
 * ends).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Rng } from '../random';

export const TEASTORE_BASE_PATH = '/tools.descartes.teastore.webui/';
const SESSION_COOKIE = 'teastore-session';

export interface TestTargetBehaviour {
  /** Time each request takes to serve. Default 0. */
  serviceTimeMs: number;
  /** Share of requests answered with HTTP 500, in [0, 1]. Default 0. */
  errorRate: number;
}

export interface TestTargetOptions extends Partial<TestTargetBehaviour> {
  /** Default 0: any free port. */
  port?: number;
  host?: string;
  /** Seeds which requests fail. */
  seed?: number;
}

export interface TestTargetCounts {
  requests: number;
  byPage: Record<string, number>;
  /** Profile requests that carried the session cookie set at login. */
  profileWithSession: number;
}

export interface TestTarget {
  /** The web UI's base URL, ending in a slash. */
  readonly url: string;
  readonly port: number;
  readonly counts: TestTargetCounts;
  /** Holds every request until `durationMs` from now. */
  stall(durationMs: number): void;
  configure(behaviour: Partial<TestTargetBehaviour>): void;
  close(): Promise<void>;
}

const PAGES = new Set(['', 'login', 'loginAction', 'category', 'product', 'cartAction', 'profile']);

export async function startTestTarget(options: TestTargetOptions = {}): Promise<TestTarget> {
  const behaviour: TestTargetBehaviour = { serviceTimeMs: options.serviceTimeMs ?? 0, errorRate: options.errorRate ?? 0 };
  const rng = new Rng(options.seed ?? 0);
  const counts: TestTargetCounts = { requests: 0, byPage: {}, profileWithSession: 0 };
  let stallUntil = 0;

  const respond = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://target');
    if (!url.pathname.startsWith(TEASTORE_BASE_PATH)) return send(res, 404, 'not found');
    const page = url.pathname.slice(TEASTORE_BASE_PATH.length);
    if (!PAGES.has(page)) return send(res, 404, 'not found');
    counts.byPage[page || 'home'] = (counts.byPage[page || 'home'] ?? 0) + 1;
    if (behaviour.errorRate > 0 && rng.next() < behaviour.errorRate) return send(res, 500, 'error');
    const cookie = req.headers.cookie ?? '';
    if (page === 'loginAction' && url.searchParams.has('username')) {
      res.setHeader('set-cookie', `${SESSION_COOKIE}=${encodeURIComponent(url.searchParams.get('username') ?? '')}; Path=/`);
    } else if (page === 'loginAction' && url.searchParams.has('logout')) {
      res.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0`);
    } else if (page === 'profile' && cookie.includes(`${SESSION_COOKIE}=`)) {
      counts.profileWithSession++;
    }
    send(res, 200, `<html><body>${page || 'home'}</body></html>`);
  };

  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    counts.requests++;
    const receivedAt = Date.now();
    req.resume();
    const answer = () => {
      // A stall may have begun or grown while this request was in service.
      const wait = Math.max(receivedAt + behaviour.serviceTimeMs, stallUntil) - Date.now();
      if (wait > 0) setTimeout(answer, wait);
      else respond(req, res);
    };
    answer();
  });
  server.headersTimeout = 0;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';

  return {
    url: `http://${host}:${port}${TEASTORE_BASE_PATH}`,
    port,
    counts,
    stall(durationMs) {
      stallUntil = Math.max(stallUntil, Date.now() + durationMs);
    },
    configure(update) {
      Object.assign(behaviour, update);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: http.ServerResponse, status: number, body: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
