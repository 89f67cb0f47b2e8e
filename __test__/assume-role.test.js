'use strict';
// A roleArn route against moto's STS on loopback: the upstream sees a signature by the
// assumed-role (ASIA...) credentials, and many requests cost one AssumeRole call.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startVerifyingUpstream } = require('./support/verifying-upstream');
const { startMoto, startStsRecorder, motoAvailable } = require('./support/moto');
const { addon, useEnvironmentCredentials, exchange } = require('./support/addon');

const ROLE_ARN = 'arn:aws:iam::123456789012:role/backstage-reader';

test('a roleArn route signs with assumed-role credentials from one AssumeRole', { skip: !motoAvailable() && 'run scripts/setup-python.sh' }, async (t) => {
  const moto = await startMoto();
  t.after(() => moto.stop());
  const sts = await startStsRecorder(moto.url);
  t.after(() => sts.close());
  useEnvironmentCredentials(); // the base credentials AssumeRole is called with
  process.env.AWS_ENDPOINT_URL_STS = sts.url;

  const keys = new Map();
  const upstream = await startVerifyingUpstream({ keys });
  t.after(() => upstream.close());
  const proxy = new addon.SigV4Proxy({
    '/role': { target: upstream.url, roleArn: ROLE_ARN, roleSessionName: 'backstage-test', service: 'execute-api', region: 'us-east-1' },
  });

  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => exchange(proxy, { url: `/role/parallel/${i}` })));
  for (let i = 0; i < 10; i++) answers.push(await exchange(proxy, { url: `/role/sequential/${i}` }));
  assert.deepEqual(answers.map((a) => a.status), Array(20).fill(200));
  assert.equal(sts.calls.AssumeRole, 1, `AssumeRole calls: ${JSON.stringify(sts.calls)}`);

  const assumeRole = sts.requests.find((r) => r.action === 'AssumeRole');
  assert.equal(assumeRole.params.RoleArn, ROLE_ARN);
  assert.equal(assumeRole.params.RoleSessionName, 'backstage-test');

  for (const [accessKeyId, issued] of sts.issued) keys.set(accessKeyId, issued.secretAccessKey);
  const [issuedKey] = [...sts.issued.keys()];
  assert.match(issuedKey, /^ASIA/);
  assert.equal(upstream.requests.length, 20);
  for (const seen of upstream.requests) {
    assert.equal(seen.signature.accessKeyId, issuedKey);
    assert.equal(seen.headers['x-amz-security-token'], sts.issued.get(issuedKey).sessionToken);
  }
  // Verify now that the issued secret is known to the verifier.
  const { verifySigV4 } = require('./support/sigv4-verify');
  for (const seen of upstream.requests) {
    const check = await verifySigV4({ method: seen.method, url: seen.url, rawHeaders: seen.rawHeaders, body: seen.body, keys });
    assert.equal(check.valid, true, check.reason);
  }
});
