/**
 * A lean HTTP/1.1 server layer for the simple case, in front of a node:http server.
 *
 * node:http and loopback TCP cost the policy server about 36 us of its request thread per request
 * (docs/benchmarks.md), more than the route's own work. This layer parses requests straight from
 * each connection's bytes and answers with one write of head and body, for the simple case only:
 * HTTP/1.1, a request line and headers it can check fully, a Content-Length body (or none),
 * keep-alive or `Connection: close`, pipelined requests answered in order, one at a time.
 *
 * Anything else (Transfer-Encoding, Expect, Upgrade, HTTP/1.0, a missing Host, repeated or
 * malformed headers, a head or body over the limits, a method or path it is not asked to serve)
 * goes to node:http: at a request boundary with nothing in flight, the connection is handed over
 * with the bytes already read put back, so node:http answers it exactly as it would have answered
 * from the start (status codes and errors included), and keeps the connection from then on.
 *
 * Timeouts follow the node:http server's settings: a connection idle for its keepAliveTimeout is
 * closed; a request not complete within its headersTimeout, or stalled for the keepAliveTimeout,
 * gets 408 and a close. Once the client has sent FIN the bytes cannot be put back, so a request
 * still unanswered then that would need node:http gets node:http's 400 for unreadable requests.
 */
import type * as http from 'node:http';
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type * as net from 'node:net';
import type { BufferedRequest, Reply } from './exchange';

export interface LeanHttpOptions {
  /** Whether this layer answers `method target` itself (else the connection goes to node:http). */
  serves(method: string, target: string): boolean;
  /** Answers a request; must call `res.end` once, as a node:http handler does. */
  handle(req: BufferedRequest, res: Reply): void;
  /** Larger bodies go to node:http (which answers 413 where the route's limit says so). */
  maxBodyBytes: number;
  /** Larger request heads go to node:http (default 8 KiB; node:http's own limit is 16 KiB). */
  maxHeadBytes?: number;
}

const DEFAULT_MAX_HEAD_BYTES = 8 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const LF = 0x0a;
const CR = 0x0d;
const REQUEST_LINE = /^([A-Z]+) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;
/** Field values without control characters (tab allowed), as RFC 9110 asks and llhttp checks. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const DIGITS = /^\d+$/;
/** Headers whose presence asks for more than this layer does. */
const HAND_OVER_HEADERS = new Set(['transfer-encoding', 'expect', 'upgrade']);
/** node:http's answers to bytes it cannot take as a request: the same here for what this layer ends. */
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/** The `Date` header's value, formatted at most once a second (as node:http does). */
let dateText = '';
let dateSecond = -1;
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

type Parsed =
  | { kind: 'incomplete' }
  | { kind: 'hand-over' }
  | { kind: 'request'; request: BufferedRequest; close: boolean; consumed: number };

/**
 * Takes over a node:http server's connections: each goes through this layer first, and to the
 * server's own connection listener when this layer does not serve it.
 */
export class LeanHttp {
  private readonly nodeListeners: ((socket: net.Socket) => void)[];
  private readonly connections = new Set<LeanConnection>();
  /** Connections handed to node:http so far (tests and benchmarks read it). */
  handedOver = 0;

  constructor(
    private readonly server: http.Server,
    private readonly options: LeanHttpOptions,
  ) {
    this.nodeListeners = server.listeners('connection') as ((socket: net.Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: net.Socket) => this.accept(socket));
  }

  private accept(socket: net.Socket): void {
    const timeouts = { keepAliveMs: this.server.keepAliveTimeout, requestMs: this.server.headersTimeout };
    const connection = new LeanConnection(socket, this.options, timeouts, (s) => this.handOver(s));
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
  }

  private handOver(socket: net.Socket): void {
    this.handedOver++;
    for (const listener of this.nodeListeners) listener.call(this.server, socket);
  }

  /** Closes connections waiting for a request now and the others after their current answer. */
  closeIdleConnections(): void {
    for (const connection of this.connections) connection.closeWhenIdle();
  }
}

class LeanConnection {
  private buffer: Buffer = Buffer.alloc(0);
  /** A request is being answered: the next one waits (answers go out in order). */
  private busy = false;
  /** Inside process(): an answer given synchronously must not re-enter it. */
  private processing = false;
  /** The client sent FIN: answer what was complete, then end. */
  private ended = false;
  /** Close after the current answer (Connection: close, or the server is closing). */
  private closing = false;
  private done = false;
  /** Reading stopped: unanswered bytes piled up, or answers wait for the client to read them. */
  private paused = false;
  /** When the first byte of the request being read arrived (Date.now()). */
  private requestStartedAt = 0;
  private readonly requestTimeoutMs: number;
  private readonly maxHeadBytes: number;
  /** Unanswered bytes held before reading stops (a client pipelining faster than it is answered). */
  private readonly maxBufferedBytes: number;
  /** The Connection header of a keep-alive answer, with the timeout as node:http announces it. */
  readonly keepAliveHeader: string;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onEnd = () => {
    this.ended = true;
    this.process();
  };
  private readonly onError = () => this.finish();
  private readonly onTimeout = () => this.timeout();
  private draining = false;
  private readonly onDrain = () => {
    this.draining = false;
    this.process();
  };

