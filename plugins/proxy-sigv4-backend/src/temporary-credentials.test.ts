// Temporary credentials for users, against moto's STS (behind a recorder that shows what each
// AssumeRole asked for), in a real backend with a permission policy and an auditor that record
// their decisions: who gets credentials, for how long, scoped how, and every refusal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { JsonObject } from '@backstage/types';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import type { PermissionsService } from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { ACCESS_KEY_ID, REPO_ROOT, SECRET_ACCESS_KEY, SERVICE_TOKEN, bearer, errorBody, startProxyBackend } from './testing/harness';
import type { TestProxyBackend } from './testing/harness';

/* eslint-disable @typescript-eslint/no-require-imports */
const moto = require(path.join(REPO_ROOT, '__test__', 'support', 'moto.js')) as {
  motoAvailable(): boolean;
  startMoto(): Promise<{ url: string; stop(): Promise<void> }>;
  startStsRecorder(url: string): Promise<{
    url: string;
    calls: Record<string, number>;
    requests: Array<{ action: string; params: Record<string, string>; status: number | null }>;
    close(): Promise<void>;
  }>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const READONLY = 'arn:aws:iam::123456789012:role/dev-readonly';
const UNLISTED = 'arn:aws:iam::123456789012:role/admin';
const SESSION_POLICY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] };
const MANAGED_POLICY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
const ALICE = mockCredentials.user.token('user:default/alice');
const BOB = mockCredentials.user.token('user:default/bob');

/** Allows the permission to alice only; records each decision it makes. */
function alicePermissions(decisions: Array<{ principal: string; resourceRef?: string; result: string }>) {
  return createServiceFactory({
    service: coreServices.permissions,
    deps: {},
    factory: (): PermissionsService => ({
      async authorize(requests, { credentials }) {
        const principal = credentials.principal as { userEntityRef?: string; subject?: string };
        const who = principal.userEntityRef ?? principal.subject ?? 'none';
        return requests.map((request) => {
          const result = who === 'user:default/alice' ? AuthorizeResult.ALLOW : AuthorizeResult.DENY;
          decisions.push({ principal: who, resourceRef: (request as { resourceRef?: string }).resourceRef, result });
          return { result };
        });
      },
      async authorizeConditional(requests) {
        return requests.map(() => ({ result: AuthorizeResult.ALLOW }));
      },
    }),
  });
}

/** An auditor that keeps every event's id, outcome and meta. */
function recordingAuditor(events: Array<{ eventId: string; outcome: string; meta?: JsonObject }>) {
  return createServiceFactory({
    service: coreServices.auditor,
    deps: {},
    factory: () => ({
      async createEvent(options: { eventId: string; meta?: JsonObject }) {
        return {
          async success(done?: { meta?: JsonObject }) {
            events.push({ eventId: options.eventId, outcome: 'succeeded', meta: { ...options.meta, ...done?.meta } });
          },
          async fail(failed: { error: Error }) {
            events.push({ eventId: options.eventId, outcome: `failed: ${failed.error.name}`, meta: options.meta });
          },
        };
      },
    }),
  });
}

