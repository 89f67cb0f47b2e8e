// Per-route policy through a running backend: who may call (a route's `credentials` over the
// global allowUnauthenticatedRequests, with the router's own check authoritative over
// Backstage's prefix-matching auth policies), allowed methods and the body limit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { RouteInfo } from 'proxy-sigv4-native';
import {
  admittedByPolicies,
  openRouteKeys,
  requiresCredentials,
  routesAwaitingRestart,
  unauthenticatedPolicyPaths,
} from './policy';
import {
  bearer,
  errorBody,
  rawRequest,
  readText,
  routeTo,
  startProxyBackend,
  startUpstream,
  USER_TOKEN,
} from './testing/harness';
import type { TestProxyBackend, VerifyingUpstream } from './testing/harness';

describe('credentials rule', () => {
  const route = { maxRequestBodyBytes: 1, streamRequestBody: false };
  const open: RouteInfo = { ...route, key: '/o', credentials: 'dangerously-allow-unauthenticated' };
  const closed: RouteInfo = { ...route, key: '/c', credentials: 'require' };
  const plain: RouteInfo = { ...route, key: '/p' };

  it("is the route's own option when set, else the global one (also for unmatched paths)", () => {
    assert.equal(requiresCredentials(open, false), false);
    assert.equal(requiresCredentials(closed, true), true);
    assert.equal(requiresCredentials(plain, false), true);
    assert.equal(requiresCredentials(plain, true), false);
    assert.equal(requiresCredentials(null, false), true);
    assert.equal(requiresCredentials(null, true), false);
  });

  it("registers the open routes as unauthenticated policies, and '/' when the global option is true", () => {
    assert.deepEqual(unauthenticatedPolicyPaths([open, closed, plain], false), ['/o']);
    assert.deepEqual(unauthenticatedPolicyPaths([open, closed, plain], true), ['/', '/o', '/p']);
    assert.deepEqual(openRouteKeys([closed], true), []);
  });
});

/** GET without credentials (or with `headers`); the answer and what the upstream got. */
async function get(backend: TestProxyBackend, path: string, headers: Record<string, string> = {}) {
  return rawRequest(backend.port, `/api/proxy-sigv4${path}`, { headers });
}

describe('auth policies after a config change', () => {
  const route = { maxRequestBodyBytes: 1, streamRequestBody: false };
  const open = (key: string): RouteInfo => ({ ...route, key, credentials: 'dangerously-allow-unauthenticated' });

  it('admits a route through a policy for it, for a parent segment, or for /', () => {
    assert.equal(admittedByPolicies('/a', ['/a']), true);
    assert.equal(admittedByPolicies('/a/b', ['/a']), true);
    assert.equal(admittedByPolicies('/ab', ['/a']), false);
    assert.equal(admittedByPolicies('/A/b', ['/a']), true); // Backstage's matching ignores case
    assert.equal(admittedByPolicies('/b', ['/a']), false);
    assert.equal(admittedByPolicies('/b', ['/', '/a']), true);
  });

  it('lists the routes (and unmatched paths) a change opens that the startup policies do not', () => {
    assert.deepEqual(routesAwaitingRestart([open('/a'), open('/a/b'), open('/c')], false, ['/a']), ['/c']);
    assert.deepEqual(routesAwaitingRestart([open('/a')], true, ['/a']), ['paths that match no route']);
    assert.deepEqual(routesAwaitingRestart([open('/a'), { ...route, key: '/p' }], true, ['/']), []);
  });
});

