// Errors: the proxy's own answers use Backstage's error body, the same shape as Backstage's
// error middleware gives (compared with the 401 the framework itself answers). Upstream
// failures (502, 504) are in failures.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { USER_TOKEN, bearer, errorBody, routeTo, startProxyBackend, startUpstream } from './testing/harness';
import type { TestProxyBackend, VerifyingUpstream } from './testing/harness';

describe('error answers', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    backend = await startProxyBackend({ proxysigv4: { '/demo': routeTo(upstream) } });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  it('answers 400 InputError for a path that climbs out of the target', async () => {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/demo/..%2f..%2fetc`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 400);
    const body = await errorBody(res);
    assert.deepEqual(Object.keys(body).sort(), ['error', 'request', 'response']);
    assert.equal(body.error.name, 'InputError');
    assert.equal(body.error.code, 'BAD_PATH');
    assert.equal(typeof body.error.message, 'string');
    assert.ok(body.error.message.length > 0);
    assert.equal(body.error.stack, undefined);
    assert.deepEqual(body.request, { method: 'GET', url: '/demo/..%2f..%2fetc' });
    assert.deepEqual(body.response, { statusCode: 400 });
    assert.equal(upstream.requests.length, 0);
  });

  it('answers 404 NotFoundError when no route matches', async () => {
    const res = await fetch(`${backend.baseUrl}/nope/x?q=1`, { method: 'DELETE', headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 404);
    const body = await errorBody(res);
    assert.equal(body.error.name, 'NotFoundError');
    assert.equal(body.error.code, 'ROUTE_NOT_FOUND');
    assert.deepEqual(body.request, { method: 'DELETE', url: '/nope/x?q=1' });
    assert.deepEqual(body.response, { statusCode: 404 });
  });

  it("has the same shape as the framework's own error answer (the 401 of Backstage's middleware)", async () => {
    const framework = await errorBody(await fetch(`${backend.baseUrl}/demo/x`));
    const ours = await errorBody(await fetch(`${backend.baseUrl}/nope/x`, { headers: bearer(USER_TOKEN) }));
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(framework).sort());
    assert.deepEqual(Object.keys(ours.request).sort(), Object.keys(framework.request).sort());
    assert.deepEqual(Object.keys(ours.response).sort(), Object.keys(framework.response).sort());
    for (const key of Object.keys(framework.error)) assert.ok(key in ours.error, `error.${key} missing`);
    // Backstage reports req.url as the plugin router sees it, below /api/proxy-sigv4.
    assert.equal(framework.request.url, '/demo/x');
    assert.equal(ours.request.url, '/nope/x');
  });

  it('never returns header values in an error', async () => {
    const res = await fetch(`${backend.baseUrl}/demo/..%2f..%2fetc`, {
      headers: { ...bearer(USER_TOKEN), 'x-secret': 'do-not-echo-me' },
    });
    const text = await res.text();
    assert.ok(!text.includes('do-not-echo-me'));
    assert.ok(!text.includes(USER_TOKEN));
  });
});
