// Headers: the flat header pairs of the addon become express headers; through a running
// backend, what the client sends beyond the allowlist never reaches the upstream, a route's
// static headers do (signed), and Set-Cookie never comes back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { groupHeaders } from './router';
import { USER_TOKEN, bearer, rawRequest, routeTo, startProxyBackend, startUpstream } from './testing/harness';
import type { TestProxyBackend, UpstreamRecord, VerifyingUpstream } from './testing/harness';

describe('groupHeaders', () => {
  it('groups repeated names (any case) in order and keeps single ones', () => {
    const grouped = groupHeaders(['Vary', 'accept', 'ETag', '"1"', 'vary', 'origin', 'X-A', '']);
    assert.deepEqual([...grouped], [
      ['vary', ['accept', 'origin']],
      ['etag', ['"1"']],
      ['x-a', ['']],
    ]);
  });

  it('ignores a dangling name without a value', () => {
    assert.deepEqual([...groupHeaders(['a', '1', 'b'])], [['a', ['1']]]);
  });
});

const STATIC_KEY = 'static-api-key-value';

/** The header names the upstream's SigV4 Authorization says were signed. */
function signedHeaders(record: UpstreamRecord): string[] {
  const match = /SignedHeaders=([^,\s]+)/.exec(String(record.headers.authorization));
  assert.ok(match, `no SignedHeaders in ${record.headers.authorization}`);
  return match[1].split(';');
}

/** Every value the upstream received under `name` (any case), from its raw header pairs. */
function received(record: UpstreamRecord, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < record.rawHeaders.length; i += 2) {
    if (record.rawHeaders[i].toLowerCase() === name) values.push(record.rawHeaders[i + 1]);
  }
  return values;
}

describe('headers through the backend', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    backend = await startProxyBackend({
      proxysigv4: {
        '/demo': routeTo(upstream),
        '/extra': {
          ...routeTo(upstream, '/extra'),
          allowedHeaders: ['x-extra', 'x-tenant'],
          headers: { 'x-api-key': STATIC_KEY, 'X-Tenant': 'acme' },
        },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  async function send(path: string, headers: Record<string, string>): Promise<UpstreamRecord> {
    upstream.reset();
    const res = await rawRequest(backend.port, `/api/proxy-sigv4${path}`, { headers: { ...bearer(USER_TOKEN), ...headers } });
    assert.equal(res.status, 200, res.body);
    assert.equal(upstream.requests.length, 1);
    return upstream.requests[0];
  }

  it("never forwards the client's Authorization, Cookie or x-amz-date / -security-token / -content-sha256", async () => {
    const record = await send('/demo/h', {
      cookie: 'backstage-session=cookie-value',
      'x-amz-date': '20000101T000000Z',
      'x-amz-security-token': 'client-session-token',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    });
    const raw = record.rawHeaders.join('\n');
    for (const value of [USER_TOKEN, 'Bearer', 'cookie-value', '20000101T000000Z', 'client-session-token', 'UNSIGNED-PAYLOAD']) {
      assert.ok(!raw.includes(value), `'${value}' reached the upstream`);
    }
    assert.deepEqual(received(record, 'cookie'), []);
    assert.deepEqual(received(record, 'x-amz-security-token'), []);
    assert.deepEqual(received(record, 'x-amz-content-sha256'), []);
    assert.equal(received(record, 'authorization').length, 1);
    assert.match(received(record, 'authorization')[0], /^AWS4-HMAC-SHA256 Credential=/);
    assert.equal(record.signature.valid, true, record.signature.reason);
  });

  it('never forwards hop-by-hop headers or a header named in Connection', async () => {
    const hopByHop = {
      'keep-alive': 'timeout=5',
      te: 'trailers',
      trailer: 'x-checksum',
      // Node's client sends Trailer only with a chunked body (here an empty one).
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
    };
    // Control: on this route x-extra and accept-language are forwarded when not named in Connection.
    const control = await send('/extra/h', { 'x-extra': 'kept', 'accept-language': 'en' });
    assert.deepEqual(received(control, 'x-extra'), ['kept']);
    assert.deepEqual(received(control, 'accept-language'), ['en']);

    const record = await send('/extra/h', {
      ...hopByHop,
      connection: 'x-extra, accept-language',
      'x-extra': 'named-in-connection',
      'accept-language': 'en',
    });
    for (const name of [...Object.keys(hopByHop).filter((n) => n !== 'transfer-encoding'), 'x-extra', 'accept-language']) {
      assert.deepEqual(received(record, name), [], `${name} reached the upstream`);
    }
    assert.ok(!record.rawHeaders.join('\n').includes('named-in-connection'));
    assert.ok(!record.rawHeaders.join('\n').includes('cHJveHk6c2VjcmV0'));
    assert.equal(record.signature.valid, true, record.signature.reason);
  });

  it("adds a route's static headers, signed, in place of a client header of the same name", async () => {
    const record = await send('/extra/s', { 'x-tenant': 'client-chosen', 'x-api-key': 'client-key' });
    assert.deepEqual(received(record, 'x-api-key'), [STATIC_KEY]);
    assert.deepEqual(received(record, 'x-tenant'), ['acme']);
    const signed = signedHeaders(record);
    assert.ok(signed.includes('x-api-key'), `SignedHeaders=${signed.join(';')}`);
    assert.ok(signed.includes('x-tenant'), `SignedHeaders=${signed.join(';')}`);
    assert.equal(record.signature.valid, true, record.signature.reason);
  });

  it('forwards the headers of allowedHeaders on that route only', async () => {
    const extra = await send('/extra/a', { 'x-extra': 'yes', 'x-not-listed': 'no' });
    assert.deepEqual(received(extra, 'x-extra'), ['yes']);
    assert.deepEqual(received(extra, 'x-not-listed'), []);
    const plain = await send('/demo/a', { 'x-extra': 'yes' });
    assert.deepEqual(received(plain, 'x-extra'), []);
    assert.deepEqual(received(plain, 'x-api-key'), []);
  });

  it("never passes the upstream's Set-Cookie back to the client", async () => {
    const res = await rawRequest(backend.port, '/api/proxy-sigv4/demo/cookie', { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 200);
    assert.equal(upstream.requests.at(-1)?.url, '/base/cookie');
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal(res.headers['x-upstream'], 'yes', 'other upstream headers pass');
  });
});
