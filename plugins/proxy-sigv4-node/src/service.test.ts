// The service as another plugin gets it in a real test backend, checked by things that are not
// our signer: moto (signature checks on) accepts what `sign` and `fetch` send and refuses a
// tampered request; the verifying upstream (smithy) checks presigned links, since moto fails on
// query authentication when it checks signatures; botocore's presigner makes the same presigned
// URL and EKS token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NotAllowedError } from '@backstage/errors';
import { botocorePresign, createMotoRole, motoSkip, startBackendWithService, startMotoAsDefaultChain, startVerifyingUpstream } from './testing/harness';
import type { EnforcingMoto, ServiceBackend, VerifyingUpstream } from './testing/harness';

const ALLOWED_ROLE = 'arn:aws:iam::123456789012:role/backstage-reader';
const OTHER_ROLE = 'arn:aws:iam::123456789012:role/admin';
const S3 = { service: 's3', region: 'us-east-1' };
const TIME = new Date('2026-12-01T08:09:10Z');

/** Sends a request with the headers `sign` returned (fetch sets `host` itself, from the URL). */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Response> {
  const { host: _host, ...rest } = headers;
  return fetch(url, { method, headers: rest, body });
}

describe('the AWS SigV4 service in a test backend, against moto', { timeout: 120_000, skip: motoSkip }, () => {
  let moto: EnforcingMoto;
  let upstream: VerifyingUpstream;
  let backend: ServiceBackend;
  let bucket: string;

  before(async () => {
    moto = await startMotoAsDefaultChain();
    upstream = await startVerifyingUpstream(moto);
    assert.equal(createMotoRole(moto, 'backstage-reader'), ALLOWED_ROLE);
    bucket = `${moto.url}/service-test`;
    backend = await startBackendWithService({
      proxysigv4: {
        '/s3': { target: moto.url, ...S3 },
        signer: { allowedRoles: [ALLOWED_ROLE] },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    await moto?.stop();
  });

  it('signs requests moto accepts, and a changed signed header no longer matches', async () => {
    const aws = backend.service;
    const created = await send(bucket, 'PUT', await aws.sign({ method: 'PUT', url: bucket }, S3));
    assert.equal(created.status, 200, await created.text());

    const url = `${bucket}/signed.txt`;
    const headers = await aws.sign({ method: 'PUT', url, headers: { 'content-type': 'text/plain' }, body: 'signed body' }, S3);
    const put = await send(url, 'PUT', headers, 'signed body');
    assert.equal(put.status, 200, await put.text());
    const get = await send(url, 'GET', await aws.sign({ url }, S3));
    assert.equal(await get.text(), 'signed body');

    const tampered = await send(url, 'PUT', { ...headers, 'content-type': 'text/html' }, 'signed body');
    assert.equal(tampered.status, 403, 'moto must refuse a header the signature does not cover');
  });

  it('presigns PUT and GET links a verifier accepts, and refuses when changed', async () => {
    const aws = backend.service;
    const url = `${upstream.url}/reports/q4%20final.csv`;
    const putUrl = await aws.presign({ method: 'PUT', url, headers: { 'content-type': 'text/csv' } }, { ...S3, expiresIn: 300 });
    const put = await fetch(putUrl, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'a,b\n1,2' });
    assert.equal(put.status, 200, await put.text());
    assert.deepEqual(upstream.requests.at(-1)?.signature, { ...upstream.requests.at(-1)?.signature, valid: true, presigned: true });

    const getUrl = await aws.presign({ url }, { service: 'execute-api', region: 'eu-west-1', expiresIn: 60 });
    assert.equal((await fetch(getUrl)).status, 200);

    const otherKey = getUrl.replace('q4%20final', 'q3');
    assert.equal((await fetch(otherKey)).status, 403, 'the signature covers the path');
    const otherType = await fetch(putUrl, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: 'x' });
    assert.equal(otherType.status, 403, 'the signature covers the headers given');
  });

  it('signs with SigV4A for a region set, as a multi-region endpoint needs, verified by smithy', async () => {
    const url = `${upstream.url}/mrap/object.txt`;
    const headers = await backend.service.sign({ method: 'PUT', url, body: 'everywhere' }, { service: 's3', regionSet: '*' });
    assert.match(headers.authorization, /^AWS4-ECDSA-P256-SHA256 /);
    const put = await send(url, 'PUT', headers, 'everywhere');
    assert.equal(put.status, 200, await put.text());
    assert.deepEqual(
      { ...upstream.requests.at(-1)?.signature, valid: true, regionSet: '*' },
      upstream.requests.at(-1)?.signature,
    );
  });

  it('presigns the URL botocore presigns for the same request, time and credentials', async () => {
    const request = { method: 'GET', url: 'https://reports.s3.eu-west-1.amazonaws.com/2026/q4.csv' };
    const ours = await backend.service.presign(request, { expiresIn: 3600, signingDate: TIME });
    const theirs = botocorePresign({ kind: 'url', ...request, service: 's3', region: 'eu-west-1', expires: 3600, credentials: moto, time: TIME });
    assert.deepEqual(Object.fromEntries(new URL(ours).searchParams), Object.fromEntries(new URL(theirs).searchParams));
  });

  it('makes the EKS token `aws eks get-token` makes (botocore) for the same time and credentials', async () => {
    const { token, expiresAt } = await backend.service.eksToken('prod-cluster', { region: 'us-west-2', signingDate: TIME });
    const theirs = botocorePresign({ kind: 'eks', cluster: 'prod-cluster', region: 'us-west-2', credentials: moto, time: TIME });
    assert.equal(token, theirs);
    assert.equal(expiresAt.getTime(), TIME.getTime() + 14 * 60_000);
  });

  it('fetches through a route with its policy, streaming the answer back', async () => {
    const aws = backend.service;
    const put = await aws.fetch('/s3', '/service-test/through-route.txt', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: new Blob(['sent through the route']).stream(),
    });
    assert.equal(put.status, 200, await put.text());

    const get = await aws.fetch('/s3', '/service-test/through-route.txt');
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-type'), 'text/plain');
    assert.equal(await get.text(), 'sent through the route');

    const missing = await aws.fetch('/s3', '/service-test/none.txt');
    assert.equal(missing.status, 404, "moto's own 404 passes through");
    assert.match(await missing.text(), /NoSuchKey/);
  });

  it("answers a route's refusals in Backstage's error JSON", async () => {
    const aws = backend.service;
    const unknown = await aws.fetch('/nope', '/x');
    assert.equal(unknown.status, 404);
    const body = (await unknown.json()) as { error: { name: string; code: string }; response: { statusCode: number } };
    assert.deepEqual([body.error.name, body.error.code, body.response.statusCode], ['NotFoundError', 'ROUTE_NOT_FOUND', 404]);

    const trace = await aws.fetch('/s3', '/service-test/x', { method: 'TRACE' });
    assert.equal(trace.status, 405);
    assert.equal(((await trace.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');

    const escape = await aws.fetch('/s3', '/../etc/passwd');
    assert.equal(escape.status, 400);
  });

  it('signs as a role config allows, through STS, and refuses any other role', async () => {
    const aws = backend.service;
    const url = `${bucket}/signed.txt`;
    const asRole = await aws.sign({ url }, { ...S3, roleArn: ALLOWED_ROLE });
    assert.ok(asRole['x-amz-security-token'], 'an assumed role signs with a session token');
    assert.doesNotMatch(asRole.authorization, new RegExp(`Credential=${moto.accessKeyId}/`));
    const get = await send(url, 'GET', asRole);
    assert.equal(get.status, 200, await get.text());

    for (const call of [
      () => aws.sign({ url }, { ...S3, roleArn: OTHER_ROLE }),
      () => aws.presign({ url }, { ...S3, expiresIn: 60, roleArn: OTHER_ROLE }),
      () => aws.eksToken('prod-cluster', { roleArn: OTHER_ROLE }),
    ]) {
      await assert.rejects(call(), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ROLE_NOT_ALLOWED');
        assert.ok(error instanceof NotAllowedError);
        assert.doesNotMatch(error.message, /123456789012/, 'the refusal does not repeat the account');
        return true;
      });
    }
    await assert.rejects(aws.sign({ url }, { route: '/s3', roleArn: ALLOWED_ROLE }), { name: 'InputError' });
  });

  it('refuses presigned links longer than S3 allows', async () => {
    await assert.rejects(backend.service.presign({ url: `${bucket}/k` }, { ...S3, expiresIn: 604801 }), {
      code: 'INVALID_ARGUMENT',
      message: /expiresIn/,
    });
  });
});

describe('the service with a bad signer config', () => {
  it('fails the backend at startup, naming the key', async () => {
    await assert.rejects(
      startBackendWithService({ proxysigv4: { signer: { allowedRoles: ['arn:aws:iam::123456789012:user/me'] } } }),
      /proxysigv4\.signer\.allowedRoles/,
    );
  });
});