describe('per-route credentials under allowUnauthenticatedRequests: true', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    backend = await startProxyBackend({
      proxysigv4: {
        allowUnauthenticatedRequests: true,
        '/anyone': routeTo(upstream, '/anyone'),
        '/anyone/inner': { ...routeTo(upstream, '/inner'), credentials: 'require' },
        '/closed': { ...routeTo(upstream, '/closed'), credentials: 'require' },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  it('a route with credentials: require answers 401 without credentials, 200 with them', async () => {
    upstream.reset();
    const denied = await get(backend, '/closed/x');
    assert.equal(denied.status, 401);
    const body = JSON.parse(denied.body) as { error: { name: string }; response: { statusCode: number } };
    assert.equal(body.error.name, 'AuthenticationError');
    assert.equal(body.response.statusCode, 401);
    assert.equal(upstream.requests.length, 0);

    const allowed = await get(backend, '/closed/x', bearer(USER_TOKEN));
    assert.equal(allowed.status, 200);
    assert.deepEqual(upstream.requests.map((r) => r.url), ['/closed/x']);
  });

  it('a route without its own option serves callers without credentials', async () => {
    upstream.reset();
    const res = await get(backend, '/anyone/x?q=1');
    assert.equal(res.status, 200);
    assert.deepEqual(upstream.requests.map((r) => [r.url, r.signature.valid]), [['/anyone/x?q=1', true]]);
  });

  it('a closed route below an open one stays closed (the auth policy is a prefix match)', async () => {
    upstream.reset();
    const res = await get(backend, '/anyone/inner/x');
    assert.equal(res.status, 401);
    assert.equal(upstream.requests.length, 0);
    // The open route's own paths that merely start like it are not the inner route.
    const sibling = await get(backend, '/anyone/innerx');
    assert.equal(sibling.status, 200);
    assert.deepEqual(upstream.requests.map((r) => r.url), ['/anyone/innerx']);
  });

  it('an unmatched path answers 404 to anyone (the global option decides)', async () => {
    const res = await get(backend, '/nope/x');
    assert.equal(res.status, 404);
    assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
  });
});

describe('per-route credentials without allowUnauthenticatedRequests', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    backend = await startProxyBackend({
      proxysigv4: {
        '/open': { ...routeTo(upstream, '/open'), credentials: 'dangerously-allow-unauthenticated' },
        '/demo': routeTo(upstream),
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  it('a route with credentials: dangerously-allow-unauthenticated serves callers without credentials', async () => {
    upstream.reset();
    const res = await get(backend, '/open/x');
    assert.equal(res.status, 200);
    assert.deepEqual(upstream.requests.map((r) => [r.url, r.signature.valid]), [['/open/x', true]]);
  });

  it("never forwards a caller's token on an open route either", async () => {
    upstream.reset();
    const res = await get(backend, '/open/x', bearer(USER_TOKEN));
    assert.equal(res.status, 200);
    assert.ok(!upstream.requests[0].rawHeaders.join('\n').includes(USER_TOKEN));
  });

  it('other routes still require credentials', async () => {
    upstream.reset();
    assert.equal((await get(backend, '/demo/x')).status, 401);
    assert.equal(upstream.requests.length, 0);
  });

  for (const path of ['/openx', '/openx/y', '/OPEN/x', '/open%2f..%2fdemo/x', '/open..']) {
    it(`'/open' being open does not open ${path}: 401, not 404`, async () => {
      upstream.reset();
      const res = await get(backend, path);
      assert.equal(res.status, 401, res.body);
      assert.equal(upstream.requests.length, 0);
      const authenticated = await get(backend, path, bearer(USER_TOKEN));
      assert.equal(authenticated.status, 404, 'with credentials the path is simply unknown');
    });
  }

  it('an unmatched path answers 401 before 404, so route names cannot be probed', async () => {
    const anonymous = await get(backend, '/secret-route-name/x');
    assert.equal(anonymous.status, 401);
    assert.ok(!anonymous.body.includes('ROUTE_NOT_FOUND'));
    const authenticated = await get(backend, '/secret-route-name/x', bearer(USER_TOKEN));
    assert.equal(authenticated.status, 404);
  });
});

describe('allowedMethods', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    backend = await startProxyBackend({
      proxysigv4: {
        '/ro': { ...routeTo(upstream), allowedMethods: ['GET', 'HEAD'] },
        '/default': routeTo(upstream, '/default'),
        '/dav': { ...routeTo(upstream, '/dav'), allowedMethods: ['GET', 'PROPFIND', 'TRACE'] },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  for (const method of ['DELETE', 'POST', 'OPTIONS']) {
    it(`answers ${method} with 405, an Allow header and the error JSON; nothing upstream`, async () => {
      upstream.reset();
      const res = await fetch(`${backend.baseUrl}/ro/x`, {
        method,
        headers: { ...bearer(USER_TOKEN), 'content-type': 'text/plain' },
        ...(method === 'POST' && { body: 'not to be sent' }),
      });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      const body = await errorBody(res);
      assert.equal(body.error.code, 'METHOD_NOT_ALLOWED');
      assert.equal(body.error.name, 'MethodNotAllowedError');
      assert.deepEqual(body.request, { method, url: '/ro/x' });
      assert.deepEqual(body.response, { statusCode: 405 });
      assert.equal(upstream.requests.length, 0);
    });
  }

  // TRACE makes an upstream echo the request it got: signed, with the session token and the
  // route's static headers. Only the common methods pass unless a route lists others.
  for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'LOCK']) {
    it(`answers ${method} on a route without allowedMethods with 405; nothing upstream`, async () => {
      upstream.reset();
      const res = await rawRequest(backend.port, '/api/proxy-sigv4/default/x', { method, headers: bearer(USER_TOKEN) });
      assert.equal(res.status, 405, res.body);
      assert.equal(res.headers.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
      assert.equal(JSON.parse(res.body).error.code, 'METHOD_NOT_ALLOWED');
      assert.equal(upstream.requests.length, 0);
    });
  }

  it('forwards the default methods, and TRACE or extension methods a route lists', async () => {
    upstream.reset();
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const res = await rawRequest(backend.port, '/api/proxy-sigv4/default/x', { method, headers: bearer(USER_TOKEN) });
      assert.equal(res.status, 200, `${method}: ${res.body}`);
    }
    for (const method of ['PROPFIND', 'TRACE']) {
      const res = await rawRequest(backend.port, '/api/proxy-sigv4/dav/x', { method, headers: bearer(USER_TOKEN) });
      assert.equal(res.status, 200, `${method}: ${res.body}`);
    }
    assert.deepEqual(
      upstream.requests.map((r) => [r.method, r.signature.valid]),
      ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'TRACE'].map((m) => [m, true]),
    );
  });

  it('forwards the allowed methods', async () => {
    upstream.reset();
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${backend.baseUrl}/ro/x`, { method, headers: bearer(USER_TOKEN) });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    assert.deepEqual(upstream.requests.map((r) => r.method), ['GET', 'HEAD']);
  });
});

describe('maxRequestBodyBytes', { timeout: 60_000 }, () => {
  const LIMIT = 1024;
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    backend = await startProxyBackend({
      proxysigv4: {
        '/small': { ...routeTo(upstream, '/small'), maxRequestBodyBytes: LIMIT },
        '/demo': routeTo(upstream),
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  /** POSTs `parts` (chunked when no `contentLength`), writing only after the head when told. */
  function post(path: string, parts: Buffer[], contentLength?: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${backend.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          ...bearer(USER_TOKEN),
          'content-type': 'application/octet-stream',
          ...(contentLength !== undefined && { 'content-length': contentLength }),
        },
      });
      req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
      req.once('error', reject);
      req.once('response', (res) => readText(res).then(resolve, reject));
      for (const part of parts) req.write(part);
      if (contentLength === undefined || parts.length > 0) req.end();
      else req.flushHeaders(); // the head only: the answer must come from content-length alone
    });
  }

  it('answers 413 from content-length alone, before any body byte arrives', async () => {
    upstream.reset();
    const res = await post('/small/x', [], LIMIT + 1);
    assert.equal(res.status, 413);
    const body = JSON.parse(res.body) as { error: { name: string; code: string }; response: { statusCode: number } };
    assert.equal(body.error.name, 'PayloadTooLargeError');
    assert.equal(body.error.code, 'PAYLOAD_TOO_LARGE');
    assert.match(JSON.stringify(body.error), new RegExp(`${LIMIT} bytes`));
    assert.deepEqual(body.response, { statusCode: 413 });
    assert.equal(upstream.requests.length, 0);
  });

  it('answers 413 for a chunked body that grows over the limit while read', async () => {
    upstream.reset();
    const res = await post('/small/x', [Buffer.alloc(600, 1), Buffer.alloc(600, 2)]);
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(upstream.requests.length, 0);
  });

  it('forwards a body of exactly the limit byte for byte', async () => {
    upstream.reset();
    const payload = crypto.randomBytes(LIMIT);
    const res = await post('/small/x', [payload], LIMIT);
    assert.equal(res.status, 200);
    assert.equal(upstream.requests.length, 1);
    assert.ok(upstream.requests[0].body.equals(payload));
    assert.equal(upstream.requests[0].signature.valid, true, upstream.requests[0].signature.reason);
  });

  it('is per route: another route takes a larger body', async () => {
    upstream.reset();
    const payload = crypto.randomBytes(4 * LIMIT);
    const res = await post('/demo/x', [payload], payload.length);
    assert.equal(res.status, 200);
    assert.ok(upstream.requests[0].body.equals(payload));
  });
});
