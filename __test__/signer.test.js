'use strict';
// The Signer class: requests it signs are accepted by the independent verifier
// (@smithy/signature-v4), and it returns what signRequestSync returns.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startVerifyingUpstream } = require('./support/verifying-upstream');
const { addon, DEMO_CREDENTIALS } = require('./support/addon');

const { Signer, signRequest, signRequestSync } = addon;

let upstream;

test.before(async () => {
  upstream = await startVerifyingUpstream({ keys: new Map([[DEMO_CREDENTIALS.accessKeyId, DEMO_CREDENTIALS.secretAccessKey]]) });
});
test.after(() => upstream.close());
test.beforeEach(() => upstream.reset());

/** Sends what the signer signed and returns what the upstream saw, its signature verified. */
async function send(method, url, headers, body) {
  const res = await fetch(url, { method, headers, body });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  assert.equal(upstream.requests.length, 1, 'upstream saw exactly one request');
  const [seen] = upstream.requests;
  assert.equal(seen.signature.valid, true, `signature verified: ${seen.signature.reason}`);
  return seen;
}

test('signs a GET with an encoded path and a query, accepted by the independent verifier', async () => {
  const signer = new Signer({ credentials: DEMO_CREDENTIALS, service: 'execute-api', region: 'us-west-2' });
  const url = `${upstream.url}/items/a%20b/./c?q=x%20y&a=2&a=1&empty=&flag`;
  const headers = signer.sign('GET', url);
  assert.deepEqual(Object.keys(headers).sort(), ['authorization', 'host', 'x-amz-date']);
  assert.equal(headers.host, new URL(upstream.url).host);
  const seen = await send('GET', url, headers);
  assert.equal(seen.signature.service, 'execute-api');
  assert.equal(seen.signature.region, 'us-west-2');
});

test('signs a POST with its body and every given header, names in any case', async () => {
  const signer = new Signer({ credentials: DEMO_CREDENTIALS, service: 'execute-api', region: 'us-west-2' });
  const url = `${upstream.url}/items`;
  const body = Buffer.from('{"n":1,"text":"héllo"}');
  const headers = signer.sign('POST', url, { 'Content-Type': 'application/json', 'X-Amz-Target': 'Svc.Op', 'x-spaced': '  a   b ' }, body);
  assert.equal(headers['content-type'], 'application/json');
  assert.equal(headers['x-spaced'], '  a   b ');
  const seen = await send('POST', url, headers, body);
  assert.ok(seen.body.equals(body));
  for (const name of ['content-type', 'x-amz-target', 'x-spaced']) assert.ok(seen.signature.signedHeaders.includes(name), name);
});

test('signs for S3: the path as sent, the payload hash in x-amz-content-sha256', async () => {
  const signer = new Signer({ credentials: DEMO_CREDENTIALS, service: 's3', region: 'eu-west-1' });
  const url = `${upstream.url}/bucket/key%20with%20spaces/x~y`;
  const body = crypto.randomBytes(4096);
  const headers = signer.sign('PUT', url, { 'content-type': 'application/octet-stream' }, body);
  assert.equal(headers['x-amz-content-sha256'], crypto.createHash('sha256').update(body).digest('hex'));
  const seen = await send('PUT', url, headers, body);
  assert.equal(seen.signature.service, 's3');
  assert.ok(seen.signature.signedHeaders.includes('x-amz-content-sha256'));
});

test('signs with a session token and sends it as x-amz-security-token', async () => {
  const signer = new Signer({
    credentials: { ...DEMO_CREDENTIALS, sessionToken: 'FwoGZXIvYXdzEXAMPLE//+=' },
    service: 'lambda',
    region: 'eu-west-1',
  });
  const url = `${upstream.url}/2015-03-31/functions/f/invocations`;
  const body = Buffer.from('{}');
  const headers = signer.sign('POST', url, null, body);
  assert.equal(headers['x-amz-security-token'], 'FwoGZXIvYXdzEXAMPLE//+=');
  const seen = await send('POST', url, headers, body);
  assert.equal(seen.signature.sessionToken, 'FwoGZXIvYXdzEXAMPLE//+=');
  assert.ok(seen.signature.signedHeaders.includes('x-amz-security-token'));
});

