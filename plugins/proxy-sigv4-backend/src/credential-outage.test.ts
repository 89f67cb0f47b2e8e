// A credential source outage, with moto's STS stopped and restarted: assumed-role credentials
// stay in use until they truly expire, the refresh is retried with backoff (not per request),
// then the route answers 503, and it recovers on its own once STS is back. A route on other
// credentials keeps serving throughout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO_ROOT, USER_TOKEN, bearer, errorBody, routeTo, startProxyBackend, startUpstream } from './testing/harness';
import type { TestProxyBackend, VerifyingUpstream } from './testing/harness';

/* eslint-disable @typescript-eslint/no-require-imports */
const moto = require(path.join(REPO_ROOT, '__test__', 'support', 'moto.js')) as {
  motoAvailable(): boolean;
  startMoto(): Promise<{ url: string; stop(): Promise<void>; restart(): Promise<void> }>;
  startStsRecorder(url: string): Promise<{
    url: string;
    calls: Record<string, number>;
    issued: Map<string, { secretAccessKey: string; sessionToken: string }>;
    close(): Promise<void>;
  }>;
};
const { startVerifyingUpstream } = require(path.join(REPO_ROOT, '__test__', 'support', 'verifying-upstream.js'));
/* eslint-enable @typescript-eslint/no-require-imports */

const ROLE_ARN = 'arn:aws:iam::123456789012:role/backstage-outage';
// Short-lived on purpose: usable for 25 s (the last 15 s before expiry are never used), and due
// for refresh from the start, so the outage shows within one test.
const SESSION_DURATION = '40s';
const POLL_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('credential source outage', { skip: !moto.motoAvailable() && 'run scripts/setup-python.sh', timeout: 120_000 }, () => {
  let sts: Awaited<ReturnType<typeof moto.startStsRecorder>>;
  let motoServer: Awaited<ReturnType<typeof moto.startMoto>>;
  let roleUpstream: VerifyingUpstream & { requests: Array<{ signature: { valid: boolean; reason?: string; accessKeyId?: string } }> };
  let plainUpstream: VerifyingUpstream;
  let backend: TestProxyBackend;
  const keys = new Map<string, string>();

  before(async () => {
    motoServer = await moto.startMoto();
    sts = await moto.startStsRecorder(motoServer.url);
    // Read when the addon first loads the AWS SDK config, i.e. on the first AssumeRole below.
    process.env.AWS_ENDPOINT_URL_STS = sts.url;
    roleUpstream = await startVerifyingUpstream({ keys });
    plainUpstream = await startUpstream();
    backend = await startProxyBackend({
      proxysigv4: {
        '/role': { ...routeTo(roleUpstream), roleArn: ROLE_ARN, roleSessionName: 'outage-test', sessionDuration: SESSION_DURATION },
        '/plain': routeTo(plainUpstream),
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await roleUpstream?.close();
    await plainUpstream?.close();
    await sts?.close();
    await motoServer?.stop();
  });

  const get = (route: string) => fetch(`${backend.baseUrl}${route}/item`, { headers: bearer(USER_TOKEN) });

  /** Polls `route` until its status is `wanted` (bounded); returns every status seen. */
  async function pollUntil(route: string, wanted: number, limitMs: number): Promise<{ statuses: number[]; last: Response }> {
    const statuses: number[] = [];
    const deadline = Date.now() + limitMs;
    for (;;) {
      const last = await get(route);
      statuses.push(last.status);
      if (last.status === wanted || Date.now() > deadline) return { statuses, last };
      await last.arrayBuffer();
      await sleep(POLL_MS);
    }
  }

  it('keeps valid credentials through an outage, then 503, then recovers by itself', async () => {
    const first = await get('/role');
    assert.equal(first.status, 200, await first.text());
    assert.ok(sts.calls.AssumeRole >= 1);

    await motoServer.stop();
    const callsAtStop = sts.calls.AssumeRole;
    const outage = await pollUntil('/role', 503, 60_000);
    assert.equal(outage.last.status, 503, `statuses during the outage: ${outage.statuses}`);
    assert.equal(outage.statuses[0], 200, 'cached credentials are used while still valid');
    const body = await errorBody(outage.last);
    assert.equal(body.error.name, 'ServiceUnavailableError');
    assert.equal(body.error.code, 'CREDENTIALS_UNAVAILABLE');
    assert.match(body.error.message, /^AWS credentials are unavailable: /);
    assert.equal(body.response.statusCode, 503);
    // Retried with backoff: far fewer STS attempts (each up to 3 SDK tries) than requests.
    const attempts = sts.calls.AssumeRole - callsAtStop;
    assert.ok(attempts < outage.statuses.length, `${attempts} STS calls for ${outage.statuses.length} requests`);

    const other = await get('/plain');
    assert.equal(other.status, 200, 'a route on other credentials keeps serving');

    await motoServer.restart();
    const recovery = await pollUntil('/role', 200, 30_000);
    assert.equal(recovery.last.status, 200, `statuses after restart: ${recovery.statuses}`);

    for (const [accessKeyId, issued] of sts.issued) keys.set(accessKeyId, issued.secretAccessKey);
    const last = roleUpstream.requests.at(-1)!;
    assert.match(last.signature.accessKeyId ?? '', /^ASIA/);
    // The upstream checked the signature when it arrived, before the key was known to it.
    const { verifySigV4 } = require(path.join(REPO_ROOT, '__test__', 'support', 'sigv4-verify.js')); // eslint-disable-line @typescript-eslint/no-require-imports
    const seen = roleUpstream.requests.at(-1) as unknown as { method: string; url: string; rawHeaders: string[]; body: Buffer };
    const check = await verifySigV4({ ...seen, keys });
    assert.equal(check.valid, true, check.reason);
  });
});
