/**
 * The HTTP side of the load generator: one pool of keep-alive sockets per run (http1.ts),
 * per-request time-outs, and every outcome sorted into ok, an HTTP error status, a time-out or a
 * connection error. Paths are relative to the target's base URL.
 */
import { Http1Client, type HttpResult } from './http1';

export type { FailureReason, HttpResult, Outcome } from './http1';

/**
 * Default cap on open sockets. Without one, any pause (a GC, a slow response) makes the waiting
 * arrivals open new sockets, which allocates more and lengthens the next pause: measured here, a
 * run at 5,000/s opened 16,719 sockets and collapsed. Requests beyond the cap wait for a socket,
 * and their latency, timed from the intended start, still counts the wait.
 */
export const DEFAULT_MAX_SOCKETS = 256;

export interface HttpTargetOptions {
  timeoutMs: number;
  /** Upper bound on open sockets (default DEFAULT_MAX_SOCKETS). */
  maxSockets?: number;
}

export class HttpTarget {
  private readonly basePath: string;
  private readonly client: Http1Client;

  constructor(baseUrl: string, options: HttpTargetOptions) {
    const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.basePath = base.pathname;
    this.client = new Http1Client(base, { timeoutMs: options.timeoutMs, maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS });
  }

  /** Open sockets to the target, idle or busy. */
  get openSockets(): number {
    return this.client.openSockets;
  }

  /** Sockets opened to the target since the run began. */
  get socketsOpened(): number {
    return this.client.socketsOpened;
  }

  /** Sends one request; `cookie` is the Cookie header's value, if any. Never rejects. */
  send(method: string, path: string, cookie?: string): Promise<HttpResult> {
    return this.client.request(method, this.fullPath(path), cookie);
  }

  /** A request (without cookies) checked and built once, for sendPrepared(). */
  prepare(method: string, path: string): string {
    return this.client.prepare(method, this.fullPath(path));
  }

  /** Sends a prepared request; `onResult` is called once with the outcome and `tag`, never synchronously. */
  sendPrepared(head: string, onResult: (result: HttpResult, tag: number) => void, tag = 0): void {
    this.client.sendPrepared(head, onResult, tag);
  }

  private fullPath(path: string): string {
    // Paths are relative to the base path even with a leading slash (the original's `webui//login` is avoided).
    return this.basePath + (path.charCodeAt(0) === 47 ? path.replace(/^\/+/, '') : path);
  }

  /** Aborts every request in flight (they resolve as `aborted`) and closes the sockets. */
  close(): void {
    this.client.close();
  }
}
