'use strict';
// A route signed for another host than the one it connects to (custom domains, VPC endpoints),
// and a route whose credentials come from a named profile. Its own file: the shared credentials
// file is read once per process.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startVerifyingUpstream } = require('./support/verifying-upstream');
const { addon, DEMO_CREDENTIALS, useEnvironmentCredentials, exchange } = require('./support/addon');

const PROFILE_CREDENTIALS = { accessKeyId: 'AKIDPROFILETEAMA', secretAccessKey: 'profile-team-a-secret-key' };

useEnvironmentCredentials();
const credentialsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-sigv4-')), 'credentials');
fs.writeFileSync(
  credentialsFile,
  `[team-a]\naws_access_key_id = ${PROFILE_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${PROFILE_CREDENTIALS.secretAccessKey}\n`,
);
process.env.AWS_SHARED_CREDENTIALS_FILE = credentialsFile;

let upstream;
test.before(async () => {
  upstream = await startVerifyingUpstream({
    keys: new Map([
      [DEMO_CREDENTIALS.accessKeyId, DEMO_CREDENTIALS.secretAccessKey],
      [PROFILE_CREDENTIALS.accessKeyId, PROFILE_CREDENTIALS.secretAccessKey],
    ]),
  });
});
test.after(() => upstream.close());
test.beforeEach(() => upstream.reset());

test('signs for the API host while connecting to another address', async () => {
  const proxy = new addon.SigV4Proxy({
    '/custom': { target: `${upstream.url}/v1`, hostHeader: 'abc123.execute-api.eu-west-1.amazonaws.com' },
  });
  const res = await exchange(proxy, { method: 'POST', url: '/custom/things?x=1', headers: { 'content-type': 'text/plain' }, body: Buffer.from('hi') });
  assert.equal(res.status, 200);
  const [seen] = upstream.requests;
  assert.equal(seen.headers.host, 'abc123.execute-api.eu-west-1.amazonaws.com');
  assert.equal(seen.signature.valid, true, seen.signature.reason);
  assert.equal(seen.signature.service, 'execute-api', 'service inferred from the host header');
  assert.equal(seen.signature.region, 'eu-west-1');
  assert.equal(seen.url, '/v1/things?x=1');
});

test('signs with the credentials of a named profile', async () => {
  const proxy = new addon.SigV4Proxy({
    '/team': { target: upstream.url, profile: 'team-a', service: 'execute-api', region: 'us-east-1' },
    '/default': { target: upstream.url, service: 'execute-api', region: 'us-east-1' },
  });
  await exchange(proxy, { url: '/team/x' });
  await exchange(proxy, { url: '/default/x' });
  const [team, other] = upstream.requests;
  assert.equal(team.signature.valid, true, team.signature.reason);
  assert.equal(team.signature.accessKeyId, PROFILE_CREDENTIALS.accessKeyId);
  assert.equal(other.signature.accessKeyId, DEMO_CREDENTIALS.accessKeyId);
});

test('a missing profile answers 503 naming the problem, not a secret', async () => {
  const proxy = new addon.SigV4Proxy({ '/nobody': { target: upstream.url, profile: 'nobody', service: 'execute-api', region: 'us-east-1' } });
  const res = await exchange(proxy, { url: '/nobody/x' });
  assert.equal(res.status, 503);
  assert.equal(res.error.code, 'CREDENTIALS_UNAVAILABLE');
  assert.match(res.error.message, /nobody/);
  assert.ok(!res.error.message.includes(PROFILE_CREDENTIALS.secretAccessKey));
  assert.equal(upstream.requests.length, 0);
});
