// The readiness view at /.health: each route's credential state and last failure, without
// secrets, 503 while a route's credentials fail, and only for Backstage callers.
//
// A file of its own on purpose: it points STS at a closed port before the addon first reads
// its environment.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS_KEY_ID, bearer, closedPort, routeTo, SECRET_ACCESS_KEY, startProxyBackend, startUpstream, USER_TOKEN } from './testing/harness';
import type { TestProxyBackend, VerifyingUpstream } from './testing/harness';
import type { HealthView } from './health';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/health-unreachable';

describe('the readiness view', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${await closedPort()}`;
    upstream = await startUpstream();
    backend = await startProxyBackend({
      proxysigv4: {
        allowUnauthenticatedRequests: true,
        '/api': routeTo(upstream),
        '/gone': { ...routeTo(upstream), target: `http://127.0.0.1:${await closedPort()}` },
        '/role': { ...routeTo(upstream), roleArn: ROLE_ARN, credentialTimeout: '2s' },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    delete process.env.AWS_ENDPOINT_URL_STS;
  });

  async function health(headers: Record<string, string> = bearer(USER_TOKEN)): Promise<{ status: number; body: string }> {
    const res = await fetch(`${backend.baseUrl}/.health`, { headers });
    return { status: res.status, body: await res.text() };
  }

  it('needs Backstage credentials, even where every route is open', async () => {
    const anonymous = await health({});
    assert.equal(anonymous.status, 401, anonymous.body);
  });

  it('shows each route pending, then ready or failing with its last failure, and never a secret', async () => {
    const first = await health();
    assert.equal(first.status, 200, first.body);
    const pending = JSON.parse(first.body) as HealthView;
    assert.equal(pending.status, 'ok');
    assert.deepEqual(
      pending.routes.map((r) => [r.route, r.credentials.state]),
      [
        ['/api', 'pending'],
        ['/gone', 'pending'],
        ['/role', 'pending'],
      ],
    );

    for (const [path, status] of [['/api/x', 200], ['/gone/x', 502], ['/role/x', 503]] as const) {
      const res = await fetch(`${backend.baseUrl}${path}`, { headers: bearer(USER_TOKEN) });
      await res.arrayBuffer();
      assert.equal(res.status, status, path);
    }

    const after = await health();
    assert.equal(after.status, 503, after.body);
    const view = JSON.parse(after.body) as HealthView;
    assert.equal(view.status, 'degraded');
    const byRoute = new Map(view.routes.map((r) => [r.route, r]));
    assert.equal(byRoute.get('/api')?.credentials.state, 'ready');
    assert.equal(byRoute.get('/api')?.credentials.fetched, 1);
    assert.equal(byRoute.get('/api')?.lastFailure, undefined);
    assert.equal(byRoute.get('/gone')?.lastFailure?.code, 'UPSTREAM_UNREACHABLE');
    assert.ok(Date.now() - Date.parse(byRoute.get('/gone')?.lastFailure?.at ?? '') < 60_000);
    const role = byRoute.get('/role');
    assert.equal(role?.credentials.state, 'failing');
    assert.equal(role?.credentials.failed, 1);
    assert.match(role?.credentials.lastFailure ?? '', /the route's roleArn/);
    assert.equal(role?.lastFailure?.code, 'CREDENTIALS_UNAVAILABLE');
    for (const secret of [ACCESS_KEY_ID, SECRET_ACCESS_KEY, ROLE_ARN, '123456789012']) {
      assert.ok(!after.body.includes(secret), `the view shows ${secret}`);
    }
  });
});
