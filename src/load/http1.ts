/**
 * A lean HTTP/1.1 client for the load generator, on raw sockets: keep-alive, one request in
 * flight per socket (no pipelining), an incremental response parser (Content-Length, chunked and
 * read-until-close bodies, bodies discarded), time-outs swept by one timer, and connection
 * errors reported as such.
 *
 * Why not Node's http.Agent: measured with `node --cpu-prof` at 5,000 requests/s, ClientRequest,
 * the agent's bookkeeping, header objects and the response stream cost several times the socket
 * write itself per request, and their garbage lengthened GC pauses into the send lateness. Here a
 * request is one string written to a pooled socket and a response is a few integers of state.
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import * as tls from 'node:tls';

export type FailureReason = 'http' | 'timeout' | 'connection';
export type Outcome = 'ok' | FailureReason | 'aborted';

export interface HttpResult {
  outcome: Outcome;
  /** The HTTP status, 0 when no response arrived. */
  status: number;
  /** The response's Set-Cookie header lines (shared empty array when none). */
  setCookies: readonly string[];
  /** Set for connection errors and aborts: the error code or message. */
  error?: string;
}

export interface Http1ClientOptions {
  /** Per request, from the call to its response's last byte, waiting for a socket included. */
  timeoutMs: number;
  /** Upper bound on open sockets; requests beyond it wait for a free socket. */
  maxSockets: number;
  /** For https: targets: a CA to trust, or certificate checks off (a test server's own certificate). */
  tls?: Pick<tls.ConnectionOptions, 'ca' | 'rejectUnauthorized'>;
}

const NO_COOKIES: readonly string[] = Object.freeze([]);
/** Every plain socket reads into this one buffer; each read is parsed before the next can happen. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
/** A response head larger than this is refused as malformed. */
const MAX_HEAD_BYTES = 64 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
/** Printable ASCII only: anything else in a path or header would corrupt the request line. */
const UNSAFE = /[^\x21-\x7e]/;
const UNSAFE_HEADER_VALUE = /[^\x20-\x7e\t]/;

const codes = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));
const HTTP1_PREFIX = codes('HTTP/1.');
const CONTENT_LENGTH = codes('content-length');
const TRANSFER_ENCODING = codes('transfer-encoding');
const CONNECTION = codes('connection');
const SET_COOKIE = codes('set-cookie');
const CLOSE = codes('close');
const KEEP_ALIVE = codes('keep-alive');

function startsWithAt(buf: Buffer, at: number, expected: readonly number[]): boolean {
  for (let i = 0; i < expected.length; i++) if (buf[at + i] !== expected[i]) return false;
  return true;
}

/** Whether bytes [from, to) spell `lower` (lower-case ASCII) in any case. */
function sameLetters(buf: Buffer, from: number, to: number, lower: readonly number[]): boolean {
  if (to - from !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const b = buf[from + i];
    // Upper-case ASCII letters to lower case; anything else as it is.
    if ((b >= 65 && b <= 90 ? b | 32 : b) !== lower[i]) return false;
  }
  return true;
}

