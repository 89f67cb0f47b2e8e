// Headers: the flat header pairs of the addon become express headers; through a running
// backend, what the client sends beyond the allowlist never reaches the upstream, a route's
// static headers do (signed), and Set-Cookie never comes back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
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

/** One answer read off a raw socket: status, header lines as bytes, and the body as text. */
interface SocketAnswer {
  status: number;
  headers: Array<[string, Buffer]>;
  body: string;
}

/**
 * Sends a GET whose header values are exactly `headers`' bytes (a net socket, no client
 * encoding in between) and reads the answer's raw bytes until the server closes.
 */
function socketRequest(port: number, path: string, headers: Array<[string, Buffer]>): Promise<SocketAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer to ${path} within 15 s`)));
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const lines = all.subarray(0, end).toString('latin1').split('\r\n');
      const parsed: Array<[string, Buffer]> = lines.slice(1).map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), Buffer.from(line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ''), 'latin1')];
      });
      resolve({ status: Number(lines[0].split(' ')[1]), headers: parsed, body: all.subarray(end + 4).toString('utf8') });
    });
    const head = [`GET ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, 'connection: close', `authorization: Bearer ${USER_TOKEN}`];
    const parts: Buffer[] = [Buffer.from(head.join('\r\n') + '\r\n', 'latin1')];
    for (const [name, value] of headers) parts.push(Buffer.from(`${name}: `, 'latin1'), value, Buffer.from('\r\n', 'latin1'));
    // write, not end: Node's server abandons a request whose client half-closes.
    socket.write(Buffer.concat([...parts, Buffer.from('\r\n', 'latin1')]));
  });
}

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 1-16 bytes: mostly 0x80-0xFF, some visible ASCII. No spaces, which parsers trim at the ends. */
function highBytes(next: () => number): Buffer {
  const length = 1 + Math.floor(next() * 16);
  return Buffer.from(Array.from({ length }, () => (next() < 0.8 ? 0x80 + Math.floor(next() * 0x80) : 0x21 + Math.floor(next() * 0x5e))));
}

/** 1-8 characters of UTF-8 text: ASCII, Latin and other alphabets, CJK, emoji. */
function utf8Text(next: () => number): Buffer {
  const ranges: Array<[number, number]> = [[0x21, 0x7e], [0xa1, 0x167f], [0x4e00, 0x9fff], [0x1f600, 0x1f64f]];
  const length = 1 + Math.floor(next() * 8);
  const text = Array.from({ length }, () => {
    const [low, high] = ranges[Math.floor(next() * ranges.length)];
    return String.fromCodePoint(low + Math.floor(next() * (high - low + 1)));
  }).join('');
  return Buffer.from(text);
}

describe('header bytes through the backend', { timeout: 120_000 }, () => {
  const CASES = 200;
  let upstream: VerifyingUpstream;
  let replying: http.Server;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    // Answers with x-amz-meta-name set to the bytes given in hex in the query.
    replying = http.createServer((req, res) => {
      const hex = new URL(req.url ?? '/', 'http://x').searchParams.get('hex') ?? '';
      res.setHeader('x-amz-meta-name', Buffer.from(hex, 'hex').toString('latin1'));
      res.end(Buffer.from('ok')); // a string body would make Node write the head as UTF-8
    });
    await new Promise<void>((resolve) => replying.listen(0, '127.0.0.1', resolve));
    const replyingPort = (replying.address() as net.AddressInfo).port;
    backend = await startProxyBackend({
      proxysigv4: {
        '/bytes': { ...routeTo(upstream, '/bytes'), allowedHeaders: ['x-amz-meta-name', 'x-team'] },
        '/reply': { target: `http://127.0.0.1:${replyingPort}`, service: 'execute-api', region: 'us-east-1' },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    await new Promise((resolve) => replying?.close(resolve));
  });

  it(`${CASES} generated cases: every byte arrives unchanged, x-amz-meta-* signed as AWS reads it and verified`, async () => {
    const seed = Number(process.env.HEADER_BYTES_SEED ?? 15_009);
    const next = random(seed);
    const deadline = Date.now() + 90_000;
    for (let i = 0; i < CASES && Date.now() < deadline; i++) {
      const team = highBytes(next);
      const meta = next() < 0.5 ? utf8Text(next) : highBytes(next);
      const what = `seed ${seed} case ${i}: x-team ${team.toString('hex')}, x-amz-meta-name ${meta.toString('hex')}`;
      upstream.reset();
      const answer = await socketRequest(backend.port, '/api/proxy-sigv4/bytes/h', [['x-team', team], ['x-amz-meta-name', meta]]);
      assert.equal(answer.status, 200, `${what}: ${answer.body}`);
      const [record] = upstream.requests;
      assert.equal(record.signature.valid, true, `${what}: ${record.signature.reason}`);
      assert.deepEqual(received(record, 'x-team').map((v) => Buffer.from(v, 'latin1')), [team], what);
      assert.deepEqual(received(record, 'x-amz-meta-name').map((v) => Buffer.from(v, 'latin1')), [meta], what);
      assert.ok(signedHeaders(record).includes('x-amz-meta-name'), what);
      assert.ok(!signedHeaders(record).includes('x-team'), `${what}: x-team is forwarded unsigned`);
    }
  });

  it(`${CASES} generated response header values come back byte for byte`, async () => {
    const next = random(15_010);
    for (let i = 0; i < CASES; i++) {
      const bytes = highBytes(next);
      const answer = await socketRequest(backend.port, `/api/proxy-sigv4/reply/r?hex=${bytes.toString('hex')}`, []);
      assert.equal(answer.status, 200, answer.body);
      const values = answer.headers.filter(([name]) => name === 'x-amz-meta-name').map(([, value]) => value);
      assert.deepEqual(values, [bytes], `case ${i}: ${bytes.toString('hex')}`);
    }
  });
});
