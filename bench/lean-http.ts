/**
 * The HTTP layer alone: server CPU per request of the lean layer (src/server/lean-http.ts) against
 * node:http, with the same handler (read the JSON body with readJsonBody, answer `{"action":1}`
 * with sendJson) and no policy work, so that the difference is the layers' own.
 *
 * The server runs in this process; 64 raw keep-alive clients (as bench:server's) run closed loop
 * in a child process, each POSTing an action request as soon as its last one is answered. Layers
 * alternate, BENCH_ROUNDS (default 3) rounds of BENCH_SECONDS (default 3) each, after 1 s of
 * warm-up per round. Server CPU is this process's (user + system), which holds nothing but the server.
 * Last line: `RESULT lean-http lean_us_per_request=A node_us_per_request=B lean_per_s=C node_per_s=D`
 * (medians over the rounds).
 */
import { fork } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as os from 'node:os';
import { readJsonBody, sendJson } from '../src/server/http-plumbing';
import type { HttpRequest, Reply } from '../src/server/exchange';
import { LeanHttp } from '../src/server/lean-http';

const CLIENTS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 1;
const BODY = JSON.stringify({ observation: { replicas: 3, cpuMillis: 500, heapMB: 400, usedCpu: 0.31, usedRam: 0.52 } });
const REQUEST = `POST /v1/episodes/0b1c4f0e-8a53-4a4b-9d4e-2f1d8c6b7a90/action HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`;
const ANSWER = JSON.stringify({ action: 1 });

/** The client process: 64 connections, closed loop, until told to stop; reports answers counted. */
function runClients(port: number): void {
  let answered = 0;
  let stopping = false;
  const sockets: net.Socket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    sockets.push(socket);
    let buffer = Buffer.alloc(0);
    socket.on('connect', () => socket.write(REQUEST));
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(buffer.toString('latin1', 0, end))?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.subarray(end + 4 + length);
        answered++;
        if (!stopping) socket.write(REQUEST);
      }
    });
    socket.on('error', (err) => {
      console.error(`client ${i}: ${err.message}`);
      process.exit(1);
    });
  }
  process.on('message', (message: string) => {
    if (message === 'count') process.send!(answered);
    if (message === 'stop') {
      stopping = true;
      for (const s of sockets) s.end();
      setTimeout(() => process.exit(0), 200);
    }
  });
}

/** The handler both layers run. */
async function handle(req: HttpRequest, res: Reply): Promise<void> {
  try {
    await readJsonBody(req, 16 * 1024);
    sendJson(res, 200, ANSWER);
  } catch (err) {
    sendJson(res, 400, { error: (err as Error).message });
  }
}

interface Round {
  usPerRequest: number;
  perSecond: number;
}

async function round(layer: 'lean' | 'node'): Promise<Round> {
  const server = http.createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 30_000;
  if (layer === 'lean') new LeanHttp(server, { serves: () => true, handle: (req, res) => void handle(req, res), maxBodyBytes: 16 * 1024 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const child = fork(__filename, ['clients', String(port)], { execArgv: process.execArgv });
  const count = () =>
    new Promise<number>((resolve) => {
      child.once('message', (n) => resolve(n as number));
      child.send('count');
    });
  await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
  const before = await count();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const cpu = process.cpuUsage(cpuBefore);
  const after = await count();
  const seconds = (performance.now() - started) / 1000;
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  const requests = after - before;
  return { usPerRequest: (cpu.user + cpu.system) / requests, perSecond: requests / seconds };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  console.log(`${CLIENTS} raw keep-alive clients, closed loop, ${SECONDS} s per round, ${ROUNDS} rounds per layer, alternating; load average ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  const results: Record<'lean' | 'node', Round[]> = { lean: [], node: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const layer of ['lean', 'node'] as const) {
      const r = await round(layer);
      results[layer].push(r);
      console.log(`${layer}: ${r.perSecond.toFixed(0)} requests/s, server CPU ${r.usPerRequest.toFixed(1)} us/request (load average ${os.loadavg()[0].toFixed(2)})`);
    }
  }
  const us = (layer: 'lean' | 'node') => median(results[layer].map((r) => r.usPerRequest));
  const rate = (layer: 'lean' | 'node') => median(results[layer].map((r) => r.perSecond));
  console.log(
    `RESULT lean-http lean_us_per_request=${us('lean').toFixed(1)} node_us_per_request=${us('node').toFixed(1)} lean_per_s=${rate('lean').toFixed(0)} node_per_s=${rate('node').toFixed(0)}`,
  );
}

if (process.argv[2] === 'clients') runClients(Number(process.argv[3]));
else
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
