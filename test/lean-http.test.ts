/**
 * The lean HTTP layer against real sockets: raw bytes written with net.connect, split at awkward
 * places, pipelined, cut off; every answer compared with node:http's for the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PolicyClient } from '../src/server/client';
import { readExperienceLog } from '../src/server/experience-log';
import { sendJson } from '../src/server/http-plumbing';
import { LeanHttp } from '../src/server/lean-http';
import { EXPERIENCE_FILE, PolicyServer, type HttpLayer } from '../src/server/server';

const OBS = { replicas: 3, cpuMillis: 500, heapMB: 400, usedCpu: 0.3, usedRam: 0.5 };
const TOKEN = 'a-token-of-sixteen-chars';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lean-http-test-'));
}

async function withServer(http: HttpLayer, options: Partial<Parameters<typeof PolicyServer.start>[0]>, body: (server: PolicyServer, dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const server = await PolicyServer.start({ stateDir: dir, port: 0, log: () => {}, learnerThread: false, seed: 7, http, ...options });
  try {
    await body(server, dir);
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function request(method: string, target: string, body?: unknown, headers: Record<string, string> = {}): string {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1'];
  if (body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(text)}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${text}`;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits a byte stream of HTTP/1.1 responses (Content-Length framed) into answers. */
function parseAnswers(bytes: Buffer): { answers: Answer[]; rest: number } {
  const answers: Answer[] = [];
  let at = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine, ...lines] = bytes.toString('latin1', at, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    const length = status === 304 ? 0 : Number(headers['content-length'] ?? 0);
    if (bytes.length < end + 4 + length) break;
    answers.push({ status, headers, body: bytes.toString('utf8', end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return { answers, rest: bytes.length - at };
}

interface Exchange {
  answers: Answer[];
  /** The server closed the connection (FIN or reset) before `expect` answers were in, or after. */
  closed: boolean;
}

/**
 * Writes `pieces` to one connection (a pause between them, so each arrives as its own TCP chunk),
 * then waits for `expect` answers or the server's close. `halfClose` sends FIN after the last piece.
 */
async function exchange(port: number, pieces: (string | Buffer)[], expect: number, options: { halfClose?: boolean; pauseMs?: number; destroyAfter?: boolean; readLate?: boolean } = {}): Promise<Exchange> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  socket.setNoDelay(true);
  let received = Buffer.alloc(0);
  let closed = false;
  const settled = new Promise<void>((resolve) => {
    const check = () => {
      if (closed || parseAnswers(received).answers.length >= expect) resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      check();
    });
    socket.on('end', () => {
      closed = true;
      check();
    });
    socket.on('close', () => {
      closed = true;
      check();
    });
    socket.on('error', () => {
      closed = true;
      check();
    });
  });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  if (options.readLate) socket.pause();
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((r) => setTimeout(r, options.pauseMs ?? 5));
  }
  if (options.readLate) socket.resume();
  if (options.destroyAfter) {
    socket.destroy();
    return { answers: parseAnswers(received).answers, closed: true };
  }
  if (options.halfClose) socket.end();
  await settled;
  // A close right after the last answer is part of the exchange too.
  if (!closed) await new Promise((r) => setTimeout(r, 30));
  socket.destroy();
  return { answers: parseAnswers(received).answers, closed };
}

/** Starts an episode; with `act`, also asks for its first action (so that rewards can follow). */
async function startEpisode(port: number, act = false, headers: Record<string, string> = {}): Promise<string> {
  const { answers } = await exchange(port, [request('POST', '/v1/episodes', { training_enabled: true }, headers)], 1);
  assert.equal(answers[0].status, 201, answers[0].body);
  const id = JSON.parse(answers[0].body).episode_id;
  if (act) {
    const action = await exchange(port, [request('POST', `/v1/episodes/${id}/action`, { observation: OBS }, headers)], 1);
    assert.equal(action.answers[0].status, 200, action.answers[0].body);
  }
  return id;
}