test('returns what signRequestSync returns for the same request', () => {
  const credentials = { ...DEMO_CREDENTIALS, sessionToken: 'token' };
  const cases = [
    ['GET', 'https://abc.execute-api.us-east-1.amazonaws.com/prod/items/42?limit=10&q=a%20b', undefined, undefined],
    ['POST', 'https://abc.execute-api.us-east-1.amazonaws.com/prod/items', { 'Content-Type': 'application/json', Host: 'ignored' }, Buffer.from('{"a":1}')],
    ['PUT', 'https://bucket.s3.eu-west-1.amazonaws.com/k%20ey', { 'x-amz-meta-a': ' b  c ' }, Buffer.alloc(0)],
  ];
  for (const [method, url, headers, body] of cases) {
    for (const scope of [{}, { service: 'custom', region: 'ap-south-1' }]) {
      const signer = new Signer({ credentials, ...scope });
      // Both sign "now": compare within one second, x-amz-date being to the second.
      for (;;) {
        const before = signRequestSync({ method, url, headers, body, credentials, ...scope });
        const ours = signer.sign(method, url, headers, body);
        const after = signRequestSync({ method, url, headers, body, credentials, ...scope });
        if (before['x-amz-date'] !== after['x-amz-date']) continue;
        assert.deepEqual(ours, before, `${method} ${url} ${JSON.stringify(scope)}`);
        break;
      }
    }
  }
});

test('infers service and region from the host unless given, and names a host it cannot read', () => {
  const url = 'https://abc.execute-api.eu-central-1.amazonaws.com/prod/x';
  const inferred = new Signer({ credentials: DEMO_CREDENTIALS }).sign('GET', url);
  assert.match(inferred.authorization, /\/eu-central-1\/execute-api\/aws4_request, /);
  const regionGiven = new Signer({ credentials: DEMO_CREDENTIALS, region: 'us-east-2' }).sign('GET', url);
  assert.match(regionGiven.authorization, /\/us-east-2\/execute-api\/aws4_request, /);

  const unknownHost = new Signer({ credentials: DEMO_CREDENTIALS });
  assert.throws(() => unknownHost.sign('GET', 'https://example.com/'), (e) => e.code === 'INVALID_ARGUMENT' && /example\.com/.test(e.message));
  assert.throws(() => signRequestSync({ method: 'GET', url: 'https://example.com/', credentials: DEMO_CREDENTIALS }), (e) => e.code === 'INVALID_ARGUMENT');
});

test('refuses bad arguments with their own codes and messages that never show the secret', () => {
  const signer = new Signer({ credentials: DEMO_CREDENTIALS, service: 'execute-api', region: 'us-west-2' });
  const attempts = [
    ['INVALID_ARGUMENT', () => signer.sign('GET', 'not a url')],
    ['INVALID_ARGUMENT', () => signer.sign('GET', '/relative/path')],
    ['BAD_HEADER', () => signer.sign('GET', 'https://h.example/', { 'bad name': 'x' })],
    ['BAD_HEADER', () => signer.sign('GET', 'https://h.example/', { 'x-a': 'line\nbreak' })],
    ['INVALID_ARGUMENT', () => signer.sign('GET', 'https://h.example/', { 'x-a': 1 })],
    ['INVALID_ARGUMENT', () => signer.sign('GET', 'https://h.example/', null, 'not a buffer')],
    ['INVALID_ARGUMENT', () => signer.sign('GET')],
    ['INVALID_ARGUMENT', () => new Signer({ service: 's3', region: 'us-east-1' })],
    ['INVALID_ARGUMENT', () => signRequestSync({ method: 'GET' })],
  ];
  for (const [code, attempt] of attempts) {
    assert.throws(attempt, (e) => {
      assert.ok(e instanceof Error);
      assert.equal(e.code, code, `${attempt}: ${e.message}`);
      assert.ok(!String(e.message).includes('line\nbreak'), e.message);
      assert.ok(!String(e.message).includes(DEMO_CREDENTIALS.secretAccessKey), e.message);
      assert.ok(!String(e.stack).includes(DEMO_CREDENTIALS.secretAccessKey));
      return true;
    });
  }
  // Header values that are undefined are left out, as signRequestSync leaves them out.
  const headers = signer.sign('GET', 'https://h.example/', { 'x-a': undefined, 'x-b': 'b' });
  assert.equal('x-a' in headers, false);
  assert.equal(headers['x-b'], 'b');
});