/** The decimal number that bytes [from, to) spell, or -1 when they are empty or not all digits. */
function digitsAt(buf: Buffer, from: number, to: number): number {
  if (to <= from) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Where the line starting at `from` ends (its CRLF), or `end`. */
function lineEndAt(buf: Buffer, from: number, end: number): number {
  for (let i = from; i < end - 1; i++) if (buf[i] === 13 && buf[i + 1] === 10) return i;
  return end;
}

const isBlank = (b: number) => b === 32 || b === 9;

interface Pending {
  head: string;
  deadline: number;
  settled: boolean;
  /** A number handed back with the result (the generator's intended start), so a caller needs no closure per request. */
  tag: number;
  resolve(result: HttpResult, tag: number): void;
}

const enum Parse {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
}

/** One socket and the parse state of the response it is reading. */
class Connection {
  readonly socket: net.Socket;
  pending: Pending | null = null;
  private state = Parse.Head;
  private partial: Buffer | null = null;
  private line = '';
  private remaining = 0;
  private status = 0;
  private setCookies: string[] | null = null;
  private keepAlive = true;
  private socketError: string | null = null;

  constructor(
    private readonly client: Http1Client,
    connect: (onData: (chunk: Buffer) => void) => net.Socket,
  ) {
    this.socket = connect((chunk) => this.onData(chunk));
    this.socket.setNoDelay(true);
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.socketError = err.code ?? err.message;
    });
    this.socket.on('close', () => this.onClose());
  }

  /** Writes a request; the socket buffers it until connected. */
  send(pending: Pending): void {
    this.pending = pending;
    this.state = Parse.Head;
    this.status = 0;
    this.setCookies = null;
    this.keepAlive = true;
    this.socket.write(pending.head, 'latin1');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.pending === null) {
      // Bytes nobody asked for: the stream is out of step, so the socket cannot be trusted.
      this.socket.destroy();
      return;
    }
    let buf = chunk;
    let off = 0;
    while (off < buf.length) {
      switch (this.state) {
        case Parse.Head: {
          if (this.partial !== null) {
            buf = Buffer.concat([this.partial, buf.subarray(off)]);
            off = 0;
            this.partial = null;
          }
          const end = buf.indexOf(CRLFCRLF, off);
          if (end < 0) {
            if (buf.length - off > MAX_HEAD_BYTES) return this.fail('response head too large');
            // A copy: plain sockets read into one buffer that the next read overwrites.
            this.partial = Buffer.from(buf.subarray(off));
            return;
          }
          if (!this.parseHead(buf, off, end)) return this.fail('malformed response head');
          off = end + 4;
          if (this.state === Parse.Head) break; // an interim (1xx) response: the real one follows
          if (this.state === Parse.Length && this.remaining === 0) return this.complete(buf.length - off);
          break;
        }
        case Parse.Length: {
          const take = Math.min(this.remaining, buf.length - off);
          off += take;
          this.remaining -= take;
          if (this.remaining === 0) return this.complete(buf.length - off);
          break;
        }
        case Parse.UntilClose:
          return;
        case Parse.ChunkData: {
          const take = Math.min(this.remaining, buf.length - off);
          off += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = Parse.ChunkEnd;
          break;
        }
        default: {
          // ChunkSize, ChunkEnd and Trailers read whole lines.
          const nl = buf.indexOf(10, off);
          if (nl < 0) {
            this.line += buf.toString('latin1', off);
            if (this.line.length > MAX_HEAD_BYTES) return this.fail('chunk line too long');
            return;
          }
          const text = (this.line + buf.toString('latin1', off, nl)).replace(/\r$/, '');
          this.line = '';
          off = nl + 1;
          if (this.state === Parse.ChunkSize) {
            const size = parseInt(text.split(';', 1)[0].trim(), 16);
            if (!Number.isFinite(size) || size < 0) return this.fail(`bad chunk size "${text}"`);
            if (size === 0) this.state = Parse.Trailers;
            else {
              this.remaining = size;
              this.state = Parse.ChunkData;
            }
          } else if (this.state === Parse.ChunkEnd) {
            if (text !== '') return this.fail('chunk not followed by CRLF');
            this.state = Parse.ChunkSize;
          } else if (text === '') {
            return this.complete(buf.length - off);
          }
        }
      }
    }
  }

  /**
   * Reads the status line and the headers that matter from the bytes [start, end) of `buf`;
   * false when the head is not HTTP/1.x. It reads bytes, not a string of the head: the strings
   * (the head, each line, each lower-cased name) were the largest share of the garbage per
   * response, measured with V8's sampling heap profiler. Only a Set-Cookie value becomes a string.
   */
  private parseHead(buf: Buffer, start: number, end: number): boolean {
    if (end - start < 12 || !startsWithAt(buf, start, HTTP1_PREFIX)) return false;
    const status = digitsAt(buf, start + 9, start + 12);
    if (!(status >= 100 && status <= 999)) return false;
    if (status < 200) return true; // stay in Head for the final response
    this.status = status;
    this.keepAlive = buf[start + 7] === 49; // HTTP/1.1 keeps alive by default, 1.0 does not
    let length = -1;
    let chunked = false;
    let lineStart = lineEndAt(buf, start, end) + 2;
    while (lineStart < end) {
      const lineEnd = lineEndAt(buf, lineStart, end);
      let colon = lineStart;
      while (colon < lineEnd && buf[colon] !== 58) colon++;
      const nameLength = colon - lineStart;
      // Only the four names below matter: 10, 14 and 17 characters long.
      if (colon < lineEnd && (nameLength === 10 || nameLength === 14 || nameLength === 17)) {
        let valueStart = colon + 1;
        let valueEnd = lineEnd;
        while (valueStart < valueEnd && isBlank(buf[valueStart])) valueStart++;
        while (valueEnd > valueStart && isBlank(buf[valueEnd - 1])) valueEnd--;
        if (sameLetters(buf, lineStart, colon, CONTENT_LENGTH)) {
          length = digitsAt(buf, valueStart, valueEnd);
          if (!(length >= 0)) return false;
        } else if (sameLetters(buf, lineStart, colon, TRANSFER_ENCODING)) {
          chunked = /chunked/i.test(buf.toString('latin1', valueStart, valueEnd));
        } else if (sameLetters(buf, lineStart, colon, CONNECTION)) {
          if (sameLetters(buf, valueStart, valueEnd, CLOSE)) this.keepAlive = false;
          else if (sameLetters(buf, valueStart, valueEnd, KEEP_ALIVE)) this.keepAlive = true;
        } else if (sameLetters(buf, lineStart, colon, SET_COOKIE)) {
          (this.setCookies ??= []).push(buf.toString('latin1', valueStart, valueEnd));
        }
      }
      lineStart = lineEnd + 2;
    }
    const isHead = this.pending!.head.startsWith('HEAD ');
    if (status === 204 || status === 304 || isHead) {
      this.state = Parse.Length;
      this.remaining = 0;
    } else if (chunked) {
      this.state = Parse.ChunkSize;
    } else if (length >= 0) {
      this.state = Parse.Length;
      this.remaining = length;
    } else {
      // No length: the body ends when the server closes the socket.
      this.state = Parse.UntilClose;
      this.keepAlive = false;
    }
    return true;
  }

  /** The response is complete; `extra` bytes followed it unasked, which spoils the socket. */
  private complete(extra: number): void {
    const pending = this.pending!;
    this.pending = null;
    this.state = Parse.Head;
    const reuse = this.keepAlive && extra === 0;
    this.client.settle(pending, responseResult(this.status, this.setCookies));
    if (reuse) this.client.release(this);
    else this.socket.destroy();
  }

  private fail(error: string): void {
    const pending = this.pending;
    this.pending = null;
    this.socket.destroy();
    if (pending) this.client.settle(pending, { outcome: 'connection', status: this.status, setCookies: NO_COOKIES, error });
  }

  private onClose(): void {
    this.client.forget(this);
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    if (this.state === Parse.UntilClose && this.socketError === null) {
      this.client.settle(pending, responseResult(this.status, this.setCookies));
    } else {
      this.client.settle(pending, { outcome: 'connection', status: this.status, setCookies: NO_COOKIES, error: this.socketError ?? 'socket closed before the response ended' });
    }
  }
}