/** Splits `text` at each of `cuts` (byte offsets). */
function splitAt(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  return pieces.filter((p) => p.length > 0);
}

test('lean layer: an episode over one keep-alive connection, answered without node:http, logged like any other', async () => {
  await withServer('lean', {}, async (server, dir) => {
    const id = await startEpisode(server.port);
    const steps = 5;
    const pieces: string[] = [];
    for (let i = 0; i < steps; i++) pieces.push(request('POST', `/v1/episodes/${id}/action`, { observation: OBS }), request('POST', `/v1/episodes/${id}/returns`, { reward: i }));
    pieces.push(request('POST', `/v1/episodes/${id}/end`, { observation: OBS }));
    const { answers, closed } = await exchange(server.port, pieces, pieces.length);
    assert.equal(closed, false, 'a keep-alive connection stays open');
    assert.equal(answers.length, pieces.length);
    for (let i = 0; i < steps; i++) {
      const action = JSON.parse(answers[2 * i].body).action;
      assert.ok(Number.isInteger(action) && action >= 0 && action < 7, answers[2 * i].body);
      assert.deepEqual(JSON.parse(answers[2 * i + 1].body), { ok: true });
      assert.equal(answers[2 * i].headers.connection, 'keep-alive');
      assert.equal(answers[2 * i].headers['content-type'], 'application/json');
      assert.ok(answers[2 * i].headers.date, 'a Date header, as node:http sends');
    }
    assert.deepEqual(JSON.parse(answers.at(-1)!.body), { episode_id: id, steps, total_reward: 10 });
    assert.equal(server.lean?.handedOver, 0, 'no connection went to node:http');
    const { events } = readExperienceLog(path.join(dir, EXPERIENCE_FILE));
    assert.deepEqual(events.map((e) => e.type), ['start', ...Array.from({ length: steps }, () => ['step', 'reward']).flat(), 'end']);
    const metrics = (await exchange(server.port, [request('GET', '/metrics')], 1)).answers[0].body;
    assert.match(metrics, new RegExp(`policy_server_requests_total\\{route="POST /v1/episodes/:id/action",status="200"\\} ${steps}$`, 'm'));
  });
});

test('lean layer: the project client (fetch) stays on the lean path, token included', async () => {
  await withServer('lean', { token: TOKEN }, async (server) => {
    const client = new PolicyClient(server.url, { token: TOKEN });
    await client.handshake();
    const id = await client.startEpisode({ trainingEnabled: true });
    for (let i = 0; i < 3; i++) {
      await client.getAction(id, OBS);
      await client.logReturns(id, 1);
    }
    assert.deepEqual(await client.endEpisode(id, OBS), { episode_id: id, steps: 3, total_reward: 3 });
    assert.equal(server.lean?.handedOver, 0, 'no request of the client needed node:http');
  });
});

test('lean layer: pipelined requests in one write are answered in order', async () => {
  await withServer('lean', {}, async (server) => {
    const id = await startEpisode(server.port);
    const pieces = [
      request('POST', `/v1/episodes/${id}/action`, { observation: OBS }) +
        request('POST', `/v1/episodes/${id}/returns`, { reward: 1 }) +
        request('POST', `/v1/episodes/${id}/returns`, { reward: 2 }) +
        request('GET', '/healthz') +
        request('POST', `/v1/episodes/${id}/end`, { observation: OBS }),
    ];
    const { answers } = await exchange(server.port, pieces, 5);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
    assert.equal(JSON.parse(answers[3].body).status, 'ok');
    assert.deepEqual(JSON.parse(answers[4].body), { episode_id: id, steps: 1, total_reward: 3 });
  });
});

