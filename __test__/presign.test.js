'use strict';
// Presigned URLs from the addon, compared with botocore's presigner for the same request, time
// and credentials: the signature (and every other query parameter) must be the same.

const test = require('node:test');
const assert = require('node:assert/strict');
const { addon, DEMO_CREDENTIALS, useEnvironmentCredentials } = require('./support/addon');
const { botocorePresign } = require('./support/botocore-presign');
const { motoAvailable } = require('./support/moto');

useEnvironmentCredentials();

const skip = motoAvailable() ? false : 'no .venv: run scripts/setup-python.sh';
const TIME = new Date('2026-11-30T12:34:56Z');
const TEMPORARY = { ...DEMO_CREDENTIALS, sessionToken: 'FwoGZXIvYXdzEXAMPLE+token/with=chars' };

const CASES = [
  { what: 'an S3 GET', method: 'GET', url: 'https://my-bucket.s3.us-west-2.amazonaws.com/reports/2026/a%20b%2Bc.csv', service: 's3', region: 'us-west-2', expires: 3600 },
  { what: 'an S3 PUT with a signed header', method: 'PUT', url: 'https://my-bucket.s3.us-west-2.amazonaws.com/uploads/x.bin', headers: { 'content-type': 'application/octet-stream' }, service: 's3', region: 'us-west-2', expires: 604800 },
  { what: 'an API Gateway GET with a query', method: 'GET', url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/items?b=2&a=1', service: 'execute-api', region: 'eu-west-1', expires: 60 },
];

for (const c of CASES) {
  for (const [kind, credentials] of [['keys', DEMO_CREDENTIALS], ['temporary keys', TEMPORARY]]) {
    test(`presigns ${c.what} with ${kind} as botocore does`, { skip }, async () => {
      const ours = await addon.presignRequest({
        method: c.method, url: c.url, headers: c.headers, expiresIn: c.expires, signingTime: TIME.getTime(), credentials,
      });
      const theirs = botocorePresign({ kind: 'url', ...c, credentials, time: TIME });
      const [ourBase, ourQuery] = ours.split('?');
      const [theirBase, theirQuery] = theirs.split('?');
      assert.equal(ourBase, theirBase);
      assert.deepEqual(
        Object.fromEntries(new URLSearchParams(ourQuery)),
        Object.fromEntries(new URLSearchParams(theirQuery)),
      );
      assert.match(ours, new RegExp(`X-Amz-Expires=${c.expires}`));
    });
  }
}

test('presigns with the default chain, inferring service and region from the host', { skip }, async () => {
  const url = 'https://my-bucket.s3.eu-central-1.amazonaws.com/k';
  const ours = await addon.presignRequest({ method: 'GET', url, expiresIn: 300, signingTime: TIME.getTime() });
  const theirs = botocorePresign({ kind: 'url', method: 'GET', url, service: 's3', region: 'eu-central-1', expires: 300, credentials: DEMO_CREDENTIALS, time: TIME });
  assert.equal(new URL(ours).searchParams.get('X-Amz-Signature'), new URL(theirs).searchParams.get('X-Amz-Signature'));
});

test('a route presigns with its own credentials, and names a key it does not have', async () => {
  const proxy = new addon.SigV4Proxy({ '/s3': { target: 'https://my-bucket.s3.us-west-2.amazonaws.com', service: 's3', region: 'us-west-2' } });
  const url = 'https://my-bucket.s3.us-west-2.amazonaws.com/k';
  const viaRoute = await proxy.presignRequest('/s3', { method: 'GET', url, expiresIn: 60, signingTime: TIME.getTime() });
  const direct = await addon.presignRequest({ method: 'GET', url, expiresIn: 60, signingTime: TIME.getTime() });
  assert.equal(viaRoute, direct, 'the route here signs with the default chain');
  await assert.rejects(proxy.presignRequest('/nope', { method: 'GET', url, expiresIn: 60 }), { code: 'INVALID_ARGUMENT', message: /'\/nope' is not a proxysigv4 route/ });
  await assert.rejects(
    proxy.presignRequest('/s3', { method: 'GET', url, expiresIn: 60, roleArn: 'arn:aws:iam::123456789012:role/x' }),
    { code: 'INVALID_ARGUMENT', message: /leave out roleArn/ },
  );
});

test('refuses expiries AWS refuses, and bad times', async () => {
  const base = { method: 'GET', url: 'https://b.s3.us-east-1.amazonaws.com/k', credentials: DEMO_CREDENTIALS };
  for (const expiresIn of [0, 604801, 1.5, -1, Number.NaN]) {
    await assert.rejects(addon.presignRequest({ ...base, expiresIn }), { code: 'INVALID_ARGUMENT', message: /expiresIn/ }, String(expiresIn));
  }
  await assert.rejects(addon.presignRequest({ ...base, expiresIn: 60, signingTime: -5 }), { code: 'INVALID_ARGUMENT', message: /signingTime/ });
});
