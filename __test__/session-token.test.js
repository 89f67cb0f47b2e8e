'use strict';
// Temporary credentials (with a session token) from the environment: the token is sent and signed.
// Its own file, because the default chain's credentials are cached for the whole process.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startVerifyingUpstream } = require('./support/verifying-upstream');
const { addon, DEMO_CREDENTIALS, useEnvironmentCredentials, exchange } = require('./support/addon');

const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLEsessiontoken//+=';
useEnvironmentCredentials({ sessionToken: SESSION_TOKEN });

test('signs with the session token and sends it as x-amz-security-token', async (t) => {
  const upstream = await startVerifyingUpstream({ keys: new Map([[DEMO_CREDENTIALS.accessKeyId, DEMO_CREDENTIALS.secretAccessKey]]) });
  t.after(() => upstream.close());
  const proxy = new addon.SigV4Proxy({ '/svc': { target: upstream.url, service: 'lambda', region: 'eu-west-1' } });
  const body = Buffer.from('{"n":1}');
  const res = await exchange(proxy, { method: 'PUT', url: '/svc/fn?x=1', headers: { 'content-type': 'application/json' }, body });
  assert.equal(res.status, 200);
  const [seen] = upstream.requests;
  assert.equal(seen.signature.valid, true, seen.signature.reason);
  assert.equal(seen.headers['x-amz-security-token'], SESSION_TOKEN);
  assert.ok(seen.signature.signedHeaders.includes('x-amz-security-token'));
  assert.ok(seen.body.equals(body));
});