test('lean layer: thousands of pipelined requests from a client that reads late are all answered, in order', async () => {
  await withServer('lean', {}, async (server) => {
    const count = 3000;
    const requests = Array.from({ length: count }, (_, i) => request('GET', i % 2 ? '/healthz' : '/v1/spaces'));
    // Several writes, each holding many requests; the answers (about 1 MB) wait in the socket meanwhile.
    const pieces: string[] = [];
    for (let i = 0; i < count; i += 500) pieces.push(requests.slice(i, i + 500).join(''));
    const { answers } = await exchange(server.port, pieces, count, { pauseMs: 20, readLate: true });
    assert.equal(answers.length, count);
    for (let i = 0; i < count; i++) assert.equal('status' in JSON.parse(answers[i].body), i % 2 === 1, `answer ${i}`);
  });
});

test('lean layer: a request split across TCP chunks at awkward places gets the same answer', async () => {
  await withServer('lean', {}, async (server) => {
    const id = await startEpisode(server.port, true);
    const text = request('POST', `/v1/episodes/${id}/returns`, { reward: 0.5 });
    const headEnd = text.indexOf('\r\n\r\n');
    const cutsList = [
      [1], // inside the method
      [text.indexOf('\r\n') + 1], // between CR and LF of the request line
      [headEnd + 1, headEnd + 3], // inside the blank line
      [headEnd + 4], // right after the head, before the body
      [headEnd + 6], // inside the body
      Array.from({ length: text.length - 1 }, (_, i) => i + 1).filter((i) => i % 7 === 0), // every 7 bytes
    ];
    for (const cuts of cutsList) {
      const { answers } = await exchange(server.port, splitAt(text, cuts), 1, { pauseMs: 3 });
      assert.equal(answers.length, 1, `cuts ${cuts}`);
      assert.equal(answers[0].status, 200, `cuts ${cuts}: ${answers[0].body}`);
    }
    // The split requests each counted once: the episode's total is their rewards' sum.
    const end = await exchange(server.port, [request('POST', `/v1/episodes/${id}/end`, { observation: OBS })], 1);
    assert.equal(JSON.parse(end.answers[0].body).total_reward, 0.5 * cutsList.length);
  });
});

test('lean layer: Connection: close is answered with Connection: close, then the server closes', async () => {
  await withServer('lean', {}, async (server) => {
    const { answers, closed } = await exchange(server.port, [request('GET', '/healthz', undefined, { Connection: 'close' }) + request('GET', '/healthz')], 2);
    assert.equal(answers.length, 1, 'nothing after a request that asked to close');
    assert.equal(answers[0].headers.connection, 'close');
    assert.equal(closed, true);
  });
});

test('lean layer: a client that half-closes after its request still gets the answer, then the connection ends', async () => {
  await withServer('lean', {}, async (server) => {
    const id = await startEpisode(server.port);
    const { answers, closed } = await exchange(server.port, [request('POST', `/v1/episodes/${id}/action`, { observation: OBS })], 2, { halfClose: true });
    assert.equal(answers.length, 1);
    assert.equal(answers[0].status, 200);
    assert.equal(closed, true);
    // A request cut short by FIN is refused as node:http refuses it.
    const cut = await exchange(server.port, [request('POST', `/v1/episodes/${id}/returns`, { reward: 1 }).slice(0, -3)], 1, { halfClose: true });
    assert.equal(cut.answers[0]?.status, 400);
    assert.equal(cut.closed, true);
  });
});

test('lean layer: a connection lost mid-body records nothing and leaves the server serving', async () => {
  await withServer('lean', {}, async (server, dir) => {
    const id = await startEpisode(server.port);
    const text = request('POST', `/v1/episodes/${id}/action`, { observation: OBS });
    await exchange(server.port, [text.slice(0, text.length - 10)], 0, { destroyAfter: true });
    // The episode is not held by the lost request: the next action goes through.
    const { answers } = await exchange(server.port, [text], 1);
    assert.equal(answers[0].status, 200, answers[0].body);
    const { events } = readExperienceLog(path.join(dir, EXPERIENCE_FILE));
    assert.deepEqual(events.map((e) => e.type), ['start', 'step']);
  });
});

