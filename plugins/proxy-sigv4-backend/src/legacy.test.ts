// Legacy backends: createRouter() mounted in a plain express app, as
// `apiRouter.use('/proxy-sigv4', await createRouter({ logger, config, httpAuth }))`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { createRouter } from './index';
import { USER_TOKEN, bearer, errorBody, routeTo, startUpstream } from './testing/harness';
import type { VerifyingUpstream } from './testing/harness';

interface LogLine {
  level: string;
  message: string;
  meta?: unknown;
}

/** A LoggerService that keeps every line, to check what the router logs. */
function capturingLogger(lines: LogLine[]): LoggerService {
  const make = (): LoggerService => ({
    error: (message, meta) => void lines.push({ level: 'error', message, meta }),
    warn: (message, meta) => void lines.push({ level: 'warn', message, meta }),
    info: (message, meta) => void lines.push({ level: 'info', message, meta }),
    debug: (message, meta) => void lines.push({ level: 'debug', message, meta }),
    child: () => make(),
  });
  return make();
}

/** A plain express app with the router at /api/proxy-sigv4, on 127.0.0.1 and a free port. */
async function serve(router: express.Router): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const app = express();
  app.use('/api/proxy-sigv4', router);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/proxy-sigv4`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('createRouter in a legacy (plain express) app', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  const config = (extra: JsonObject = {}) =>
    new ConfigReader({ proxysigv4: { ...extra, '/demo': routeTo(upstream) } });

  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream?.close();
  });

  it('refuses to start without httpAuth unless allowUnauthenticatedRequests is true', async () => {
    await assert.rejects(createRouter({ logger: capturingLogger([]), config: config() }), /needs `httpAuth`/);
    await assert.rejects(
      createRouter({ logger: capturingLogger([]), config: config({ allowUnauthenticatedRequests: false }) }),
      /needs `httpAuth`/,
    );
  });

  it('refuses to start without httpAuth when a route sets credentials: require, naming it', async () => {
    const closed = new ConfigReader({
      proxysigv4: {
        allowUnauthenticatedRequests: true,
        '/demo': routeTo(upstream),
        '/closed': { ...routeTo(upstream), credentials: 'require' },
      },
    });
    await assert.rejects(createRouter({ logger: capturingLogger([]), config: closed }), /needs `httpAuth`: route\(s\) \/closed /);
  });

  it('with httpAuth: 401 without credentials, 200 with a user token, token not forwarded', async () => {
    const lines: LogLine[] = [];
    const router = await createRouter({
      logger: capturingLogger(lines),
      config: config(),
      httpAuth: mockServices.httpAuth({ defaultCredentials: mockCredentials.none() }),
    });
    const app = await serve(router);
    try {
      upstream.reset();
      const denied = await fetch(`${app.baseUrl}/demo/hello`);
      assert.equal(denied.status, 401);
      const body = await errorBody(denied);
      assert.equal(body.error.name, 'AuthenticationError');
      assert.deepEqual(body.request, { method: 'GET', url: '/demo/hello' });
      assert.equal(upstream.requests.length, 0);

      const res = await fetch(`${app.baseUrl}/demo/hello?x=1`, { headers: bearer(USER_TOKEN) });
      assert.equal(res.status, 200);
      const echo = (await res.json()) as { url: string; signatureValid: boolean };
      assert.equal(echo.url, '/base/hello?x=1');
      assert.equal(echo.signatureValid, true);
      assert.equal(upstream.requests.length, 1);
      assert.ok(!upstream.requests[0].rawHeaders.join('\n').includes(USER_TOKEN));

      // One route-independent debug line per request: method, status, duration; nothing else.
      // The line is written when the response closes, which may come after the client read it.
      const requestLinesOf = () => lines.filter((l) => l.level === 'debug' && l.message.startsWith('proxy-sigv4 '));
      for (let i = 0; i < 100 && requestLinesOf().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      const requestLines = requestLinesOf();
      assert.equal(requestLines.length, 2, JSON.stringify(requestLines));
      assert.match(requestLines[0].message, /^proxy-sigv4 GET 401 \d+\.\dms$/);
      assert.match(requestLines[1].message, /^proxy-sigv4 GET 200 \d+\.\dms$/);
      const logged = JSON.stringify(lines);
      for (const secret of [USER_TOKEN, 'hello', 'x=1']) assert.ok(!logged.includes(secret), `logged '${secret}'`);
    } finally {
      await app.close();
    }
  });

  it('allowUnauthenticatedRequests: true works without httpAuth', async () => {
    const router = await createRouter({
      logger: capturingLogger([]),
      config: config({ allowUnauthenticatedRequests: true }),
    });
    const app = await serve(router);
    try {
      upstream.reset();
      const res = await fetch(`${app.baseUrl}/demo/open`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(upstream.requests[0].signature.valid, true, upstream.requests[0].signature.reason);
    } finally {
      await app.close();
    }
  });

  it('fails on a bad route with an error naming the route and key', async () => {
    await assert.rejects(
      createRouter({
        logger: capturingLogger([]),
        config: new ConfigReader({ proxysigv4: { '/x': 'not a url' } }),
        httpAuth: mockServices.httpAuth(),
      }),
      (error: Error) => {
        assert.equal(error.name, 'ProxySigV4ConfigError');
        assert.match(error.message, /proxysigv4\.\/x\.target/);
        return true;
      },
    );
  });
});
