'use strict';
// The addon against a loopback upstream whose SigV4 check is @smithy/signature-v4.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startVerifyingUpstream } = require('./support/verifying-upstream');
const { addon, DEMO_CREDENTIALS, useEnvironmentCredentials, exchange } = require('./support/addon');

useEnvironmentCredentials();

let upstream;
let proxy;

test.before(async () => {
  upstream = await startVerifyingUpstream({ keys: new Map([[DEMO_CREDENTIALS.accessKeyId, DEMO_CREDENTIALS.secretAccessKey]]) });
  proxy = new addon.SigV4Proxy({
    allowUnauthenticatedRequests: false,
    '/svc': { target: `${upstream.url}/base`, service: 'execute-api', region: 'us-west-2' },
    '/bare': { target: upstream.url, service: 'execute-api', region: 'us-west-2' },
    '/slash': { target: `${upstream.url}/base/`, service: 'execute-api', region: 'us-west-2' },
  });
});
test.after(() => upstream.close());
test.beforeEach(() => upstream.reset());

/**
 * The single request the upstream saw (below `pathPrefix`, when given), asserting its signature
 * verified. Tests that send no request through the proxy name their path: an exchange an
 * earlier test abandoned may still reach the upstream late on a loaded machine.
 */
function onlyRequest(pathPrefix = '') {
  const requests = upstream.requests.filter((r) => r.url.startsWith(pathPrefix));
  assert.equal(requests.length, 1, 'upstream saw exactly one request');
  const [seen] = requests;
  assert.equal(seen.signature.valid, true, `signature verified: ${seen.signature.reason}`);
  assert.equal(seen.signature.accessKeyId, DEMO_CREDENTIALS.accessKeyId);
  assert.equal(seen.signature.service, 'execute-api');
  assert.equal(seen.signature.region, 'us-west-2');
  return seen;
}

test('signs a GET with a query and an encoded path', async () => {
  const res = await exchange(proxy, { url: '/svc/items/a%20b/c%2Fd?q=x%20y&a=1&a=0&empty=' });
  assert.equal(res.status, 200);
  const seen = onlyRequest();
  assert.equal(seen.method, 'GET');
  assert.equal(seen.url, '/base/items/a%20b/c%2Fd?q=x%20y&a=1&a=0&empty=');
});

test('maps the bare route to the target exactly as written', async () => {
  await exchange(proxy, { url: '/svc' });
  assert.equal(onlyRequest().url, '/base');
  upstream.reset();
  await exchange(proxy, { url: '/slash?x=1' });
  assert.equal(onlyRequest().url, '/base/?x=1');
  upstream.reset();
  await exchange(proxy, { url: '/bare/x' });
  assert.equal(onlyRequest().url, '/x');
});

for (const [name, contentType, body] of [
  ['compact JSON', 'application/json', Buffer.from('{"a":1,"b":[true,null]}')],
  ['pretty-printed JSON', 'application/json', Buffer.from('{\n  "a" : 1,\n\t"b": [ true, null ]\n}\n')],
  ['text', 'text/plain; charset=utf-8', Buffer.from('héllo, wörld\r\n')],
  ['a 1 MiB binary body', 'application/octet-stream', crypto.randomBytes(1024 * 1024)],
]) {
  test(`forwards ${name} byte for byte with a valid signature`, async () => {
    const res = await exchange(proxy, { method: 'POST', url: '/svc/upload', headers: { 'Content-Type': contentType }, body });
    assert.equal(res.status, 200);
    const seen = onlyRequest();
    assert.ok(seen.body.equals(body), 'upstream received the exact bytes');
    assert.equal(seen.headers['content-type'], contentType);
    assert.equal(seen.headers['content-length'], String(body.length));
  });
}

test('signs an empty-body POST and a DELETE', async () => {
  const post = await exchange(proxy, { method: 'POST', url: '/svc/empty' });
  assert.equal(post.status, 200);
  assert.equal(onlyRequest().body.length, 0);
  upstream.reset();
  const del = await exchange(proxy, { method: 'DELETE', url: '/svc/items/1' });
  assert.equal(del.status, 200);
  assert.equal(onlyRequest().method, 'DELETE');
});

