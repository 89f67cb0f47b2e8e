// Failures, one at a time, through one running backend: an upstream that refuses connections,
// has no DNS name, speaks no TLS, never answers, closes before answering or dies mid-body, and a
// client that goes away. Each answers the documented status with Backstage's error JSON (or
// cuts the response), leaves a log line, and the same backend then serves a good request.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  USER_TOKEN,
  bearer,
  errorBody,
  freePort,
  routeTo,
  startProxyBackend,
  startUpstream,
  waitFor,
} from './testing/harness';
import type { LogLine, TestProxyBackend, VerifyingUpstream } from './testing/harness';

/** A loopback server for a failure mode; `close()` also ends the connections it holds. */
interface FaultyServer {
  port: number;
  /** Requests (or connections, for the raw TCP ones) received so far. */
  received(): number;
  /** Connections closed (by the other side or ours) after a request arrived. */
  closedAfterRequest(): number;
  close(): Promise<void>;
}

/** A raw TCP server that hands each connection to `onData` once the client has sent something. */
async function startTcpServer(onData: (socket: net.Socket) => void): Promise<FaultyServer> {
  return startFaulty(net.createServer((socket) => socket.once('data', () => onData(socket))));
}

/** Takes HTTP requests and never answers them. */
async function startSilentServer(): Promise<FaultyServer> {
  return startFaulty(http.createServer(() => undefined));
}

/** A plain HTTP server: an `https://` target pointing here fails its TLS handshake. */
async function startPlainServer(): Promise<FaultyServer> {
  return startFaulty(http.createServer((_req, res) => res.end('plain http')));
}

