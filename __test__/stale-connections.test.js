'use strict';
// An upstream may close a pooled keep-alive connection just as the proxy reuses it, before a
// byte of its answer. An idempotent request whose whole body is in hand is sent once more, on
// a new connection, with the same (still valid) signature; any other request gets 502 and is
// never sent twice. Signatures are checked by the independent verifier.

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { verifySigV4 } = require('./support/sigv4-verify');
const { addon, DEMO_CREDENTIALS, useEnvironmentCredentials, exchange } = require('./support/addon');

useEnvironmentCredentials();

const KEYS = new Map([[DEMO_CREDENTIALS.accessKeyId, DEMO_CREDENTIALS.secretAccessKey]]);
/** Pairs tried until one lands on a reused connection (the pool hands a connection back a moment after its answer). */
const ATTEMPTS = 20;

/** Answers the first request on each connection, and drops the connection unanswered on the second. */
async function startClosingUpstream() {
  const seen = [];
  const answeredOn = new WeakSet();
  const server = http.createServer({ keepAliveTimeout: 30_000 }, async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const signature = await verifySigV4({ method: req.method, url: req.url, rawHeaders: req.rawHeaders, body, keys: KEYS });
    const reused = answeredOn.has(req.socket);
    seen.push({ method: req.method, url: req.url, body, signature, dropped: reused });
    if (reused) return req.socket.destroy();
    answeredOn.add(req.socket);
    res.end(`answered ${req.method} ${req.url}`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

let upstream;
let proxy;

test.before(async () => {
  upstream = await startClosingUpstream();
  proxy = new addon.SigV4Proxy({
    allowUnauthenticatedRequests: true,
    '/svc': { target: upstream.url, service: 'execute-api', region: 'us-west-2' },
  });
});
test.after(() => upstream.close());

/** Sends `first` then `second`, until `second` met a dropped connection; returns its answer. */
async function onReusedConnection(first, second) {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const url = `${second.url}-${attempt}`;
    assert.equal((await exchange(proxy, first)).status, 200);
    const answer = await exchange(proxy, { ...second, url });
    const sent = upstream.seen.filter((r) => `/svc${r.url}` === url);
    if (sent.some((r) => r.dropped)) return { answer, sent };
    assert.equal(answer.status, 200, 'a request on a new connection is answered');
  }
  assert.fail(`no request met a reused connection in ${ATTEMPTS} attempts`);
}

for (const [method, body] of [
  ['GET', undefined],
  ['PUT', Buffer.from('{"same":"bytes"}')],
  ['DELETE', undefined],
]) {
  test(`a ${method} whose connection closes unanswered is sent again on a new one`, async () => {
    const { answer, sent } = await onReusedConnection({ url: '/svc/warm' }, { method, url: `/svc/item-${method}`, body });
    assert.equal(answer.status, 200, answer.body.toString());
    assert.equal(answer.body.toString(), `answered ${method} ${sent[0].url}`);
    assert.deepEqual(sent.map((r) => r.dropped), [true, false], 'sent twice: dropped, then answered');
    for (const request of sent) {
      assert.equal(request.signature.valid, true, request.signature.reason);
      assert.ok(request.body.equals(body ?? Buffer.alloc(0)), 'the same bytes both times');
    }
  });
}

test('a POST whose connection closes unanswered gets 502 and is sent only once', async () => {
  const { answer, sent } = await onReusedConnection(
    { url: '/svc/warm' },
    { method: 'POST', url: '/svc/order', body: Buffer.from('{"once":true}') },
  );
  assert.equal(answer.status, 502);
  assert.equal(answer.error.code, 'UPSTREAM_UNREACHABLE');
  assert.match(answer.error.message, /closed the connection before responding/);
  assert.equal(sent.length, 1, 'never sent twice');
});
