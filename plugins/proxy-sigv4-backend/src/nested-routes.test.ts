// Nested routes against an upstream that normalises paths the way Tomcat does: an open route
// `/api` (target T/) and a closed child `/api/admin` (target T/admin, GET only). Other spellings
// of the child's path (`//`, `%61`, `;x=1`, case) select the open parent by their raw form and
// would reach the child's webapp upstream; they are refused, so no request reaches `/admin`
// without the child's policy. Odd spellings that stay on their own route keep working.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ACCESS_KEY_ID, REPO_ROOT, SECRET_ACCESS_KEY, USER_TOKEN, bearer, rawRequest, startProxyBackend } from './testing/harness';
import type { TestProxyBackend } from './testing/harness';

interface ServletUpstream {
  url: string;
  requests: Array<{ method: string; url: string; servletPath: string | null; webapp: string | null; signatureValid: boolean }>;
  reset(): void;
  close(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const servlet = require(path.join(REPO_ROOT, '__test__', 'support', 'servlet-upstream.js')) as {
  servletPath(raw: string): string | null;
  startServletUpstream(options: { keys: Map<string, string> }): Promise<ServletUpstream>;
};

const MOUNT = '/api/proxy-sigv4';
const SIGNING = { service: 'execute-api', region: 'us-east-1' };

/** Spellings of the child's `/admin/secret` that Tomcat reads as the child's path. */
const BYPASSES = [
  '/api//admin/secret',
  '/api/%61dmin/secret',
  '/api/admin;x=1/secret',
  '/api/;x/admin/secret',
  '/api/%2561dmin/secret',
  '/api/ADMIN/secret',
  '/api/admin%2Fsecret',
];

describe('the servlet-style normaliser in the test upstream', () => {
  it('reads the bypass spellings as the child path, as Tomcat does', () => {
    for (const spelling of ['//admin/secret', '/%61dmin/secret', '/admin;x=1/secret', '/;x/admin/secret']) {
      assert.equal(servlet.servletPath(spelling), '/admin/secret', spelling);
    }
  });
});

describe('nested routes: a closed child below an open parent', { timeout: 60_000 }, () => {
  let upstream: ServletUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await servlet.startServletUpstream({ keys: new Map([[ACCESS_KEY_ID, SECRET_ACCESS_KEY]]) });
    backend = await startProxyBackend({
      proxysigv4: {
        '/api': { ...SIGNING, target: `${upstream.url}/`, credentials: 'dangerously-allow-unauthenticated' },
        '/api/admin': { ...SIGNING, target: `${upstream.url}/admin`, credentials: 'require', allowedMethods: ['GET'] },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  const send = (route: string, options: Parameters<typeof rawRequest>[2] = {}) =>
    rawRequest(backend.port, `${MOUNT}${route}`, options);
  const reachedAdmin = () => upstream.requests.filter((r) => r.webapp === 'admin');

  for (const spelling of BYPASSES) {
    it(`does not let an anonymous caller reach the child through ${spelling}`, async () => {
      upstream.reset();
      const res = await send(spelling);
      assert.notEqual(res.status, 200, res.body);
      assert.ok([400, 401].includes(res.status), `${res.status} ${res.body}`);
      assert.deepEqual(reachedAdmin(), []);
    });

    it(`refuses ${spelling} for a signed-in caller too (400 BAD_PATH), and DELETE through it`, async () => {
      upstream.reset();
      for (const method of ['GET', 'DELETE']) {
        const res = await send(spelling, { method, headers: bearer(USER_TOKEN) });
        assert.equal(res.status, 400, res.body);
        const body = JSON.parse(res.body);
        assert.equal(body.error.code, 'BAD_PATH');
        assert.equal(body.error.name, 'InputError');
      }
      assert.deepEqual(upstream.requests, [], 'nothing reached the upstream');
    });
  }

  it("serves the child's own spelling under the child's policy", async () => {
    upstream.reset();
    assert.equal((await send('/api/admin/secret')).status, 401);
    const signedIn = await send('/api/admin/secret', { headers: bearer(USER_TOKEN) });
    assert.equal(signedIn.status, 200, signedIn.body);
    assert.deepEqual(JSON.parse(signedIn.body), { webapp: 'admin', path: '/admin/secret' });
    const deleted = await send('/api/admin/secret', { method: 'DELETE', headers: bearer(USER_TOKEN) });
    assert.equal(deleted.status, 405, "the child's allowedMethods hold");
    assert.deepEqual(
      upstream.requests.map((r) => [r.url, r.signatureValid]),
      [['/admin/secret', true]],
    );
  });

  it("keeps serving the parent's paths, odd spellings included, byte for byte", async () => {
    upstream.reset();
    for (const spelling of ['/api/items/1', '/api/items//1', '/api/Items;v=1', '/api/%69tems', '/api/administrator']) {
      const res = await send(spelling);
      assert.equal(res.status, 200, `${spelling}: ${res.body}`);
      assert.equal(JSON.parse(res.body).webapp, 'root', spelling);
    }
    assert.deepEqual(
      upstream.requests.map((r) => [r.url, r.signatureValid]),
      ['/items/1', '/items//1', '/Items;v=1', '/%69tems', '/administrator'].map((url) => [url, true]),
    );
  });
});
