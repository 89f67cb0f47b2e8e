// Secrets never leak: with AWS credentials that carry a session token and a route with a static
// secret header, every log line (debug level, audit events included) and every response (body
// and headers) of a varied set of requests (success, 400, 401, 404, 405, 413, 502, 504) is free
// of the AWS secret key, the session token, the Backstage tokens and the static header value.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SECRET_ACCESS_KEY,
  SERVICE_TOKEN,
  USER_TOKEN,
  bearer,
  freePort,
  logText,
  routeTo,
  startProxyBackend,
  startUpstream,
  waitFor,
} from './testing/harness';
import type { LogLine, TestProxyBackend, VerifyingUpstream } from './testing/harness';

const SESSION_TOKEN = 'session-token-for-the-secrets-test-IQoJb3JpZ2luX2VjEJr';
const STATIC_SECRET = 'static-header-secret-value-8c1f';
const INVALID_TOKEN = 'mock-invalid-user-token';

// The addon reads the default chain on the first proxied request, i.e. after this.
process.env.AWS_SESSION_TOKEN = SESSION_TOKEN;

interface Exchange {
  what: string;
  status: number;
  headers: string;
  body: string;
}

describe('secrets in logs and responses', { timeout: 60_000 }, () => {
  const logs: LogLine[] = [];
  const exchanges: Exchange[] = [];
  let upstream: VerifyingUpstream;
  let silent: http.Server;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    silent = http.createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const signing = { service: 'execute-api', region: 'us-east-1' };
    backend = await startProxyBackend(
      {
        proxysigv4: {
          '/aws': {
            ...routeTo(upstream),
            headers: { 'x-api-key': STATIC_SECRET },
            allowedMethods: ['GET', 'POST'],
            maxRequestBodyBytes: 64,
          },
          '/open': { ...routeTo(upstream, '/open'), credentials: 'dangerously-allow-unauthenticated' },
          '/down': { ...signing, target: `http://127.0.0.1:${await freePort()}/base` },
          '/silent': { ...signing, target: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, timeout: '300ms' },
        },
      },
      { logs },
    );

    const requests: Array<[what: string, path: string, init: RequestInit, status: number]> = [
      ['success (user)', '/aws/ok?x=1', { headers: bearer(USER_TOKEN) }, 200],
      ['success with a body (service)', '/aws/post', { method: 'POST', headers: { ...bearer(SERVICE_TOKEN), 'content-type': 'text/plain' }, body: 'small' }, 200],
      ['client guesses the secret headers', '/aws/guess', { headers: { ...bearer(USER_TOKEN), 'x-api-key': 'guess', 'x-amz-security-token': 'guess' } }, 200],
      ['upstream 500 passed through', '/aws/__status/500', { headers: bearer(USER_TOKEN) }, 500],
      ['open route without a token', '/open/x', {}, 200],
      ['400 bad path', '/aws/..%2fx', { headers: bearer(USER_TOKEN) }, 400],
      ['401 no token', '/aws/x', {}, 401],
      ['401 invalid token', '/aws/x', { headers: bearer(INVALID_TOKEN) }, 401],
      ['404 no route', '/nope/x', { headers: bearer(USER_TOKEN) }, 404],
      ['405 method', '/aws/x', { method: 'DELETE', headers: bearer(USER_TOKEN) }, 405],
      ['413 body', '/aws/x', { method: 'POST', headers: { ...bearer(USER_TOKEN), 'content-type': 'text/plain' }, body: 'x'.repeat(100) }, 413],
      ['502 refused', '/down/x', { headers: bearer(USER_TOKEN) }, 502],
      ['504 timeout', '/silent/x', { headers: bearer(USER_TOKEN) }, 504],
    ];
    for (const [what, path, init, status] of requests) {
      const res = await fetch(`${backend.baseUrl}${path}`, init);
      assert.equal(res.status, status, what);
      exchanges.push({ what, status: res.status, headers: JSON.stringify([...res.headers]), body: await res.text() });
    }
    // The per-request log line and the final audit event are written when each response has
    // closed; the two 401s are answered in front of the router.
    const routed = requests.length - 2;
    await waitFor('every request is logged', () => logs.filter((l) => /^proxy-sigv4 [A-Z]+ \d{3} /.test(l.message)).length >= routed);
    await waitFor('every audit event is closed', () =>
      logs.filter((l) => l.fields.isAuditEvent === true && l.fields.status !== 'initiated' && (l.meta as { status?: string })?.status !== 'initiated').length >= routed,
    );
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    silent?.closeAllConnections();
    await new Promise<void>((resolve) => silent?.close(() => resolve()));
  });

  it('used the secrets: the session token and the static header reached the upstream, signed', () => {
    const record = upstream.requests.find((r) => r.url === '/base/ok?x=1');
    assert.ok(record);
    assert.equal(record.headers['x-amz-security-token'], SESSION_TOKEN);
    assert.equal(record.headers['x-api-key'], STATIC_SECRET);
    assert.equal(record.signature.valid, true, record.signature.reason);
    const guessed = upstream.requests.find((r) => r.url === '/base/guess');
    assert.equal(guessed?.headers['x-api-key'], STATIC_SECRET);
    assert.equal(guessed?.headers['x-amz-security-token'], SESSION_TOKEN);
  });

  const secrets: Array<[string, string]> = [
    ['the AWS secret access key', SECRET_ACCESS_KEY],
    ['the AWS session token', SESSION_TOKEN],
    ['the Backstage user token', USER_TOKEN],
    ['the Backstage service token', SERVICE_TOKEN],
    ['an invalid Backstage token', INVALID_TOKEN],
    ['the static header value', STATIC_SECRET],
  ];

  it('captured a varied set of answers and every kind of log line', () => {
    assert.deepEqual(
      [...new Set(exchanges.map((e) => e.status))].sort(),
      [200, 400, 401, 404, 405, 413, 500, 502, 504],
    );
    const levels = new Set(logs.map((l) => l.level));
    for (const level of ['debug', 'info', 'warn'] as const) assert.ok(levels.has(level), `no ${level} lines captured`);
    assert.ok(logs.some((l) => l.fields.isAuditEvent === true), 'no audit events captured');
  });

  for (const [what, secret] of secrets) {
    it(`no log line holds ${what}`, () => {
      const text = logText(logs);
      assert.ok(!text.includes(secret), `a log line holds ${what}`);
    });

    it(`no response holds ${what}`, () => {
      for (const exchange of exchanges) {
        assert.ok(!exchange.body.includes(secret), `the ${exchange.what} body holds ${what}`);
        assert.ok(!exchange.headers.includes(secret), `the ${exchange.what} headers hold ${what}`);
      }
    });
  }
});