/**
 * Requests to one origin (http: or https:) over a pool of at most `maxSockets` keep-alive sockets.
 * Idle sockets are reused last-in first-out, so a burst's extra sockets go idle and the server can
 * time them out.
 */
export class Http1Client {
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly secure: boolean;
  private readonly timeoutMs: number;
  private readonly maxSockets: number;
  private readonly tlsOptions: Http1ClientOptions['tls'];
  private readonly connections = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private queue: Pending[] = [];
  private queueHead = 0;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private opened = 0;

  constructor(origin: URL, options: Http1ClientOptions) {
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new Error(`unsupported protocol in ${origin.href}: only http: and https: are`);
    if (!(options.maxSockets >= 1)) throw new Error(`maxSockets must be at least 1, got ${options.maxSockets}`);
    if (!(options.timeoutMs > 0)) throw new Error(`timeoutMs must be positive, got ${options.timeoutMs}`);
    this.secure = origin.protocol === 'https:';
    this.host = origin.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(origin.port) || (this.secure ? 443 : 80);
    this.hostHeader = origin.host;
    this.timeoutMs = options.timeoutMs;
    this.maxSockets = Math.floor(options.maxSockets);
    this.tlsOptions = options.tls;
    // One timer for every time-out: a sweep a twentieth of the time-out apart (5..100 ms).
    this.sweeper = setInterval(() => this.sweep(), Math.min(100, Math.max(5, this.timeoutMs / 20)));
    this.sweeper.unref();
  }

  /** Open sockets, idle or busy. */
  get openSockets(): number {
    return this.connections.size;
  }

  /** Sockets opened since the client was made. */
  get socketsOpened(): number {
    return this.opened;
  }

  /**
   * Sends `method path` with an optional Cookie header value (a POST carries an empty body) and
   * resolves with the outcome; never rejects. `path` is sent as given (already encoded).
   */
  request(method: string, path: string, cookie?: string): Promise<HttpResult> {
    const head = this.prepare(method, path, cookie);
    return new Promise<HttpResult>((resolve) => this.sendPrepared(head, resolve));
  }

