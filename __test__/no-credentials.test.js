'use strict';
// A backend starts without AWS credentials; its routes answer 503 until credentials appear.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startVerifyingUpstream } = require('./support/verifying-upstream');
const { addon, DEMO_CREDENTIALS, isolateFromMachine, useEnvironmentCredentials, exchange } = require('./support/addon');

isolateFromMachine();
delete process.env.AWS_ACCESS_KEY_ID;
delete process.env.AWS_SECRET_ACCESS_KEY;
delete process.env.AWS_SESSION_TOKEN;

test('answers 503 without credentials and recovers once they appear', async (t) => {
  const upstream = await startVerifyingUpstream({ keys: new Map([[DEMO_CREDENTIALS.accessKeyId, DEMO_CREDENTIALS.secretAccessKey]]) });
  t.after(() => upstream.close());
  const proxy = new addon.SigV4Proxy({ '/svc': { target: upstream.url, service: 'execute-api', region: 'us-east-1' } });

  const missing = await exchange(proxy, { url: '/svc/x' });
  assert.equal(missing.status, 503);
  assert.equal(missing.error.name, 'ServiceUnavailableError');
  assert.equal(missing.error.code, 'CREDENTIALS_UNAVAILABLE');
  assert.match(missing.error.message, /^AWS credentials are unavailable: /);
  assert.equal(upstream.requests.length, 0, 'nothing unsigned reaches the upstream');

  useEnvironmentCredentials();
  let recovered;
  for (let i = 0; i < 30; i++) {
    recovered = await exchange(proxy, { url: '/svc/x' });
    if (recovered.status !== 503) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(recovered.status, 200);
  assert.equal(upstream.requests[0].signature.valid, true);
});