test('refuses a header given twice in different cases, which could not be sent as signed', () => {
  const signer = new Signer({ credentials: DEMO_CREDENTIALS, service: 'execute-api', region: 'us-east-1' });
  const url = 'https://abc.execute-api.us-east-1.amazonaws.com/prod';
  const twice = { 'X-Thing': 'a', 'x-thing': 'b' };
  const refused = (e) => e.code === 'BAD_HEADER' && /x-thing/.test(e.message);
  assert.throws(() => signer.sign('GET', url, twice), refused);
  assert.throws(() => signRequestSync({ method: 'GET', url, headers: twice, credentials: DEMO_CREDENTIALS }), refused);
  assert.equal(signer.sign('GET', url, { 'X-Thing': 'a', 'x-other': 'b' })['x-thing'], 'a');
});

test('signs header strings as the bytes Node sends them, read as Latin-1 as AWS reads them, verified', async () => {
  const signer = new Signer({ credentials: DEMO_CREDENTIALS, service: 's3', region: 'us-east-1' });
  const url = `${upstream.url}/bucket/key`;
  // Text of one byte per character, and UTF-8 bytes in their one-character-per-byte spelling.
  const values = ['café Ärger', ...['東京の報告', 'ü ß 😀'].map((text) => Buffer.from(text).toString('latin1'))];
  for (const sent of values) {
    upstream.reset();
    const headers = signer.sign('PUT', url, { 'x-amz-meta-name': sent }, Buffer.alloc(0));
    assert.equal(headers['x-amz-meta-name'], sent, 'returned as given, to be sent as given');
    const seen = await send('PUT', url, headers, Buffer.alloc(0));
    assert.deepEqual(Buffer.from(seen.headers['x-amz-meta-name'], 'latin1'), Buffer.from(sent, 'latin1'));
    assert.ok(seen.signature.signedHeaders.includes('x-amz-meta-name'));
    const sync = signRequestSync({ method: 'PUT', url, headers: { 'x-amz-meta-name': sent }, credentials: DEMO_CREDENTIALS, service: 's3', region: 'us-east-1' });
    assert.equal(sync['x-amz-meta-name'], sent);
  }
});

test('refuses a header string Node cannot send (a character above U+00FF), naming the header and not the value', () => {
  const signer = new Signer({ credentials: DEMO_CREDENTIALS, service: 's3', region: 'us-east-1' });
  const url = 'https://b.s3.us-east-1.amazonaws.com/k';
  for (const value of ['caf\u20ac-secret', '東京-secret']) {
    const refused = (e) => e.code === 'BAD_HEADER' && /x-amz-meta-name/.test(e.message) && !e.message.includes('secret');
    assert.throws(() => signer.sign('PUT', url, { 'x-amz-meta-name': value }), refused);
    assert.throws(() => signRequestSync({ method: 'PUT', url, headers: { 'x-amz-meta-name': value }, credentials: DEMO_CREDENTIALS }), refused);
  }
});

test('signRequest rejects with the stable code in error.code', async () => {
  const refusal = (code) => (e) => e instanceof Error && e.code === code && !e.message.startsWith(`${code}:`);
  await assert.rejects(signRequest({ method: 'GET', url: 'https://example.com/', credentials: DEMO_CREDENTIALS }), refusal('INVALID_ARGUMENT'));
  await assert.rejects(signRequest({ method: 'GET', url: 'https://example.com/' }), refusal('INVALID_ARGUMENT'));
  await assert.rejects(signRequest({ method: 'GET' }), refusal('INVALID_ARGUMENT'));
});