  /**
   * The request head for `method path` (and a Cookie header value), checked once: a caller that
   * sends the same request many times prepares it once and hands it to sendPrepared().
   */
  prepare(method: string, path: string, cookie?: string): string {
    if (UNSAFE.test(method) || UNSAFE.test(path)) throw new Error(`request line must be printable ASCII without spaces: ${method} ${path}`);
    if (cookie !== undefined && UNSAFE_HEADER_VALUE.test(cookie)) throw new Error(`cookie header must be printable ASCII: ${cookie}`);
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n`;
    if (cookie) head += `Cookie: ${cookie}\r\n`;
    if (method !== 'GET' && method !== 'HEAD') head += 'Content-Length: 0\r\n';
    return head + '\r\n';
  }

  /**
   * Sends a head from prepare() and hands the outcome and `tag` to `onResult` (once, never
   * synchronously): the generator's single-request sessions use it to spare the promises of
   * request(), and the tag to spare a closure per request.
   */
  sendPrepared(head: string, onResult: (result: HttpResult, tag: number) => void, tag = 0): void {
    if (this.closed) {
      queueMicrotask(() => onResult(aborted(), tag));
      return;
    }
    this.dispatch({ head, deadline: performance.now() + this.timeoutMs, settled: false, tag, resolve: onResult });
  }

  /** Aborts every request in flight or waiting (they resolve as `aborted`) and closes the sockets. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (let i = this.queueHead; i < this.queue.length; i++) this.settle(this.queue[i], aborted());
    this.queue = [];
    this.queueHead = 0;
    for (const c of [...this.connections]) {
      if (c.pending) this.settle(c.pending, aborted());
      c.pending = null;
      c.destroy();
    }
    this.connections.clear();
    this.idle.length = 0;
  }

  /** @internal A connection finished a response and may take the next request. */
  release(c: Connection): void {
    if (this.closed) return c.destroy();
    const next = this.dequeue();
    if (next) c.send(next);
    else this.idle.push(c);
  }

  /** @internal A connection closed: it leaves the pool, and a waiting request may open a new one. */
  forget(c: Connection): void {
    this.connections.delete(c);
    const i = this.idle.lastIndexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.closed) return;
    const next = this.dequeue();
    if (next) this.open(next);
  }

  /** @internal Resolves a request once. */
  settle(pending: Pending, result: HttpResult): void {
    if (pending.settled) return;
    pending.settled = true;
    pending.resolve(result, pending.tag);
  }

  private dispatch(pending: Pending): void {
    const c = this.idle.pop();
    if (c) c.send(pending);
    else if (this.connections.size < this.maxSockets) this.open(pending);
    else this.queue.push(pending);
  }

  private open(pending: Pending): void {
    const c = new Connection(this, (onData) => {
      if (this.secure) {
        const socket = tls.connect({ ...this.tlsOptions, host: this.host, port: this.port, servername: net.isIP(this.host) ? undefined : this.host });
        socket.on('data', onData);
        return socket;
      }
      // `onread` hands each read to the parser in one reused buffer, skipping the stream's per-read
      // Buffer and 'data' event: the response body is discarded, so nothing needs to outlive the call.
      return net.connect({ host: this.host, port: this.port, onread: { buffer: READ_BUFFER, callback: (n) => (onData(READ_BUFFER.subarray(0, n)), true) } });
    });
    this.connections.add(c);
    this.opened++;
    c.send(pending);
  }

  private dequeue(): Pending | undefined {
    while (this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead++];
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      if (!next.settled) return next;
    }
    return undefined;
  }

  /** Times out overdue requests: waiting ones leave the queue, sent ones lose their socket. */
  private sweep(): void {
    const now = performance.now();
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const p = this.queue[i];
      if (!p.settled && p.deadline <= now) this.settle(p, timedOut());
    }
    for (const c of this.connections) {
      const p = c.pending;
      if (p !== null && p.deadline <= now) {
        c.pending = null;
        c.destroy();
        this.settle(p, timedOut());
      }
    }
  }
}

/** One frozen result per status for responses without cookies, so the common response allocates none. */
const PLAIN_RESULTS = new Map<number, HttpResult>();

function responseResult(status: number, setCookies: string[] | null): HttpResult {
  if (setCookies !== null) return { outcome: status >= 400 ? 'http' : 'ok', status, setCookies };
  let result = PLAIN_RESULTS.get(status);
  if (result === undefined) {
    result = Object.freeze({ outcome: status >= 400 ? 'http' : 'ok', status, setCookies: NO_COOKIES });
    PLAIN_RESULTS.set(status, result);
  }
  return result;
}

function aborted(): HttpResult {
  return { outcome: 'aborted', status: 0, setCookies: NO_COOKIES, error: 'stopped' };
}

function timedOut(): HttpResult {
  return { outcome: 'timeout', status: 0, setCookies: NO_COOKIES };
}
