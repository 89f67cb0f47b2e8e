// Hot reload: a change of `proxysigv4` takes effect on the running backend without a restart.
// Routes come and go at once; a request under way finishes on the routes it started with; an
// invalid change is logged and changes nothing. Auth policies are fixed at startup, so a change
// never opens a route the startup config did not open (it keeps requiring credentials until a
// restart), while closing or removing a route takes effect at once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { JsonObject } from '@backstage/types';
import { USER_TOKEN, bearer, errorBody, logText, routeTo, startProxyBackend, startUpstream, waitFor } from './testing/harness';
import type { LogLine, ReloadableProxyBackend, VerifyingUpstream } from './testing/harness';

const OPEN = 'dangerously-allow-unauthenticated';

describe('config reload on a running backend', { timeout: 60_000 }, () => {
  const logs: LogLine[] = [];
  let upstream: VerifyingUpstream;
  let backend: ReloadableProxyBackend;
  let routes: JsonObject;

  /** Applies `next` as the whole `proxysigv4`, as a config file change would. */
  function change(next: JsonObject): void {
    routes = next;
    backend.updateConfig({ proxysigv4: next });
  }

  /** The status of a GET through the proxy, as a user or anonymously; the body is read. */
  async function statusOf(path: string, asUser: boolean): Promise<number> {
    const res = await fetch(`${backend.baseUrl}${path}`, { headers: asUser ? bearer(USER_TOKEN) : {} });
    await res.arrayBuffer();
    return res.status;
  }

  const logged = (level: LogLine['level'], pattern: RegExp) =>
    logs.some((line) => line.level === level && pattern.test(line.message));

  before(async () => {
    upstream = await startUpstream();
    routes = {
      '/a': routeTo(upstream, '/a'),
      '/open': { ...routeTo(upstream, '/open'), credentials: OPEN },
    };
    backend = await startProxyBackend({ proxysigv4: routes }, { logs });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  it('serves a route added by a change at once, signed', async () => {
    assert.equal(await statusOf('/b/x', true), 404);
    upstream.reset();
    change({ ...routes, '/b': routeTo(upstream, '/b') });
    assert.equal(await statusOf('/b/x', true), 200);
    assert.deepEqual(
      upstream.requests.map((r) => [r.url, r.signature.valid]),
      [['/b/x', true]],
    );
    assert.ok(logged('info', /config changed; now serving routes (.+, )?\/b(,|$)/), logText(logs));
  });

  it('answers a removed route 404 to users and 401 to anonymous callers, sending nothing', async () => {
    const { '/a': _removed, ...rest } = routes;
    change(rest);
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/a/x`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 404);
    assert.equal((await errorBody(res)).error.code, 'ROUTE_NOT_FOUND');
    assert.equal(await statusOf('/a/x', false), 401);
    assert.equal(upstream.requests.length, 0);
  });

  it('closes a route at once, although its startup auth policy stays registered', async () => {
    assert.equal(await statusOf('/open/x', false), 200);
    change({ ...routes, '/open': { ...routeTo(upstream, '/open'), credentials: 'require' } });
    upstream.reset();
    assert.equal(await statusOf('/open/x', false), 401);
    assert.equal(upstream.requests.length, 0);
    assert.equal(await statusOf('/open/x', true), 200);
  });

  it('keeps a route the change opens closed to anonymous callers until a restart, and says so', async () => {
    change({
      ...routes,
      '/open': { ...routeTo(upstream, '/open'), credentials: OPEN }, // opened at startup: open again
      '/b': { ...routeTo(upstream, '/b'), credentials: OPEN }, // not opened at startup
    });
    upstream.reset();
    assert.equal(await statusOf('/open/x', false), 200);
    assert.equal(await statusOf('/b/x', false), 401);
    assert.equal(await statusOf('/b/x', true), 200);
    assert.deepEqual(
      upstream.requests.map((r) => r.url),
      ['/open/x', '/b/x'],
    );
    assert.ok(logged('warn', /still requiring Backstage credentials until the backend restarts.*: \/b$/), logText(logs));
  });

  it('logs an invalid change, naming the route and key, and keeps the routes in force', async () => {
    const before = { ...routes };
    change({ ...routes, '/b': 'not a url', '/c': routeTo(upstream, '/c') });
    assert.ok(
      logged('error', /config change not applied, the previous routes stay in force: .*proxysigv4\.\/b\.target/),
      logText(logs),
    );
    assert.equal(await statusOf('/b/x', true), 200);
    assert.equal(await statusOf('/c/x', true), 404);
    // The next valid change applies.
    change({ ...before, '/c': routeTo(upstream, '/c') });
    assert.equal(await statusOf('/c/x', true), 200);
  });

  it('lets a request under way finish on the routes it started with', async () => {
    const chunks: string[] = [];
    const done = new Promise<number>((resolve, reject) => {
      const req = http.get(`${backend.baseUrl}/c/__chunks?count=4&delayMs=150`, { headers: bearer(USER_TOKEN) });
      req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
      req.once('error', reject);
      req.once('response', (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          chunks.push(chunk);
          if (chunks.length === 1) {
            const { '/c': _removed, ...rest } = routes;
            change(rest); // mid-response
          }
        });
        res.once('error', reject);
        res.once('end', () => resolve(res.statusCode ?? 0));
      });
    });
    assert.equal(await done, 200);
    assert.equal(chunks.join(''), 'chunk-0\nchunk-1\nchunk-2\nchunk-3\n');
    assert.equal(await statusOf('/c/x', true), 404);
  });

  it('forwards a request on the route it was admitted by, though a change nests another route under it mid-body', async () => {
    change({ ...routes, '/n': routeTo(upstream, '/n') });
    upstream.reset();
    const initiated = () =>
      logs.some((line) => line.fields.isAuditEvent === true && JSON.stringify(line.meta ?? {}).includes('/n/deep/x'));
    const done = new Promise<number>((resolve, reject) => {
      const req = http.request(`${backend.baseUrl}/n/deep/x`, {
        method: 'POST',
        headers: { ...bearer(USER_TOKEN), 'content-type': 'text/plain', 'content-length': 10 },
      });
      req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
      req.once('error', reject);
      req.once('response', (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      });
      req.write('first');
      // Once the route is decided (the audit event opens after it), `/n/deep` becomes a route.
      waitFor('the request to be admitted', initiated).then(() => {
        change({ ...routes, '/n/deep': { ...routeTo(upstream, '/deep'), credentials: 'require' } });
        req.end('-part');
      }, reject);
    });
    assert.equal(await done, 200);
    assert.deepEqual(
      upstream.requests.map((r) => [r.url, r.body.toString(), r.signature.valid]),
      [['/n/deep/x', 'first-part', true]],
    );
    assert.equal(await statusOf('/n/deep/x', true), 200);
    assert.equal(upstream.requests[1].url, '/deep/x');
  });
});
