// Mounting and authentication: the plugin serves /api/proxy-sigv4, requires Backstage user or
// service credentials by default, and serves anyone only when allowUnauthenticatedRequests is true.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SERVICE_TOKEN,
  USER_TOKEN,
  bearer,
  errorBody,
  routeTo,
  startProxyBackend,
  startUpstream,
} from './testing/harness';
import type { TestProxyBackend, VerifyingUpstream } from './testing/harness';

describe('authentication (allowUnauthenticatedRequests absent)', { timeout: 60_000 }, () => {
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

  it('is mounted under /api/proxy-sigv4 and forwards a user request with a valid signature', async () => {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/demo/hello?x=1`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 200);
    const echo = (await res.json()) as { url: string; signatureValid: boolean };
    assert.equal(echo.url, '/base/hello?x=1');
    assert.equal(echo.signatureValid, true);
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0].url, '/base/hello?x=1');
    assert.equal(upstream.requests[0].signature.valid, true, upstream.requests[0].signature.reason);
  });

  it('answers 401 without credentials and sends nothing upstream', async () => {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/demo/hello`);
    assert.equal(res.status, 401);
    const body = await errorBody(res);
    assert.equal(body.error.name, 'AuthenticationError');
    assert.equal(body.response.statusCode, 401);
    assert.equal(upstream.requests.length, 0);
  });

  it('answers 401 for an invalid token', async () => {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/demo/hello`, { headers: bearer('mock-invalid-user-token') });
    assert.equal(res.status, 401);
    await res.arrayBuffer();
    assert.equal(upstream.requests.length, 0);
  });

  it('accepts service credentials', async () => {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/demo/from-service`, { headers: bearer(SERVICE_TOKEN) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0].url, '/base/from-service');
  });

  it('does not serve the plugin outside its mount point', async () => {
    const res = await fetch(`${backend.baseUrl.replace('/api/proxy-sigv4', '/api/proxysigv4')}/demo/x`, {
      headers: bearer(USER_TOKEN),
    });
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });
});

describe('allowUnauthenticatedRequests', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream?.close();
  });

  it('true: serves a request without credentials', async () => {
    const backend = await startProxyBackend({
      proxysigv4: { allowUnauthenticatedRequests: true, '/demo': routeTo(upstream) },
    });
    try {
      upstream.reset();
      const res = await fetch(`${backend.baseUrl}/demo/open?y=2`);
      assert.equal(res.status, 200);
      const echo = (await res.json()) as { signatureValid: boolean };
      assert.equal(echo.signatureValid, true);
      assert.equal(upstream.requests.length, 1);
      assert.equal(upstream.requests[0].url, '/base/open?y=2');
    } finally {
      await backend.stop();
    }
  });

  it("true given as the string 'true' (env substitution) is read as true", async () => {
    const backend = await startProxyBackend({
      proxysigv4: { allowUnauthenticatedRequests: 'true', '/demo': routeTo(upstream) },
    });
    try {
      const res = await fetch(`${backend.baseUrl}/demo/open`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    } finally {
      await backend.stop();
    }
  });

  it('false: answers 401 without credentials, 200 with a user token', async () => {
    const backend = await startProxyBackend({
      proxysigv4: { allowUnauthenticatedRequests: false, '/demo': routeTo(upstream) },
    });
    try {
      upstream.reset();
      const denied = await fetch(`${backend.baseUrl}/demo/closed`);
      assert.equal(denied.status, 401);
      await denied.arrayBuffer();
      assert.equal(upstream.requests.length, 0);
      const allowed = await fetch(`${backend.baseUrl}/demo/closed`, { headers: bearer(USER_TOKEN) });
      assert.equal(allowed.status, 200);
      await allowed.arrayBuffer();
      assert.equal(upstream.requests.length, 1);
    } finally {
      await backend.stop();
    }
  });
});
