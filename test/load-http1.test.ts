import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Http1Client } from '../src/load/http1';
import { mergeCookies } from '../src/load/session';

/**
 * A raw TCP server scripted per request: `reply(request, socket)` writes whatever bytes the test
 * wants, so framing (chunked, Content-Length, split writes, closing) is under the test's control.
 */
async function rawServer(reply: (request: string, socket: net.Socket) => void): Promise<{ url: URL; connections: () => number; requests: string[]; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
        const request = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        requests.push(request);
        reply(request, socket);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    connections: () => connections,
    requests,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const ok = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('Http1Client', () => {
  const servers: Array<{ close: () => Promise<void> }> = [];
  const clients: Http1Client[] = [];
  const client = (url: URL, timeoutMs = 2000, maxSockets = 8) => {
    const c = new Http1Client(url, { timeoutMs, maxSockets });
    clients.push(c);
    return c;
  };
  const server = async (reply: (request: string, socket: net.Socket) => void) => {
    const s = await rawServer(reply);
    servers.push(s);
    return s;
  };
  after(async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.close();
  });

  it('reads a Content-Length body, even split across writes, and reuses the socket', async () => {
    const s = await server((request, socket) => {
      const body = 'x'.repeat(5000);
      const bytes = ok(body);
      // Head and body in pieces, the head itself cut in the middle.
      socket.write(bytes.slice(0, 10));
      setTimeout(() => socket.write(bytes.slice(10, 3000)), 5);
      setTimeout(() => socket.write(bytes.slice(3000)), 10);
    });
    const c = client(s.url, 2000, 1);
    for (let i = 0; i < 5; i++) {
      const r = await c.request('GET', `/page${i}`);
      assert.equal(r.outcome, 'ok');
      assert.equal(r.status, 200);
    }
    assert.equal(s.connections(), 1, 'one keep-alive socket served every request');
    assert.equal(s.requests.length, 5);
    assert.match(s.requests[4], /^GET \/page4 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
  });

  it('reads chunked bodies with extensions and trailers, then reuses the socket', async () => {
    const s = await server((request, socket) => {
      const pieces = ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1; Path=/\r\n\r\n', '5;ext=1\r\nhel', 'lo\r\n', 'a\r\n0123456789\r\n0\r\nX-Trailer: t\r\n', '\r\n'];
      pieces.forEach((p, i) => setTimeout(() => socket.write(p), i * 3));
    });
    const c = client(s.url);
    const first = await c.request('GET', '/');
    const second = await c.request('POST', '/form', 'a=1');
    assert.equal(first.outcome, 'ok');
    assert.deepEqual(first.setCookies, ['a=1; Path=/']);
    assert.equal(second.outcome, 'ok');
    assert.equal(s.connections(), 1);
    assert.match(s.requests[1], /^POST \/form HTTP\/1\.1\r\n/);
    assert.match(s.requests[1], /\r\nCookie: a=1\r\n/);
    assert.match(s.requests[1], /\r\nContent-Length: 0\r\n/);
  });

  it('reads header names in any case and values with blanks around them, every Set-Cookie line kept', async () => {
    const s = await server((request, socket) =>
      socket.write('HTTP/1.1 200 OK\r\nSET-COOKIE:  a=1 \r\nx-other: 1\r\ncontent-LENGTH:\t2 \r\nSet-Cookie: b=2; Path=/\r\nCONNECTION: Keep-Alive\r\n\r\nok'),
    );
    const c = client(s.url);
    const first = await c.request('GET', '/');
    assert.equal(first.outcome, 'ok');
    assert.deepEqual(first.setCookies, ['a=1', 'b=2; Path=/']);
    // The two body bytes were read as the body, not as the start of the next response.
    assert.equal((await c.request('GET', '/')).outcome, 'ok');
    assert.equal(s.connections(), 1);
  });

  it('closes the socket after "Connection: close" in any case, and refuses a Content-Length that is not a number', async () => {
    let n = 0;
    const s = await server((request, socket) => {
      if (n++ === 0) socket.write('HTTP/1.1 200 OK\r\nconnection: CLOSE\r\nContent-Length: 0\r\n\r\n');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nok');
    });
    const c = client(s.url);
    const plain = await c.request('GET', '/');
    assert.equal(plain.outcome, 'ok');
    assert.deepEqual(plain.setCookies, []);
    const malformed = await c.request('GET', '/');
    assert.equal(malformed.outcome, 'connection');
    assert.match(malformed.error ?? '', /malformed response head/);
    assert.equal(s.connections(), 2, 'the closed socket was not reused');
  });

  it('counts a status >= 400 as an HTTP failure and keeps the socket', async () => {
    const s = await server((request, socket) => socket.write('HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy'));
    const c = client(s.url);
    const r = await c.request('GET', '/');
    assert.equal(r.outcome, 'http');
    assert.equal(r.status, 503);
    assert.equal((await c.request('GET', '/')).status, 503);
    assert.equal(s.connections(), 1);
  });

  it('opens a new socket when the server closes one after its response', async () => {
    const s = await server((request, socket) => socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'));
    const c = client(s.url);
    for (let i = 0; i < 3; i++) assert.equal((await c.request('GET', '/')).outcome, 'ok');
    assert.equal(s.connections(), 3);
  });

  it('reads a body without length until the server closes', async () => {
    const s = await server((request, socket) => socket.end('HTTP/1.0 200 OK\r\n\r\nuntil the end'));
    const r = await client(s.url).request('GET', '/');
    assert.equal(r.outcome, 'ok');
    assert.equal(r.status, 200);
  });

  it('counts a response cut off mid-body as a connection error', async () => {
    const s = await server((request, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort'));
    const r = await client(s.url).request('GET', '/');
    assert.equal(r.outcome, 'connection');
    assert.equal(r.status, 200);
    assert.ok(r.error);
  });

  it('counts a malformed response as a connection error', async () => {
    const s = await server((request, socket) => socket.write('SMTP ready\r\n\r\n'));
    const r = await client(s.url).request('GET', '/');
    assert.equal(r.outcome, 'connection');
    assert.match(r.error ?? '', /malformed/);
  });

  it('times out a request that gets no answer, and one waiting for a socket', async () => {
    const s = await server(() => {});
    const c = client(s.url, 150, 1);
    const started = performance.now();
    const both = Promise.all([c.request('GET', '/a'), c.request('GET', '/b')]);
    // While the first request holds the only socket, the cap holds the second one back. (Once the
    // first times out, the second may go out in the moment before its own deadline: its deadline
    // is a hair later, so whether it reaches the server then depends on when the sweep runs.)
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(s.requests.map((r) => r.split(' ')[1]), ['/a']);
    const [sent, waiting] = await both;
    const elapsed = performance.now() - started;
    assert.equal(sent.outcome, 'timeout');
    assert.equal(waiting.outcome, 'timeout');
    assert.ok(elapsed >= 140 && elapsed < 1000, `${elapsed} ms`);
  });

  it('counts a refused connection as a connection error with its code', async () => {
    const s = await rawServer(() => {});
    await s.close();
    const c = client(s.url);
    const results = await Promise.all([c.request('GET', '/'), c.request('GET', '/')]);
    for (const r of results) {
      assert.equal(r.outcome, 'connection');
      assert.equal(r.error, 'ECONNREFUSED');
    }
  });

  it('caps open sockets and serves the waiting requests as sockets free up', async () => {
    const s = await server((request, socket) => setTimeout(() => socket.write(ok('ok')), 20));
    const c = client(s.url, 2000, 3);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => c.request('GET', `/${i}`)));
    assert.ok(results.every((r) => r.outcome === 'ok'));
    assert.equal(s.connections(), 3);
    assert.equal(c.openSockets, 3);
  });

  it('close() aborts requests in flight and refuses new ones', async () => {
    const s = await server(() => {});
    const c = client(s.url);
    const inFlight = c.request('GET', '/');
    await new Promise((resolve) => setTimeout(resolve, 20));
    c.close();
    assert.equal((await inFlight).outcome, 'aborted');
    assert.equal((await c.request('GET', '/')).outcome, 'aborted');
    assert.equal(c.openSockets, 0);
  });

  it('refuses a request line that would corrupt the stream, and bad options', () => {
    const c = client(new URL('http://127.0.0.1:9/'));
    assert.throws(() => c.request('GET', '/a b'), /printable ASCII/);
    assert.throws(() => c.request('GET', '/', 'a=1\r\nX: y'), /cookie/);
    assert.throws(() => new Http1Client(new URL('ftp://host/'), { timeoutMs: 1, maxSockets: 1 }), /unsupported protocol/);
    assert.throws(() => new Http1Client(new URL('http://host/'), { timeoutMs: 1, maxSockets: 0 }), /maxSockets/);
  });
});

describe('Http1Client over TLS', () => {
  it('sends https: requests on a reused socket and checks the certificate', async () => {
    const fixtures = path.join(__dirname, 'fixtures');
    const cert = fs.readFileSync(path.join(fixtures, 'tls-test-cert.pem'));
    const key = fs.readFileSync(path.join(fixtures, 'tls-test-key.pem'));
    let connections = 0;
    const server = https.createServer({ cert, key }, (req, res) => res.end(`${req.method} ${req.url}`));
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(`https://127.0.0.1:${(server.address() as net.AddressInfo).port}/`);
    const trusting = new Http1Client(url, { timeoutMs: 2000, maxSockets: 4, tls: { ca: cert } });
    const untrusting = new Http1Client(url, { timeoutMs: 2000, maxSockets: 4 });
    try {
      assert.equal((await trusting.request('GET', '/a')).outcome, 'ok');
      assert.equal((await trusting.request('POST', '/b')).outcome, 'ok');
      assert.equal(connections, 1);
      const refused = await untrusting.request('GET', '/');
      assert.equal(refused.outcome, 'connection');
      assert.match(refused.error ?? '', /SELF_SIGNED|CERT/);
    } finally {
      trusting.close();
      untrusting.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('mergeCookies', () => {
  it('adds, replaces and removes cookies as Set-Cookie lines say', () => {
    let jar = mergeCookies('', ['session=abc; Path=/', 'theme=dark']);
    assert.equal(jar, 'session=abc; theme=dark');
    jar = mergeCookies(jar, ['session=xyz; HttpOnly']);
    assert.equal(jar, 'session=xyz; theme=dark');
    jar = mergeCookies(jar, ['session=; Path=/; Max-Age=0']);
    assert.equal(jar, 'theme=dark');
    assert.equal(mergeCookies(jar, ['garbage']), 'theme=dark');
  });
});