async function startFaulty(server: net.Server): Promise<FaultyServer> {
  const sockets = new Set<net.Socket>();
  let received = 0;
  let closedAfterRequest = 0;
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    let active = false;
    socket.once('data', () => {
      active = true;
      received++;
    });
    socket.once('close', () => {
      sockets.delete(socket);
      if (active) closedAfterRequest++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => received,
    closedAfterRequest: () => closedAfterRequest,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const SIGNING = { service: 'execute-api', region: 'us-east-1' };

describe('failures', { timeout: 120_000 }, () => {
  const logs: LogLine[] = [];
  let upstream: VerifyingUpstream;
  let dying: VerifyingUpstream;
  let silent: FaultyServer;
  let hanging: FaultyServer;
  let plain: FaultyServer;
  let resetting: FaultyServer;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    dying = await startUpstream();
    silent = await startSilentServer();
    hanging = await startSilentServer(); // its own, so the timeout test's connection never counts here
    plain = await startPlainServer();
    resetting = await startTcpServer((socket) => socket.resetAndDestroy());
    const closedPort = await freePort();
    backend = await startProxyBackend(
      {
        proxysigv4: {
          '/demo': routeTo(upstream),
          '/refused': { ...SIGNING, target: `http://127.0.0.1:${closedPort}/base` },
          '/dns': { ...SIGNING, target: 'http://proxy-sigv4-test.invalid/base' },
          '/tls': { ...SIGNING, target: `https://127.0.0.1:${plain.port}/base` },
          '/silent': { ...SIGNING, target: `http://127.0.0.1:${silent.port}/base`, timeout: '500ms' },
          '/hang': { ...SIGNING, target: `http://127.0.0.1:${hanging.port}/hang` },
          '/reset': { ...SIGNING, target: `http://127.0.0.1:${resetting.port}/base` },
          '/dying': routeTo(dying),
        },
      },
      { logs },
    );
  });
  after(async () => {
    await backend?.stop();
    await Promise.all([upstream, dying, silent, hanging, plain, resetting].map((server) => server?.close()));
  });

  /** The same backend still proxies a good request, signed. */
  async function servesAGoodRequest(): Promise<void> {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/demo/after-failure`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.deepEqual(upstream.requests.map((r) => [r.url, r.signature.valid]), [['/base/after-failure', true]]);
  }

  /**
   * Waits (bounded) for a log line matching `level`, `pattern` and `meta`, written after `since`
   * (the line of the previous test's last request may still arrive after that).
   */
  async function logged(
    level: LogLine['level'],
    pattern: RegExp,
    since: number,
    meta: (meta: Record<string, unknown>) => boolean = () => true,
  ): Promise<LogLine> {
    const find = () =>
      logs
        .slice(since)
        .find((l) => l.level === level && pattern.test(l.message) && meta((l.meta ?? {}) as Record<string, unknown>));
    await waitFor(`a ${level} line matching ${pattern}`, () => find() !== undefined);
    return find()!;
  }

  /** GETs `path`; asserts the status, Backstage's error JSON, the log lines and recovery. */
  async function expectProxyError(path: string, status: number, code: string, message: RegExp): Promise<void> {
    const since = logs.length;
    const res = await fetch(`${backend.baseUrl}${path}`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, status);
    const body = await errorBody(res);
    assert.deepEqual(Object.keys(body).sort(), ['error', 'request', 'response']);
    assert.equal(body.error.name, status === 502 ? 'BadGatewayError' : 'GatewayTimeoutError');
    assert.equal(body.error.code, code);
    assert.match(body.error.message, message);
    assert.equal(body.error.stack, undefined);
    assert.deepEqual(body.request, { method: 'GET', url: path });
    assert.deepEqual(body.response, { statusCode: status });
    await logged('warn', new RegExp(`^proxy-sigv4: ${code}: `), since);
    await logged('debug', new RegExp(`^proxy-sigv4 GET ${status} `), since);
    await servesAGoodRequest();
  }

  it('upstream refuses the connection: 502 UPSTREAM_UNREACHABLE', async () => {
    await expectProxyError('/refused/x', 502, 'UPSTREAM_UNREACHABLE', /refused the connection/);
  });

  it('upstream host has no DNS name (.invalid): 502 UPSTREAM_UNREACHABLE', async () => {
    await expectProxyError('/dns/x', 502, 'UPSTREAM_UNREACHABLE', /DNS lookup of upstream proxy-sigv4-test\.invalid failed/);
  });

  it('upstream speaks plain HTTP to an https target (TLS fails): 502 UPSTREAM_UNREACHABLE', async () => {
    await expectProxyError('/tls/x', 502, 'UPSTREAM_UNREACHABLE', /TLS handshake with upstream 127\.0\.0\.1 failed/);
  });

  it('upstream closes the connection before responding: 502 UPSTREAM_UNREACHABLE', async () => {
    await expectProxyError('/reset/x', 502, 'UPSTREAM_UNREACHABLE', /closed the connection before responding/);
    assert.ok(resetting.received() >= 1, 'the request reached the resetting server');
  });

  it("no response headers within the route's timeout (500ms): 504 UPSTREAM_TIMEOUT", async () => {
    const started = Date.now();
    await expectProxyError('/silent/x', 504, 'UPSTREAM_TIMEOUT', /sent no response within 0\.5 s/);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 450, `answered after ${elapsed} ms, before the timeout`);
    assert.ok(elapsed < 20_000, `answered after ${elapsed} ms: not the route's 500ms timeout`);
  });

  it('upstream dies mid-body (chunked): the response is cut, never ended cleanly', async () => {
    // Without content-length only a destroyed connection tells the client the body is incomplete.
    const since = logs.length;
    const outcome = await new Promise<{ status: number; text: string; ended: boolean }>((resolve, reject) => {
      const req = http.get(`${backend.baseUrl}/dying/__chunks?count=100&delayMs=50`, { headers: bearer(USER_TOKEN) });
      let status = 0;
      let text = '';
      let settled = false;
      const settle = (ended: boolean) => {
        if (settled) return;
        settled = true;
        resolve({ status, text, ended });
      };
      req.once('error', () => settle(false));
      req.once('response', (res) => {
        status = res.statusCode ?? 0;
        assert.equal(res.headers['content-length'], undefined);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const first = text === '';
          text += chunk;
          if (first) void dying.close();
        });
        res.once('end', () => settle(true));
        res.once('error', () => settle(false));
        res.once('close', () => settle(res.complete));
      });
      setTimeout(() => reject(new Error('the cut response neither ended nor failed within 15 s')), 15_000).unref();
    });
    assert.equal(outcome.status, 200, 'the head had been sent');
    assert.ok(outcome.text.startsWith('chunk-0\n'));
    assert.ok(!outcome.text.includes('chunk-99'), 'the whole body arrived although the upstream died');
    assert.equal(outcome.ended, false, 'a truncated chunked body was ended cleanly');
    // The line of a cut response says so.
    await logged('debug', /^proxy-sigv4 GET 200 /, since, (meta) => meta.aborted === true);
    await servesAGoodRequest();
  });

  it('client goes away before the response head: the upstream connection is dropped at once', async () => {
    const since = logs.length;
    const before = hanging.received();
    const closedBefore = hanging.closedAfterRequest();
    const req = http.get(`${backend.baseUrl}/hang/x`, { headers: bearer(USER_TOKEN) });
    req.once('error', () => undefined); // the destroy below
    await waitFor('the silent upstream gets the request', () => hanging.received() > before);
    req.destroy();
    // The route's timeout is 30 s: only the cancellation can end the exchange this early.
    await waitFor('the proxy drops its upstream connection', () => hanging.closedAfterRequest() > closedBefore, 10_000);
    await logged('debug', /^proxy-sigv4 GET /, since, (meta) => meta.aborted === true);
    await servesAGoodRequest();
  });

  it('client goes away mid-body: the upstream sees its client (the proxy) go away', async () => {
    const since = logs.length;
    upstream.reset();
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${backend.baseUrl}/demo/__chunks?count=100&delayMs=100`, { headers: bearer(USER_TOKEN) });
      req.once('error', () => undefined); // the destroy below
      req.once('response', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
        res.once('error', () => undefined);
      });
      setTimeout(() => reject(new Error('no first chunk within 5 s')), 5_000).unref();
    });
    await waitFor('the upstream sees the proxy go away', () => upstream.requests[0]?.aborted === true);
    await logged('debug', /^proxy-sigv4 GET 200 /, since, (meta) => meta.aborted === true);
    await servesAGoodRequest();
  });
});