test('never forwards the client credentials, cookies, signing or hop-by-hop headers', async () => {
  await exchange(proxy, {
    url: '/svc/h',
    headers: {
      Authorization: 'Bearer backstage-user-token',
      Cookie: 'backstage-session=abc',
      'X-Amz-Date': '20000101T000000Z',
      'X-Amz-Security-Token': 'client-token',
      'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
      Connection: 'keep-alive, accept-language',
      'Accept-Language': 'en',
      'Keep-Alive': 'timeout=5',
      'Proxy-Authorization': 'Basic x',
      Upgrade: 'websocket',
      Accept: 'application/json',
      'X-Amz-Target': 'Service.Operation',
    },
  });
  const seen = onlyRequest();
  assert.notEqual(seen.headers.authorization, 'Bearer backstage-user-token');
  assert.match(seen.headers.authorization, /^AWS4-HMAC-SHA256 /);
  for (const name of ['cookie', 'x-amz-security-token', 'x-amz-content-sha256', 'accept-language', 'keep-alive', 'proxy-authorization', 'upgrade']) {
    assert.equal(seen.headers[name], undefined, `${name} must not reach upstream`);
  }
  assert.notEqual(seen.headers['x-amz-date'], '20000101T000000Z');
  assert.equal(seen.headers.accept, 'application/json');
  assert.equal(seen.headers['x-amz-target'], 'Service.Operation');
  assert.ok(seen.signature.signedHeaders.includes('x-amz-target'));
});

test('returns upstream headers except hop-by-hop and Set-Cookie', async () => {
  const res = await exchange(proxy, { url: '/svc/h' });
  assert.equal(res.headers.etag, '"v1"');
  assert.equal(res.headers.location, '/somewhere');
  assert.equal(res.headers['x-amzn-requestid'], 'test-request-id');
  assert.match(res.headers['content-type'], /application\/json/);
  assert.equal(res.headers['content-length'], String(res.body.length));
  assert.equal(res.headers['set-cookie'], undefined);
  assert.equal(res.headers.connection, undefined);
  assert.equal(res.headers['keep-alive'], undefined);
});

test('passes upstream error statuses through', async () => {
  const res = await exchange(proxy, { url: '/svc/__status/418' });
  assert.equal(res.status, 418);
  assert.equal(res.error, null);
});

test('streams a response chunk by chunk as the upstream sends it', async () => {
  const response = await proxy.handle(proxy.routeIndex('/svc/__chunks?count=5&delayMs=150'), { method: 'GET', url: '/svc/__chunks?count=5&delayMs=150', headers: [] });
  const reader = response.takeBody().getReader();
  const arrivals = [];
  const start = Date.now();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    arrivals.push({ at: Date.now() - start, text: Buffer.from(value).toString() });
  }
  assert.equal(arrivals.map((a) => a.text).join(''), [0, 1, 2, 3, 4].map((i) => `chunk-${i}\n`).join(''));
  assert.ok(arrivals.length >= 5, `got ${arrivals.length} reads`);
  // The first chunk is in hand long before the last one is sent (4 x 150 ms later).
  assert.ok(arrivals.at(-1).at - arrivals[0].at >= 450, JSON.stringify(arrivals));
});

test('reuses a handful of upstream connections for 100 sequential requests', async () => {
  for (let i = 0; i < 100; i++) {
    const res = await exchange(proxy, { url: `/svc/seq/${i}` });
    assert.equal(res.status, 200);
  }
  assert.equal(upstream.requests.length, 100);
  assert.ok(upstream.requests.every((r) => r.signature.valid));
  assert.ok(upstream.connections() <= 3, `upstream accepted ${upstream.connections()} connections`);
});

test('cancelling the body stream drops the upstream exchange', async () => {
  const response = await proxy.handle(proxy.routeIndex('/svc/__bytes?size=1073741824'), { method: 'GET', url: '/svc/__bytes?size=1073741824', headers: [] });
  const reader = response.takeBody().getReader();
  await reader.read();
  await reader.cancel();
  const seen = upstream.requests[0];
  for (let i = 0; i < 50 && !seen.aborted; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen.aborted, true, 'upstream saw the client go away');
  assert.ok(seen.bytesWritten < 64 * 1024 * 1024, `upstream wrote ${seen.bytesWritten} bytes`);
});

test('a cancel signal drops the upstream even while a body read is pending', async () => {
  const cancel = new addon.CancelSignal();
  const response = await proxy.handle(proxy.routeIndex('/svc/__chunks?count=100&delayMs=100'), { method: 'GET', url: '/svc/__chunks?count=100&delayMs=100', headers: [] }, cancel);
  const reader = response.takeBody().getReader();
  await reader.read();
  const pending = reader.read(); // in flight while the next chunk is 100 ms away
  cancel.cancel();
  assert.equal((await pending).done, true);
  const seen = upstream.requests[0];
  for (let i = 0; i < 50 && !seen.aborted; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen.aborted, true, 'upstream saw the proxy go away');
});