describe('temporary credentials, against moto STS', { timeout: 120_000, skip: !moto.motoAvailable() && 'run scripts/setup-python.sh' }, () => {
  let motoServer: Awaited<ReturnType<typeof moto.startMoto>>;
  let sts: Awaited<ReturnType<typeof moto.startStsRecorder>>;
  let backend: TestProxyBackend;
  const decisions: Array<{ principal: string; resourceRef?: string; result: string }> = [];
  const audit: Array<{ eventId: string; outcome: string; meta?: JsonObject }> = [];

  const ask = (token: string | undefined, body: unknown) =>
    fetch(`${backend.baseUrl}/.credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && bearer(token)) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const assumeRoleCalls = () => sts.requests.filter((request) => request.action === 'AssumeRole');

  before(async () => {
    motoServer = await moto.startMoto();
    sts = await moto.startStsRecorder(motoServer.url);
    process.env.AWS_ENDPOINT_URL_STS = sts.url; // read when the addon first loads the SDK config
    backend = await startProxyBackend(
      {
        proxysigv4: {
          '/r': { target: 'https://abc.execute-api.us-east-1.amazonaws.com/prod' },
          temporaryCredentials: {
            requestsPerMinute: 7,
            roles: [{ roleArn: READONLY, maxDuration: '20m', sessionPolicy: SESSION_POLICY, policyArns: [MANAGED_POLICY] }],
          },
        },
      },
      { features: [alicePermissions(decisions), recordingAuditor(audit)] },
    );
  });
  after(async () => {
    await backend?.stop();
    await sts?.close();
    await motoServer?.stop();
  });

  it('gives an allowed user a fresh session that ends within the duration and carries the session policy', async () => {
    const asked = Date.now();
    const res = await ask(ALICE, { roleArn: READONLY, durationSeconds: 900 });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const issued = (await res.json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string };
    assert.notEqual(issued.accessKeyId, ACCESS_KEY_ID, "never the backend's own key");
    assert.notEqual(issued.secretAccessKey, SECRET_ACCESS_KEY);
    assert.ok(issued.sessionToken.length > 0);
    const expires = Date.parse(issued.expiration);
    assert.ok(expires > asked && expires <= Date.now() + 900_000 + 1_000, `expires ${issued.expiration}`);

    const [call] = assumeRoleCalls();
    assert.equal(call.status, 200);
    assert.equal(call.params.RoleArn, READONLY);
    assert.equal(call.params.DurationSeconds, '900');
    assert.deepEqual(JSON.parse(call.params.Policy), SESSION_POLICY);
    assert.equal(call.params['PolicyArns.member.1.arn'], MANAGED_POLICY);
    assert.equal(call.params.RoleSessionName, 'user-default-alice');
    assert.equal(call.params.SourceIdentity, 'user-default-alice');
    assert.deepEqual(decisions.at(-1), { principal: 'user:default/alice', resourceRef: READONLY, result: 'ALLOW' });
    assert.deepEqual(audit.at(-1), {
      eventId: 'temporary-credentials',
      outcome: 'succeeded',
      meta: { roleArn: READONLY, principal: 'user:default/alice', expiration: issued.expiration },
    });
    assert.doesNotMatch(JSON.stringify(audit), new RegExp(issued.secretAccessKey.replace(/[^\w]/g, '.')), 'no secret in audit');
  });

  it('defaults to the role maximum and refuses a longer one', async () => {
    const res = await ask(ALICE, { roleArn: READONLY });
    assert.equal(res.status, 200);
    assert.equal(assumeRoleCalls().at(-1)?.params.DurationSeconds, '1200');
    const tooLong = await ask(ALICE, { roleArn: READONLY, durationSeconds: 1201 });
    assert.equal(tooLong.status, 400);
    assert.equal((await errorBody(tooLong)).error.code, 'INVALID_ARGUMENT');
  });

  it('refuses, with an audit event each and no STS call: no permission, an unlisted role, anonymous, a service', async () => {
    const before = assumeRoleCalls().length;
    const cases: Array<[string, string | undefined, unknown, number, string]> = [
      ['a user the permission does not allow', BOB, { roleArn: READONLY }, 403, 'NotAllowedError'],
      ['a role config does not list', ALICE, { roleArn: UNLISTED }, 403, 'NotAllowedError'],
      ['an anonymous caller', undefined, { roleArn: READONLY }, 401, 'AuthenticationError'],
      ['a service (config allows users only)', SERVICE_TOKEN, { roleArn: READONLY }, 403, 'NotAllowedError'],
      ['a body without a roleArn', ALICE, { role: READONLY }, 400, 'InputError'],
      ['a body that is not JSON', ALICE, '{roleArn: nope', 400, 'InputError'],
    ];
    for (const [what, token, body, status, name] of cases) {
      const auditBefore = audit.length;
      const res = await ask(token, body);
      assert.equal(res.status, status, what);
      assert.equal(res.headers.get('cache-control'), 'no-store', what);
      const answer = await errorBody(res);
      assert.equal(answer.error.name, name, what);
      assert.doesNotMatch(JSON.stringify(answer), /secretAccessKey|sessionToken/, what);
      assert.deepEqual(audit.slice(auditBefore).map((e) => e.outcome), [`failed: ${name}`], what);
    }
    assert.equal((await errorBody(await ask(ALICE, { roleArn: UNLISTED }))).error.code, 'ROLE_NOT_ALLOWED');
    assert.equal(assumeRoleCalls().length, before, 'no refused request reached STS');
  });

  it('limits each caller to requestsPerMinute, with Retry-After, and counts callers apart', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 7 && !limited; i++) {
      const res = await ask(ALICE, { roleArn: READONLY });
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, 'alice reached the limit of 7 a minute');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await errorBody(limited)).error.code, 'RATE_LIMITED');
    assert.equal(audit.at(-1)?.outcome, 'failed: TooManyRequestsError');
    assert.equal((await ask(BOB, { roleArn: READONLY })).status, 403, "bob's own count is not alice's");
  });
});

describe('temporary credentials, not configured', () => {
  it('serves nothing at /.credentials', async () => {
    const backend = await startProxyBackend({ proxysigv4: { '/r': 'https://abc.execute-api.us-east-1.amazonaws.com/prod' } });
    try {
      const res = await fetch(`${backend.baseUrl}/.credentials`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(ALICE) },
        body: JSON.stringify({ roleArn: READONLY }),
      });
      assert.equal(res.status, 404);
      assert.doesNotMatch(await res.text(), /accessKeyId|secretAccessKey/);
    } finally {
      await backend.stop();
    }
  });

  it('refuses a bad temporaryCredentials config at startup, naming the key', async () => {
    await assert.rejects(
      startProxyBackend({ proxysigv4: { temporaryCredentials: { roles: [{ roleArn: READONLY, maxDuration: '2h' }] } } }),
      /proxysigv4\.temporaryCredentials\.roles\[0\]\.maxDuration/,
    );
  });
});
