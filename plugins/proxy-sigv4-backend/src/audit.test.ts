// Audit: one `proxy-request` event per authenticated request, through Backstage's own auditor
// (which logs via the plugin's logger): initiated, then succeeded or failed, with meta
// { route, method, path, status, durationMs } and never headers, the query or bodies in meta.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '@backstage/types';
import { SERVICE_TOKEN, USER_TOKEN, bearer, routeTo, startProxyBackend, startUpstream, waitFor } from './testing/harness';
import type { LogLine, TestProxyBackend, VerifyingUpstream } from './testing/harness';

interface AuditEvent {
  eventId: string;
  status: 'initiated' | 'succeeded' | 'failed';
  actor: { actorId?: string; ip?: string; userAgent?: string };
  request: { url: string; method: string };
  meta: { route: string | null; method: string; path: string; status?: number | null; durationMs?: number; code?: string };
  error?: Error;
}

/** The auditor's events among the log lines (a failed one carries its error as the line's meta). */
function auditEvents(logs: readonly LogLine[]): AuditEvent[] {
  return logs
    .filter((line) => line.fields.isAuditEvent === true)
    .map((line) =>
      line.meta instanceof Error
        ? ({ ...line.fields, error: line.meta } as unknown as AuditEvent)
        : ({ ...line.fields, ...(line.meta as JsonObject) } as unknown as AuditEvent),
    );
}

const BODY = 'body-bytes-never-audited';