test('a cancel signal abandons a request still waiting for headers', async () => {
  const cancel = new addon.CancelSignal();
  const pending = proxy.handle(proxy.routeIndex('/svc/__chunks?count=1&delayMs=2000'), { method: 'GET', url: '/svc/__chunks?count=1&delayMs=2000', headers: [] }, cancel);
  cancel.cancel();
  const response = await pending;
  assert.equal(response.error.code, 'CANCELLED');
});

test('refuses paths that would leave the target with 400', async () => {
  for (const url of ['/svc/../x', '/svc/%2e%2e/x', '/svc/a/..%2f..%2fx', '/svc/%252e%252e/x', '/svc/..%5cx']) {
    const res = await exchange(proxy, { url });
    assert.equal(res.status, 400, url);
    assert.deepEqual({ name: res.error.name, code: res.error.code }, { name: 'InputError', code: 'BAD_PATH' });
  }
  // The cancelled request of an earlier test may still arrive; nothing else may.
  assert.deepEqual(upstream.requests.map((r) => r.url).filter((url) => !url.startsWith('/base/__chunks')), []);
});

test('answers 404 for a path no route matches', async () => {
  const res = await exchange(proxy, { url: '/svcx/a' });
  assert.equal(res.status, 404);
  assert.equal(res.error.code, 'ROUTE_NOT_FOUND');
});

test('answers 502 when the upstream refuses connections', async () => {
  const closed = await startVerifyingUpstream({ keys: new Map() });
  const target = closed.url;
  await closed.close();
  const down = new addon.SigV4Proxy({ '/down': { target, service: 'execute-api', region: 'us-west-2' } });
  const res = await exchange(down, { url: '/down/x' });
  assert.equal(res.status, 502);
  assert.equal(res.error.code, 'UPSTREAM_UNREACHABLE');
  assert.equal(res.error.name, 'BadGatewayError');
});

test('rejects bad config naming the route and key', () => {
  const cases = [
    [{ '/a': 'not a url' }, /proxysigv4\.\/a\.target/],
    [{ '/a': 'https://api.example.com' }, /proxysigv4\.\/a\.service: cannot be inferred/],
    [{ '/a': { target: 'https://abc.execute-api.us-west-2.amazonaws.com', roleArn: 'role' } }, /proxysigv4\.\/a\.roleArn/],
    [{ allowUnauthenticatedRequests: 'yes' }, /proxysigv4\.allowUnauthenticatedRequests/],
  ];
  for (const [config, message] of cases) {
    assert.throws(() => new addon.SigV4Proxy(config), (e) => e.code === 'INVALID_CONFIG' && message.test(e.message));
  }
  assert.deepEqual(new addon.SigV4Proxy({ '/a': 'https://abc.execute-api.us-west-2.amazonaws.com' }).routes, ['/a']);
  assert.deepEqual(new addon.SigV4Proxy(undefined).routes, []);
});

test('the public signer produces headers the independent verifier accepts', async () => {
  const body = Buffer.from('{"query":"x"}');
  const headers = await addon.signRequest({
    method: 'POST',
    url: `${upstream.url}/signed/a%20b?x=1`,
    headers: { 'content-type': 'application/json' },
    body,
    service: 'execute-api',
    region: 'us-west-2',
  });
  assert.equal(headers.host, new URL(upstream.url).host);
  const res = await fetch(`${upstream.url}/signed/a%20b?x=1`, { method: 'POST', headers, body });
  assert.equal(res.status, 200);
  onlyRequest('/signed/');
});

test('the sync signer signs with given credentials, accepted by the independent verifier', async () => {
  const body = Buffer.from('{"n":1}');
  const url = `${upstream.url}/sync/a%2Fb?z=1&a=2`;
  const headers = addon.signRequestSync({
    method: 'PUT',
    url,
    headers: { 'content-type': 'application/json', 'x-amz-target': 'Svc.Op' },
    body,
    service: 'execute-api',
    region: 'us-west-2',
    credentials: { ...DEMO_CREDENTIALS, sessionToken: 'caller-session-token' },
  });
  assert.equal(headers['x-amz-security-token'], 'caller-session-token');
  const res = await fetch(url, { method: 'PUT', headers, body });
  assert.equal(res.status, 200);
  const seen = onlyRequest('/sync/');
  assert.ok(seen.signature.signedHeaders.includes('x-amz-target'));
  assert.throws(() => addon.signRequestSync({ method: 'GET', url }), (e) => e.code === 'INVALID_ARGUMENT');
});