  constructor(
    private readonly socket: net.Socket,
    private readonly options: LeanHttpOptions,
    timeouts: { keepAliveMs: number; requestMs: number },
    private readonly handOverTo: (socket: net.Socket) => void,
  ) {
    const keepAliveTimeoutMs = timeouts.keepAliveMs;
    this.requestTimeoutMs = timeouts.requestMs;
    this.maxHeadBytes = options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
    this.maxBufferedBytes = this.maxHeadBytes + options.maxBodyBytes;
    this.keepAliveHeader = keepAliveTimeoutMs > 0 ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveTimeoutMs / 1000)}\r\n` : 'Connection: keep-alive\r\n';
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.once('close', () => (this.done = true));
    if (keepAliveTimeoutMs > 0) {
      socket.setTimeout(keepAliveTimeoutMs);
      socket.on('timeout', this.onTimeout);
    }
  }

  closeWhenIdle(): void {
    this.closing = true;
    if (!this.busy && this.buffer.length === 0) this.finish();
  }

  private receive(chunk: Buffer): void {
    if (this.buffer.length === 0) this.requestStartedAt = Date.now();
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.busy) this.process();
    else if (this.buffer.length > this.maxBufferedBytes) this.pauseReading();
  }

  private pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resumeReading(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /** Answers the complete requests in the buffer, one at a time, or hands the connection over. */
  private process(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.busy && !this.done) {
        if (this.buffer.length === 0) {
          if (this.ended || this.closing) this.finish();
          else this.resumeReading();
          return;
        }
        // Answers the client has not read yet: take no more requests until they are out.
        if (this.socket.writableNeedDrain) {
          this.pauseReading();
          if (!this.draining) {
            this.draining = true;
            this.socket.once('drain', this.onDrain);
          }
          return;
        }
        const parsed = this.parse();
        if (parsed.kind === 'incomplete') {
          // A request cut short by the client's FIN: node:http answers 400 to that too.
          if (this.ended) this.fail(BAD_REQUEST);
          // A request trickling in (a byte now and then keeps the idle timer from firing): node:http's headersTimeout.
          else if (this.requestTimeoutMs > 0 && Date.now() - this.requestStartedAt > this.requestTimeoutMs) this.fail(REQUEST_TIMEOUT);
          else this.resumeReading();
          return;
        }
        if (parsed.kind === 'hand-over') {
          // After FIN the bytes cannot be put back for node:http: refuse as it refuses what it cannot read.
          if (this.ended) this.fail(BAD_REQUEST);
          else this.handOver();
          return;
        }
        this.buffer = this.buffer.subarray(parsed.consumed);
        if (this.buffer.length) this.requestStartedAt = Date.now();
        if (parsed.close) this.closing = true;
        this.busy = true;
        this.options.handle(parsed.request, new LeanResponse(this));
      }
    } finally {
      this.processing = false;
    }
  }

  /** Called by a response once written: on to the next request. */
  answered(close: boolean): void {
    this.busy = false;
    if (close) this.closing = true;
    if (this.closing) {
      this.finish();
      return;
    }
    this.process();
  }

  get closingAfterAnswer(): boolean {
    return this.closing;
  }

  write(text: string): void {
    if (!this.done && this.socket.writable) this.socket.write(text);
  }

  private parse(): Parsed {
    const buffer = this.buffer;
    const headEnd = buffer.indexOf(HEAD_END);
    if (headEnd < 0) {
      // node:http judges heads this layer would not take: too long, or lines not ended by CRLF.
      if (buffer.length > this.maxHeadBytes || hasBareLineFeed(buffer, buffer.length)) return { kind: 'hand-over' };
      return { kind: 'incomplete' };
    }
    if (headEnd > this.maxHeadBytes) return { kind: 'hand-over' };
    const lines = buffer.toString('latin1', 0, headEnd).split('\r\n');
    const requestLine = REQUEST_LINE.exec(lines[0]);
    if (!requestLine) return { kind: 'hand-over' };
    // No prototype: a header named like an Object method is just a header.
    const headers: Record<string, string> = Object.create(null);
    for (let i = 1; i < lines.length; i++) {
      const header = HEADER_LINE.exec(lines[i]);
      if (!header || !FIELD_VALUE.test(header[2])) return { kind: 'hand-over' };
      const name = header[1].toLowerCase();
      // node:http merges or drops repeated headers by rules of its own: let it.
      if (headers[name] !== undefined || HAND_OVER_HEADERS.has(name)) return { kind: 'hand-over' };
      headers[name] = header[2];
    }
    if (headers.host === undefined) return { kind: 'hand-over' };
    let close = false;
    if (headers.connection !== undefined) {
      for (const token of headers.connection.split(',')) {
        const t = token.trim().toLowerCase();
        if (t === 'close') close = true;
        else if (t !== 'keep-alive') return { kind: 'hand-over' };
      }
    }
    let length = 0;
    const declared = headers['content-length'];
    if (declared !== undefined) {
      if (!DIGITS.test(declared)) return { kind: 'hand-over' };
      length = Number(declared);
      if (length > this.options.maxBodyBytes) return { kind: 'hand-over' };
    }
    const [, method, target] = requestLine;
    if (!this.options.serves(method, target)) return { kind: 'hand-over' };
    const bodyStart = headEnd + HEAD_END.length;
    if (buffer.length < bodyStart + length) return { kind: 'incomplete' };
    // A copy: the body outlives this buffer, which the next chunks replace.
    const body = Buffer.from(buffer.subarray(bodyStart, bodyStart + length));
    return { kind: 'request', request: { method, url: target, headers, bufferedBody: body }, close, consumed: bodyStart + length };
  }

  /** Gives the connection to node:http, with the unanswered bytes put back in front. */
  private handOver(): void {
    const socket = this.socket;
    this.done = true;
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onEnd);
    socket.removeListener('error', this.onError);
    socket.removeListener('timeout', this.onTimeout);
    socket.removeListener('drain', this.onDrain);
    socket.setTimeout(0);
    socket.pause();
    if (this.buffer.length) socket.unshift(this.buffer);
    this.buffer = Buffer.alloc(0);
    this.handOverTo(socket);
    // node:http reads on once its listeners are in place.
    process.nextTick(() => socket.resume());
  }

  private timeout(): void {
    if (this.busy) return;
    // Idle between requests: the keep-alive timeout; in the middle of one: node:http's 408.
    if (this.buffer.length === 0) this.finish();
    else this.fail(REQUEST_TIMEOUT);
  }

  private fail(answer: string): void {
    this.write(answer);
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.buffer = Buffer.alloc(0);
    // Our FIN once the last answer is out, then the socket goes (the client's FIN is not awaited).
    this.socket.destroySoon();
  }
}

/** A bare LF (not after CR) in the first `end` bytes: line endings this layer leaves to node:http. */
function hasBareLineFeed(buffer: Buffer, end: number): boolean {
  for (let i = buffer.indexOf(LF); i >= 0 && i < end; i = buffer.indexOf(LF, i + 1)) {
    if (i === 0 || buffer[i - 1] !== CR) return true;
  }
  return false;
}

/** The response side: collects status and headers, then writes head and body in one go. */
class LeanResponse implements Reply {
  statusCode = 200;
  private headers: OutgoingHttpHeaders | undefined;
  private finished = false;

  constructor(private readonly connection: LeanConnection) {}

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    if (this.finished) throw new Error('the response has already been sent');
    this.statusCode = status;
    this.headers = headers;
    return this;
  }

  end(body = ''): this {
    if (this.finished) return this;
    this.finished = true;
    const status = this.statusCode;
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let hasLength = false;
    let close = false;
    if (this.headers) {
      for (const name in this.headers) {
        const value = this.headers[name];
        if (value === undefined) continue;
        const text = String(value);
        if (/[\r\n]/.test(text)) throw new Error(`invalid character in header ${name}`);
        const lower = name.toLowerCase();
        if (lower === 'content-length') hasLength = true;
        if (lower === 'connection') {
          close = text.toLowerCase() === 'close';
          continue;
        }
        head += `${name}: ${text}\r\n`;
      }
    }
    // As node:http: a whole body sent at once gets its length; 204 and 304 carry none.
    if (!hasLength && status !== 204 && status !== 304) head += `content-length: ${Buffer.byteLength(body)}\r\n`;
    head += `Date: ${httpDate()}\r\n`;
    close ||= this.connection.closingAfterAnswer;
    head += close ? 'Connection: close\r\n\r\n' : `${this.connection.keepAliveHeader}\r\n`;
    this.connection.write(status === 204 || status === 304 ? head : head + body);
    this.connection.answered(close);
    return this;
  }
}