describe('audit events', { timeout: 60_000 }, () => {
  const logs: LogLine[] = [];
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    backend = await startProxyBackend(
      {
        proxysigv4: {
          '/demo': routeTo(upstream),
          '/ro': { ...routeTo(upstream), allowedMethods: ['GET'] },
          '/small': { ...routeTo(upstream), maxRequestBodyBytes: 8 },
          '/open': { ...routeTo(upstream), credentials: 'dangerously-allow-unauthenticated' },
        },
      },
      { logs },
    );
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  const requests: Array<{ path: string; init: RequestInit; status: number }> = [
    { path: '/demo/items?q=query-never-in-meta', init: { headers: bearer(USER_TOKEN) }, status: 200 },
    { path: '/demo/upload', init: { method: 'POST', headers: { ...bearer(SERVICE_TOKEN), 'content-type': 'text/plain' }, body: BODY }, status: 200 },
    { path: '/nope/x', init: { headers: bearer(USER_TOKEN) }, status: 404 },
    { path: '/ro/x', init: { method: 'DELETE', headers: bearer(USER_TOKEN) }, status: 405 },
    { path: '/small/x', init: { method: 'POST', headers: { ...bearer(USER_TOKEN), 'content-type': 'text/plain' }, body: BODY }, status: 413 },
    { path: '/open/x', init: {}, status: 200 },
    { path: '/demo/denied', init: {}, status: 401 },
  ];

  before(async () => {
    for (const { path, init, status } of requests) {
      const res = await fetch(`${backend.baseUrl}${path}`, init);
      assert.equal(res.status, status, path);
      await res.arrayBuffer();
    }
    // Six authenticated requests: an initiated and a final event each. Final events are written
    // once the response has closed, which may be just after the client read it.
    await waitFor('12 audit events', () => auditEvents(logs).length >= 12);
  });

  /** The events of the request to `path` (query excluded), in order. */
  const eventsFor = (path: string) => auditEvents(logs).filter((e) => e.meta.path === path);

  it('records one event (initiated, then succeeded or failed) per authenticated request, none for a 401', () => {
    const events = auditEvents(logs);
    assert.equal(events.length, 12, JSON.stringify(events.map((e) => [e.status, e.meta.path])));
    for (const path of ['/demo/items', '/demo/upload', '/nope/x', '/ro/x', '/small/x', '/open/x']) {
      assert.deepEqual(eventsFor(path).map((e) => e.status), ['initiated', path.startsWith('/demo/') || path === '/open/x' ? 'succeeded' : 'failed'], path);
    }
    assert.deepEqual(eventsFor('/demo/denied'), []);
    for (const event of events) {
      assert.equal(event.eventId, 'proxy-request');
    }
  });

  it('has meta { route, method, path, status, durationMs }, and the code of a proxy error', () => {
    const [initiated, done] = eventsFor('/demo/items');
    assert.deepEqual(initiated.meta, { route: '/demo', method: 'GET', path: '/demo/items' });
    const { durationMs, ...rest } = done.meta;
    assert.deepEqual(rest, { route: '/demo', method: 'GET', path: '/demo/items', status: 200 });
    assert.equal(typeof durationMs, 'number');
    assert.ok(durationMs! >= 0);

    const expected: Array<[string, string | null, string, number, string]> = [
      ['/nope/x', null, 'GET', 404, 'ROUTE_NOT_FOUND'],
      ['/ro/x', '/ro', 'DELETE', 405, 'METHOD_NOT_ALLOWED'],
      ['/small/x', '/small', 'POST', 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [path, route, method, status, code] of expected) {
      const failed = eventsFor(path)[1];
      assert.equal(failed.meta.route, route, path);
      assert.equal(failed.meta.method, method, path);
      assert.equal(failed.meta.status, status, path);
      assert.equal(failed.meta.code, code, path);
      assert.ok(failed.error instanceof Error, `${path}: a failed event carries the error`);
    }
  });

  it("gets the principal from Backstage's auditor: user entity ref, service subject, none", () => {
    assert.equal(eventsFor('/demo/items')[1].actor.actorId, 'user:default/mock');
    assert.equal(eventsFor('/demo/upload')[1].actor.actorId, 'external:test-service');
    assert.equal(eventsFor('/open/x')[1].actor.actorId, undefined);
    // The auditor also records the request URL as received: with the mount point and the query.
    assert.deepEqual(eventsFor('/demo/items')[1].request, {
      method: 'GET',
      url: '/api/proxy-sigv4/demo/items?q=query-never-in-meta',
    });
  });

  it('never puts headers, the query or bodies into meta', () => {
    const metas = JSON.stringify(auditEvents(logs).map((e) => e.meta));
    for (const secret of ['query-never-in-meta', BODY, USER_TOKEN, SERVICE_TOKEN, 'text/plain']) {
      assert.ok(!metas.includes(secret), `audit meta holds '${secret}'`);
    }
    const everything = JSON.stringify(auditEvents(logs));
    for (const secret of [BODY, USER_TOKEN, SERVICE_TOKEN]) {
      assert.ok(!everything.includes(secret), `an audit event holds '${secret}'`);
    }
  });

  it('keeps the one debug line per request that reaches the router', () => {
    // The 401 is answered by Backstage's credentials barrier, in front of the router.
    const lines = logs.filter((l) => l.level === 'debug' && /^proxy-sigv4 [A-Z]+ \d{3} /.test(l.message));
    assert.deepEqual(
      lines.map((l) => l.message.split(' ').slice(1, 3).join(' ')),
      requests.filter((r) => r.status !== 401).map((r) => `${r.init.method ?? 'GET'} ${r.status}`),
    );
  });
});

describe('auditEvents: which requests get an event', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream?.close();
  });

  /** Sends each method to its own path through a backend with `auditEvents: mode`; the events' paths and statuses. */
  async function eventsUnder(mode: string | undefined, methods: readonly string[]) {
    const logs: LogLine[] = [];
    const backend = await startProxyBackend(
      { proxysigv4: { ...(mode && { auditEvents: mode }), '/demo': routeTo(upstream) } },
      { logs },
    );
    try {
      for (const method of methods) {
        const res = await fetch(`${backend.baseUrl}/demo/${method.toLowerCase()}`, { method, headers: bearer(USER_TOKEN) });
        assert.equal(res.status, 200, method);
        await res.arrayBuffer();
      }
      // Every request's debug line is written when its response closes, after its final event.
      await waitFor('a debug line per request', () => logs.filter((l) => /^proxy-sigv4 [A-Z]+ 200 /.test(l.message)).length >= methods.length);
      return auditEvents(logs).map((e) => `${e.meta.path} ${e.status}`);
    } finally {
      await backend.stop();
    }
  }

  const methods = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const both = (path: string) => [`${path} initiated`, `${path} succeeded`];

  it('all (the default): every request', async () => {
    assert.deepEqual(await eventsUnder(undefined, methods), methods.flatMap((m) => both(`/demo/${m.toLowerCase()}`)));
    assert.deepEqual(await eventsUnder('all', ['GET']), both('/demo/get'));
  });

  it('mutations: every method but GET, HEAD and OPTIONS', async () => {
    assert.deepEqual(
      await eventsUnder('mutations', methods),
      ['POST', 'PUT', 'PATCH', 'DELETE'].flatMap((m) => both(`/demo/${m.toLowerCase()}`)),
    );
  });

  it('none: no request', async () => {
    assert.deepEqual(await eventsUnder('none', methods), []);
  });
});
