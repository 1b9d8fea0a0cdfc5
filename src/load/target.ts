/**
 * The HTTP side of the load generator: one keep-alive agent per run, per-request time-outs, and
 * every outcome sorted into ok, an HTTP error status, a time-out or a connection error.
 *
 * Node's http module with a keep-alive agent is used rather than the global fetch: fetch builds
 * WHATWG Request/Response objects and streams for every call, which costs several times more CPU
 * per request at thousands of requests per second.
 */
import * as http from 'node:http';
import * as https from 'node:https';

export type FailureReason = 'http' | 'timeout' | 'connection';
export type Outcome = 'ok' | FailureReason | 'aborted';

export interface HttpResult {
  outcome: Outcome;
  /** The HTTP status, 0 when no response arrived. */
  status: number;
  setCookies: string[];
  /** Set for connection errors and aborts: the error code or message. */
  error?: string;
}

/**
 * Default cap on open sockets. Without one, any pause (a GC, a slow response) makes the waiting
 * arrivals open new sockets, which allocates more and lengthens the next pause: measured here, a
 * run at 5,000/s opened 16,719 sockets and collapsed. Requests beyond the cap wait in the agent,
 * and their latency, timed from the intended start, still counts the wait.
 */
export const DEFAULT_MAX_SOCKETS = 256;

export interface HttpTargetOptions {
  timeoutMs: number;
  /** Upper bound on open sockets (default DEFAULT_MAX_SOCKETS). */
  maxSockets?: number;
}

export class HttpTarget {
  private readonly base: URL;
  /** The parts of every request's options that never change, built once (a URL per request costs more than the send). */
  private readonly requestBase: http.RequestOptions;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly timeoutMs: number;
  private readonly inFlight = new Set<http.ClientRequest>();
  private closed = false;

  constructor(baseUrl: string, options: HttpTargetOptions) {
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    const secure = this.base.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS, scheduling: 'lifo' as const };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.request = secure ? https.request : http.request;
    this.timeoutMs = options.timeoutMs;
    this.requestBase = { protocol: this.base.protocol, hostname: this.base.hostname.replace(/^\[(.*)\]$/, '$1'), port: this.base.port || undefined, agent: this.agent };
  }

  send(method: string, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<HttpResult> {
    if (this.closed) return Promise.resolve(aborted());
    // Paths are relative to the base path even with a leading slash (the original's `webui//login` is avoided).
    const fullPath = this.base.pathname + path.replace(/^\/+/, '');
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: HttpResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(req);
        resolve(result);
      };
      const req = this.request(
        { ...this.requestBase, method, path: fullPath, headers: method === 'GET' ? headers : { 'content-length': 0, ...headers } },
        (res) => {
          const status = res.statusCode ?? 0;
          const setCookies = res.headers['set-cookie'] ?? [];
          // The body is drained (not kept) so the socket returns to the pool.
          res.on('end', () => finish({ outcome: status >= 400 ? 'http' : 'ok', status, setCookies }));
          res.on('error', (err) => finish(this.closed ? aborted() : connectionFailure(err)));
          // A response cut off mid-body ends with 'close' and no 'end'.
          res.on('close', () => finish(this.closed ? aborted() : { outcome: 'connection', status, setCookies, error: 'response closed early' }));
          res.resume();
        },
      );
      const timer = setTimeout(() => {
        finish({ outcome: 'timeout', status: 0, setCookies: [] });
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (err) => finish(this.closed ? aborted() : connectionFailure(err)));
      this.inFlight.add(req);
      req.end();
    });
  }

  /** Aborts every request in flight (they resolve as `aborted`) and closes the sockets. */
  close(): void {
    this.closed = true;
    for (const req of this.inFlight) req.destroy();
    this.agent.destroy();
  }
}

function aborted(): HttpResult {
  return { outcome: 'aborted', status: 0, setCookies: [], error: 'stopped' };
}

function connectionFailure(err: Error): HttpResult {
  const code = (err as NodeJS.ErrnoException).code;
  return { outcome: 'connection', status: 0, setCookies: [], error: code ?? err.message };
}