test('streams a request body through an unsignedPayload route, byte for byte', async () => {
  const { Readable } = require('node:stream');
  const streaming = new addon.SigV4Proxy({
    '/upload': { target: upstream.url, service: 's3', region: 'us-west-2', unsignedPayload: true, maxRequestBodyBytes: 64 * 1024 * 1024 },
  });
  assert.equal(streaming.routeFor('/upload/k').streamRequestBody, true);
  const size = 16 * 1024 * 1024;
  const chunk = crypto.randomBytes(64 * 1024);
  const source = Readable.from((function* () { for (let sent = 0; sent < size; sent += chunk.length) yield chunk; })());
  const response = await streaming.handleStream(
    streaming.routeIndex('/upload/bucket/key%20one'),
    { method: 'PUT', url: '/upload/bucket/key%20one', headers: ['Content-Type', 'application/octet-stream'] },
    size,
    Readable.toWeb(source),
  );
  assert.equal(response.status, 200, JSON.stringify(response.error));
  const [seen] = upstream.requests;
  assert.equal(seen.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  assert.equal(seen.signature.valid, true, seen.signature.reason);
  assert.equal(seen.body.length, size);
  assert.equal(crypto.createHash('sha256').update(seen.body).digest('hex'),
    crypto.createHash('sha256').update(Buffer.concat(Array(size / chunk.length).fill(chunk))).digest('hex'));
  await response.takeBody()?.cancel();
});

test('handle serves the route it is handed and never chooses again', async () => {
  const nested = new addon.SigV4Proxy({
    '/a': { target: `${upstream.url}/outer`, service: 'execute-api', region: 'us-west-2' },
    '/a/b': { target: `${upstream.url}/inner`, service: 'execute-api', region: 'us-west-2' },
  });
  const outer = nested.routeIndex('/a/x');
  assert.equal(nested.routeInfos[nested.routeIndex('/a/b/y')].key, '/a/b');
  const response = await nested.handle(outer, { method: 'GET', url: '/a/b/y', headers: [] });
  assert.equal(response.status, 200, JSON.stringify(response.error));
  assert.equal(onlyRequest('/outer').url, '/outer/b/y');
  const elsewhere = await nested.handle(nested.routeIndex('/a/b/y'), { method: 'GET', url: '/a/x', headers: [] });
  assert.deepEqual([elsewhere.status, elsewhere.error.code], [500, 'INTERNAL']);
  assert.throws(() => nested.handle(7, { method: 'GET', url: '/a/x', headers: [] }), (e) => e.code === 'INVALID_ARGUMENT');
});

test('planRequest decides the route and the body once, with the answers for refused bodies', () => {
  const plans = new addon.SigV4Proxy({
    '/read': { target: upstream.url, service: 'execute-api', region: 'us-west-2', maxRequestBodyBytes: 100 },
    '/stream': { target: upstream.url, service: 's3', region: 'us-west-2', unsignedPayload: true, maxRequestBodyBytes: 100 },
    '/api': { target: upstream.url, service: 'execute-api', region: 'us-west-2' },
    '/api/admin': { target: upstream.url, service: 'execute-api', region: 'us-west-2' },
  });
  const keyOf = (route) => plans.routeInfos[route]?.key ?? route;
  const brief = (plan) => [keyOf(plan.route), plan.bodyLimit, plan.streamLength ?? null, plan.refusal?.status ?? null];
  assert.deepEqual(brief(plans.planRequest('/read/x', '100', false)), ['/read', 100, null, null]);
  assert.deepEqual(brief(plans.planRequest('/stream/x', '100', false)), ['/stream', 100, 100, null]);
  assert.deepEqual(brief(plans.planRequest('/stream/x')), ['/stream', 100, null, null]);
  assert.deepEqual(brief(plans.planRequest('/nope', '5', false)), [-1, 10 * 1024 * 1024, null, null]);
  assert.deepEqual(brief(plans.planRequest('/api/%61dmin/x')), [-2, 10 * 1024 * 1024, null, null]);
  assert.deepEqual(plans.planRequest('/read/x', '101', false).refusal, {
    status: 413, name: 'PayloadTooLargeError', code: 'PAYLOAD_TOO_LARGE', message: 'Request body is larger than the limit of 100 bytes',
  });
  assert.deepEqual(plans.planRequest('/stream/x', undefined, true).refusal, {
    status: 411, name: 'LengthRequiredError', code: 'LENGTH_REQUIRED',
    message: 'This route streams request bodies: send a content-length header (chunked bodies are refused)',
  });
  const read = plans.routeIndex('/read/x');
  assert.equal(plans.bodyRefusal(read, 100), null);
  assert.equal(plans.bodyRefusal(read, 101).code, 'PAYLOAD_TOO_LARGE');
  assert.equal(plans.bodyRefusal(-1, 10 * 1024 * 1024 + 1).message, 'Request body is larger than the limit of 10485760 bytes');
});
