'use strict';
// Routes that sign with SigV4A (signingAlgorithm: sigv4a), as S3 Multi-Region Access Points
// need, checked by the verifying upstream with @smithy/signature-v4a (the AWS SDK for
// JavaScript's SigV4A signer), not by aws-sigv4, which signs them.

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { SignatureV4a } = require('@smithy/signature-v4a');
const { HttpRequest } = require('@smithy/protocol-http');
const { Sha256 } = require('@aws-crypto/sha256-js');
const { startVerifyingUpstream } = require('./support/verifying-upstream');
const { addon, DEMO_CREDENTIALS, useEnvironmentCredentials, exchange } = require('./support/addon');

useEnvironmentCredentials();

let upstream;
test.before(async () => {
  upstream = await startVerifyingUpstream({ keys: new Map([[DEMO_CREDENTIALS.accessKeyId, DEMO_CREDENTIALS.secretAccessKey]]), strict: true });
});
test.after(() => upstream.close());

test('signs a route with SigV4A for every region by default, GET and PUT with a body, verified', async () => {
  const proxy = new addon.SigV4Proxy({ '/mrap': { target: `${upstream.url}/bucket`, service: 's3', signingAlgorithm: 'sigv4a' } });
  for (const [method, body] of [['GET', undefined], ['PUT', Buffer.from('multi-region object')]]) {
    upstream.reset();
    const answer = await exchange(proxy, { method, url: '/mrap/reports/a%20b.csv?versionId=3', headers: { 'content-type': 'text/csv' }, body });
    assert.equal(answer.status, 200, answer.body.toString());
    const [seen] = upstream.requests;
    assert.equal(seen.signature.valid, true, seen.signature.reason);
    assert.equal(seen.signature.algorithm, 'sigv4a');
    assert.equal(seen.signature.regionSet, '*');
    assert.ok(seen.signature.signedHeaders.includes('x-amz-region-set'));
    assert.match(String(seen.headers.authorization), /^AWS4-ECDSA-P256-SHA256 Credential=\w+\/\d{8}\/s3\/aws4_request,/);
  }
});

test('signs for the region set a route names, and a client cannot set its own', async () => {
  const proxy = new addon.SigV4Proxy({
    '/two': { target: `${upstream.url}/api`, service: 'execute-api', region: 'us-east-1', signingAlgorithm: 'sigv4a', regionSet: ['us-east-1', 'us-west-2'] },
  });
  upstream.reset();
  const answer = await exchange(proxy, { url: '/two/items', headers: { 'x-amz-region-set': 'eu-west-1' } });
  assert.equal(answer.status, 200, answer.body.toString());
  const [seen] = upstream.requests;
  assert.equal(seen.signature.valid, true, seen.signature.reason);
  assert.equal(seen.signature.regionSet, 'us-east-1,us-west-2');
});

test('the verifier refuses a SigV4A request changed after signing', async () => {
  const signer = new SignatureV4a({ credentials: DEMO_CREDENTIALS, region: '*', service: 's3', sha256: Sha256, applyChecksum: false, uriEscapePath: false });
  const signed = await signer.sign(new HttpRequest({ method: 'GET', protocol: 'http:', hostname: `127.0.0.1`, port: upstream.port, path: '/k', headers: { host: `127.0.0.1:${upstream.port}`, 'x-amz-meta-a': 'one' } }));
  const send = (headers) =>
    new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: upstream.port, path: '/k', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      }).on('error', reject);
    });
  assert.equal(await send(signed.headers), 200);
  assert.equal(upstream.requests.at(-1).signature.valid, true, upstream.requests.at(-1).signature.reason);
  assert.equal(await send({ ...signed.headers, 'x-amz-meta-a': 'two' }), 403);
  assert.equal(upstream.requests.at(-1).signature.reason, 'signature mismatch');
});

test('refuses SigV4A options it cannot use, naming the route and key', () => {
  const target = 'https://example.mrap.accesspoint.s3-global.amazonaws.com';
  for (const [route, key] of [
    [{ target, service: 's3', regionSet: '*' }, 'regionSet'],
    [{ target, service: 's3', signingAlgorithm: 'sigv5' }, 'signingAlgorithm'],
    [{ target, service: 's3', signingAlgorithm: 'sigv4a', regionSet: ['us east'] }, 'regionSet'],
    [{ target, signingAlgorithm: 'sigv4a' }, 'service'],
  ]) {
    assert.throws(() => new addon.SigV4Proxy({ '/m': route }), { code: 'INVALID_CONFIG', message: new RegExp(`proxysigv4\\./m\\.${key}: `) });
  }
  assert.deepEqual(new addon.SigV4Proxy({ '/m': { target, service: 's3', signingAlgorithm: 'sigv4a' } }).routes, ['/m']);
});
