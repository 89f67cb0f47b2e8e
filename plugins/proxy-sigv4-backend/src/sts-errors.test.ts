// STS refuses AssumeRole (a signature-enforcing moto, called by a user whose policy does not
// allow sts:AssumeRole): STS's message names the caller's ARN and account id. The 503 answer
// and every log line say that STS refused, and name neither the ARN nor the account id; nor do
// the answers to the other errors of the same backend. (moto wraps its error in an extra
// <Errors> element that the AWS SDK does not read a code from, so the code and request id AWS
// itself would give are checked in the core's unit tests.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, USER_TOKEN, bearer, errorBody, logText, routeTo, startProxyBackend, startUpstream } from './testing/harness';
import type { LogLine, TestProxyBackend, VerifyingUpstream } from './testing/harness';

/* eslint-disable @typescript-eslint/no-require-imports */
const moto = require(path.join(REPO_ROOT, '__test__', 'support', 'moto.js')) as { motoAvailable(): boolean };
const { startEnforcingMoto } = require(path.join(REPO_ROOT, '__test__', 'support', 'moto-enforcing.js')) as {
  startEnforcingMoto(): Promise<{ url: string; accessKeyId: string; secretAccessKey: string; stop(): Promise<void> }>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const ACCOUNT_ID = '123456789012';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/backstage-denied`;

describe('an STS that refuses AssumeRole', { skip: !moto.motoAvailable() && 'run scripts/setup-python.sh', timeout: 120_000 }, () => {
  const logs: LogLine[] = [];
  let motoServer: Awaited<ReturnType<typeof startEnforcingMoto>>;
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    motoServer = await startEnforcingMoto();
    const denied = JSON.parse(
      execFileSync(
        path.join(REPO_ROOT, '.venv', 'bin', 'python'),
        [path.join(REPO_ROOT, '__test__', 'support', 'moto-denied-user.py'), motoServer.url, motoServer.accessKeyId, motoServer.secretAccessKey],
        { encoding: 'utf8', timeout: 60_000 },
      ),
    ) as { accessKeyId: string; secretAccessKey: string };
    // The default chain (read on the first AssumeRole below) calls STS as the denied user.
    process.env.AWS_ACCESS_KEY_ID = denied.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = denied.secretAccessKey;
    process.env.AWS_ENDPOINT_URL_STS = motoServer.url;
    upstream = await startUpstream();
    backend = await startProxyBackend(
      { proxysigv4: { '/role': { ...routeTo(upstream), roleArn: ROLE_ARN, roleSessionName: 'denied-test' } } },
      { logs },
    );
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    await motoServer?.stop();
  });

  it('answers 503 saying STS refused, without the ARN or account id', async () => {
    const res = await fetch(`${backend.baseUrl}/role/item`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 503);
    const body = await errorBody(res);
    assert.equal(body.error.code, 'CREDENTIALS_UNAVAILABLE');
    assert.match(body.error.message, /^AWS credentials are unavailable: the credential source failed: STS answered /);
    const text = JSON.stringify(body);
    assert.doesNotMatch(text, /arn:aws/);
    assert.ok(!text.includes(ACCOUNT_ID), text);
    assert.equal(upstream.requests.length, 0);
  });

  it('logs the failure by code, with neither the ARN nor the account id', () => {
    const text = logText(logs);
    assert.match(text, /CREDENTIALS_UNAVAILABLE: AWS credentials are unavailable: the credential source failed: STS answered /);
    assert.doesNotMatch(text, /arn:aws:iam::\d+:user/);
    assert.ok(!text.includes(`${ACCOUNT_ID}:user`), 'the denied user is not named');
  });

  it('answers the other errors of the backend without them too', async () => {
    for (const [url, init] of [
      ['/role/item', {}],
      ['/nowhere', { headers: bearer(USER_TOKEN) }],
      ['/role/%2e%2e/x', { headers: bearer(USER_TOKEN) }],
    ] as const) {
      const res = await fetch(`${backend.baseUrl}${url}`, init);
      const text = await res.text();
      assert.ok(res.status >= 400, `${url}: ${res.status}`);
      assert.ok(!text.includes(ACCOUNT_ID) && !/arn:aws/.test(text), `${url}: ${text}`);
    }
  });
});