test('lean layer: requests it does not serve go to node:http with the bytes already read, on the same connection', async () => {
  await withServer('lean', {}, async (server) => {
    const id = await startEpisode(server.port, true);
    const chunkedBody = JSON.stringify({ reward: 2 });
    const chunked =
      `POST /v1/episodes/${id}/returns HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `${chunkedBody.length.toString(16)}\r\n${chunkedBody}\r\n0\r\n\r\n`;
    // A lean request, then in the same write one with a chunked body: both answered, in order.
    const { answers } = await exchange(server.port, [request('POST', `/v1/episodes/${id}/returns`, { reward: 1 }) + chunked, request('GET', '/healthz')], 3);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    assert.equal(server.lean?.handedOver, 1);
    // Split inside the unserved request's head: the first piece is put back for node:http.
    const split = await exchange(server.port, splitAt(chunked, [20, chunked.indexOf('chunked') + 3]), 1);
    assert.equal(split.answers[0]?.status, 200);
    const end = await exchange(server.port, [request('POST', `/v1/episodes/${id}/end`, { observation: OBS })], 1);
    assert.equal(JSON.parse(end.answers[0].body).total_reward, 5);
  });
});

/** Raw requests whose answers must not depend on the HTTP layer (status, body, closing). */
function differentialCases(id: string, token?: string): { name: string; pieces: string[]; expect: number }[] {
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const big = JSON.stringify({ reward: 1, info: { pad: 'x'.repeat(20_000) } });
  return [
    { name: 'invalid JSON', pieces: [request('POST', `/v1/episodes/${id}/returns`, '{"reward": ', auth)], expect: 1 },
    { name: 'wrong content type', pieces: [request('POST', `/v1/episodes/${id}/returns`, undefined, { 'Content-Type': 'text/plain', 'Content-Length': '2', ...auth }).replace(/\r\n\r\n$/, '\r\n\r\n{}')], expect: 1 },
    { name: 'missing field', pieces: [request('POST', `/v1/episodes/${id}/action`, {}, auth)], expect: 1 },
    { name: 'unknown episode', pieces: [request('POST', '/v1/episodes/00000000-0000-4000-8000-000000000000/action', { observation: OBS }, auth)], expect: 1 },
    { name: 'unknown path', pieces: [request('POST', '/v1/nothing', {}, auth)], expect: 1 },
    { name: 'wrong method', pieces: [request('GET', `/v1/episodes/${id}/action`, undefined, auth)], expect: 1 },
    { name: 'body over the limit', pieces: [request('POST', `/v1/episodes/${id}/returns`, big, auth)], expect: 2 },
    { name: 'no token', pieces: [request('POST', `/v1/episodes/${id}/returns`, { reward: 1 })], expect: 1 },
    { name: 'wrong token', pieces: [request('POST', `/v1/episodes/${id}/returns`, { reward: 1 }, { Authorization: 'Bearer not-the-right-token' })], expect: 1 },
    { name: 'HTTP/1.0', pieces: [request('GET', '/healthz', undefined, auth).replace('HTTP/1.1', 'HTTP/1.0')], expect: 1 },
    { name: 'no Host', pieces: [request('GET', '/healthz', undefined, auth).replace('Host: 127.0.0.1\r\n', '')], expect: 1 },
    { name: 'malformed header', pieces: [request('GET', '/healthz', undefined, { ...auth, 'Bad Header': 'x' })], expect: 1 },
    { name: 'bad content length', pieces: [request('GET', '/healthz', undefined, { ...auth, 'Content-Length': '1x' })], expect: 1 },
    { name: 'garbage', pieces: ['\x01\x02 hello\r\n\r\n'], expect: 1 },
    // A 304 has no body: the answer after it must still parse.
    { name: 'weights not modified', pieces: [request('GET', '/v1/weights', undefined, { ...auth, 'If-None-Match': '"v0"' }) + request('GET', '/healthz', undefined, auth)], expect: 2 },
    { name: 'Expect: 100-continue', pieces: [request('POST', `/v1/episodes/${id}/returns`, { reward: 1 }, { ...auth, Expect: '100-continue' })], expect: 2 },
  ];
}

/** What must agree between the layers: status, body (error messages included) and whether the server closed. */
function summary(e: Exchange): string {
  return JSON.stringify({ answers: e.answers.map((a) => ({ status: a.status, body: a.body, connection: a.headers.connection, auth: a.headers['www-authenticate'] })), closed: e.closed });
}

for (const token of [undefined, TOKEN]) {
  test(`lean and node layers answer malformed, refused and unserved requests alike${token ? ' (with a token)' : ''}`, async () => {
    const results: Record<HttpLayer, string[]> = { lean: [], node: [] };
    let names: string[] = [];
    for (const layer of ['lean', 'node'] as const) {
      await withServer(layer, { token }, async (server) => {
        // A started episode to address (its id differs between servers: the answers name it).
        const id = await startEpisode(server.port, true, token ? { Authorization: `Bearer ${token}` } : {});
        const cases = differentialCases(id, token);
        names = cases.map((c) => c.name);
        for (const c of cases) results[layer].push(summary(await exchange(server.port, c.pieces, c.expect)).split(id).join('<id>'));
      });
    }
    for (let i = 0; i < names.length; i++) assert.equal(results.lean[i], results.node[i], names[i]);
    // The cases do reach the errors they are named after.
    const statuses = results.lean.map((r) => JSON.parse(r).answers[0]?.status);
    assert.match(results.lean[names.indexOf('weights not modified')], /"status":304.*"status":200/);
    assert.deepEqual(statuses.slice(0, 9), token ? [400, 415, 400, 404, 404, 405, 413, 401, 401] : [400, 415, 400, 404, 404, 405, 413, 200, 200]);
  });
}

test('serve --http picks the layer, refuses an unknown one by name, and /v1/status says which one runs', async () => {
  const bin = path.join(__dirname, '..', 'bin', 'rl-autoscaler.js');
  const dir = tempDir();
  const refused = spawnSync(process.execPath, [bin, 'serve', '--port', '0', '--state-dir', dir, '--http', 'fast'], { encoding: 'utf8', timeout: 60_000 });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /--http must be lean or node, got "fast"/);
  for (const layer of ['lean', 'node'] as const) {
    await withServer(layer, {}, async (server) => {
      const { answers } = await exchange(server.port, [request('GET', '/v1/status')], 1);
      assert.equal(JSON.parse(answers[0].body).http, layer);
      assert.equal(server.lean === null, layer === 'node');
    });
  }
});

test('lean layer: an idle keep-alive connection closes after the keep-alive timeout; a request trickling in gets 408', async () => {
  const server = http.createServer((_req, res) => sendJson(res, 200, { layer: 'node' }));
  server.keepAliveTimeout = 300;
  server.headersTimeout = 600;
  const lean = new LeanHttp(server, { serves: () => true, handle: (_req, res) => sendJson(res, 200, { layer: 'lean' }), maxBodyBytes: 1024 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    // Answered, then closed by the server once idle for the keep-alive timeout.
    const started = performance.now();
    const idle = await exchange(port, [request('GET', '/x')], 2);
    assert.deepEqual(idle.answers.map((a) => JSON.parse(a.body).layer), ['lean']);
    assert.equal(idle.closed, true);
    assert.ok(performance.now() - started >= 250, `closed after ${performance.now() - started} ms`);
    // One byte every 100 ms keeps the idle timer from firing, but not past the request timeout.
    const text = request('GET', '/x');
    const trickle = await exchange(port, splitAt(text, Array.from({ length: 12 }, (_, i) => i + 1)), 1, { pauseMs: 100 });
    assert.equal(trickle.answers[0]?.status, 408);
    assert.equal(trickle.closed, true);
    assert.equal(lean.handedOver, 0);
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
});
