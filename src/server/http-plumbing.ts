/** HTTP plumbing: reading a bounded JSON body, answering JSON, bearer tokens, loopback addresses. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { HttpError } from './errors';
import { isBuffered, type HttpRequest, type Reply } from './exchange';

export const DEFAULT_BODY_LIMIT = 16 * 1024;
const JSON_TYPE = /^application\/json\b/i;

/** Reads and parses a JSON body of at most `limit` bytes (an empty body is `undefined`). */
export function readJsonBody(req: HttpRequest, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && type !== 'application/json' && !JSON_TYPE.test(type)) {
    return Promise.reject(new HttpError(415, 'unsupported_media_type', `content-type must be application/json, got ${JSON.stringify(type)}`, 'content-type'));
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new HttpError(413, 'body_too_large', `request body of ${declared} bytes exceeds the limit of ${limit}`, 'body'));
  if (isBuffered(req)) {
    const body = req.bufferedBody;
    if (body.length === 0) return Promise.resolve(undefined);
    try {
      return Promise.resolve(parseJson(body));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new HttpError(413, 'body_too_large', `request body exceeds the limit of ${limit} bytes`, 'body'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (!failed) reject(new HttpError(400, 'bad_body', `could not read the request body: ${err.message}`, 'body'));
      failed = true;
    });
    req.on('end', () => {
      if (failed) return;
      if (size === 0) return resolve(undefined);
      try {
        // A small body arrives in one chunk: parse it without copying.
        resolve(parseJson(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(err as Error).message}`, 'body');
  }
}

export function sendJson(res: Reply, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const head: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (headers) Object.assign(head, headers);
  res.writeHead(status, head);
  res.end(text);
}

export function sendError(res: Reply, err: HttpError, headers: Record<string, string> = {}): void {
  // A body that was refused unread would otherwise have to be drained before the connection is reused.
  if (err.status === 413) headers = { ...headers, connection: 'close' };
  sendJson(res, err.status, err.toJSON(), headers);
}

/** Compares a request's bearer token with the expected one in constant time. */
export class BearerAuth {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = createHash('sha256').update(token).digest();
  }

  check(header: string | undefined): void {
    const match = /^Bearer (.+)$/.exec(header ?? '');
    // Hashing both sides gives equal lengths, so timingSafeEqual never leaks the token's length.
    const given = createHash('sha256').update(match ? match[1] : '').digest();
    if (!match || !timingSafeEqual(given, this.digest)) {
      throw new HttpError(401, 'unauthorized', match ? 'the bearer token is wrong' : 'this server requires an Authorization: Bearer <token> header', 'authorization');
    }
  }
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const kind = isIP(host);
  if (kind === 4) return host.startsWith('127.');
  if (kind === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}
