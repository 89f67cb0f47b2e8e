// Forwarding: what the upstream receives (signature, no Backstage token, exact body bytes) and
// what the client gets back (status, headers, a streamed body with backpressure). Failures of
// the upstream or the client are in failures.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ACCESS_KEY_ID,
  SERVICE_TOKEN,
  USER_TOKEN,
  bearer,
  errorBody,
  routeTo,
  startProxyBackend,
  startUpstream,
} from './testing/harness';
import type { TestProxyBackend, UpstreamRecord, VerifyingUpstream } from './testing/harness';

const MiB = 1024 * 1024;

function only(upstream: VerifyingUpstream): UpstreamRecord {
  assert.equal(upstream.requests.length, 1, 'the upstream should have received exactly one request');
  return upstream.requests[0];
}

describe('forwarding', { timeout: 120_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    backend = await startProxyBackend({ proxysigv4: { '/demo': routeTo(upstream) } });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  it('never forwards the Backstage token and signs with the AWS credentials', async () => {
    for (const token of [USER_TOKEN, SERVICE_TOKEN]) {
      upstream.reset();
      const res = await fetch(`${backend.baseUrl}/demo/secret-check?a=1&b=2`, {
        headers: { ...bearer(token), cookie: 'backstage-session=abc', 'x-custom': 'kept?' },
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const record = only(upstream);
      const raw = record.rawHeaders.join('\n');
      assert.ok(!raw.includes(token), 'the Backstage token reached the upstream');
      assert.ok(!raw.includes('Bearer'), 'a Bearer authorization reached the upstream');
      assert.match(String(record.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKID/);
      assert.equal(record.signature.valid, true, record.signature.reason);
      assert.equal(record.signature.accessKeyId, ACCESS_KEY_ID);
      assert.equal(record.signature.service, 'execute-api');
      assert.equal(record.signature.region, 'us-east-1');
      assert.equal(record.url, '/base/secret-check?a=1&b=2');
    }
  });

  it('forwards a 1 MiB binary POST byte for byte', async () => {
    upstream.reset();
    const payload = crypto.randomBytes(MiB);
    const res = await fetch(`${backend.baseUrl}/demo/upload`, {
      method: 'POST',
      headers: { ...bearer(USER_TOKEN), 'content-type': 'application/octet-stream' },
      body: payload,
    });
    assert.equal(res.status, 200);
    const echo = (await res.json()) as { bodyLength: number; bodySha256: string; signatureValid: boolean };
    const record = only(upstream);
    assert.equal(record.method, 'POST');
    assert.equal(record.body.length, payload.length);
    assert.ok(record.body.equals(payload), 'the body arrived changed');
    assert.equal(echo.bodySha256, crypto.createHash('sha256').update(payload).digest('hex'));
    assert.equal(record.signature.valid, true, record.signature.reason);
  });

  for (const [contentType, body] of [
    ['application/json', '{ "spaced" :  [1, 2],\n "unicode": "\u00e9" }'],
    ['text/plain; charset=utf-8', 'plain text, not parsed'],
    ['application/x-www-form-urlencoded', 'a=1&b=%20x'],
    ['application/xml', '<a><b>1</b></a>'],
  ] as const) {
    it(`forwards a ${contentType.split(';')[0]} body unparsed, signature valid`, async () => {
      upstream.reset();
      const res = await fetch(`${backend.baseUrl}/demo/typed`, {
        method: 'PUT',
        headers: { ...bearer(USER_TOKEN), 'content-type': contentType },
        body,
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const record = only(upstream);
      assert.equal(record.body.toString('utf8'), body);
      assert.equal(record.headers['content-type'], contentType);
      assert.equal(record.signature.valid, true, record.signature.reason);
    });
  }

  it('forwards a chunked request body (no content-length) byte for byte', async () => {
    upstream.reset();
    const parts = [crypto.randomBytes(70_000), crypto.randomBytes(1), crypto.randomBytes(200_000)];
    const { status } = await new Promise<{ status: number }>((resolve, reject) => {
      const req = http.request(`${backend.baseUrl}/demo/chunked`, {
        method: 'POST',
        headers: { ...bearer(USER_TOKEN), 'content-type': 'application/octet-stream' },
      });
      req.once('error', reject);
      req.once('response', (res) => {
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
      });
      for (const part of parts) req.write(part);
      req.end();
    });
    assert.equal(status, 200);
    const record = only(upstream);
    assert.ok(record.body.equals(Buffer.concat(parts)));
    assert.equal(record.signature.valid, true, record.signature.reason);
  });

  it("passes the upstream's status and headers back, without set-cookie", async () => {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/demo/__status/418`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 418);
    assert.equal(res.headers.get('etag'), '"v1"');
    assert.equal(res.headers.get('location'), '/somewhere');
    assert.equal(res.headers.get('x-amzn-requestid'), 'test-request-id');
    assert.equal(res.headers.get('x-upstream'), 'yes');
    assert.equal(res.headers.get('set-cookie'), null);
    const echo = (await res.json()) as { url: string };
    assert.equal(echo.url, '/base/__status/418');
  });

  it('answers a bodiless 204 and a HEAD', async () => {
    const noContent = await fetch(`${backend.baseUrl}/demo/__status/204`, { headers: bearer(USER_TOKEN) });
    assert.equal(noContent.status, 204);
    assert.equal((await noContent.arrayBuffer()).byteLength, 0);
    upstream.reset();
    const head = await fetch(`${backend.baseUrl}/demo/head`, { method: 'HEAD', headers: bearer(USER_TOKEN) });
    assert.equal(head.status, 200);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    assert.equal(only(upstream).method, 'HEAD');
  });

  it('streams the response: chunks arrive as the upstream sends them', async () => {
    const arrivals: number[] = [];
    const started = Date.now();
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${backend.baseUrl}/demo/__chunks?count=5&delayMs=150`, { headers: bearer(USER_TOKEN) });
      req.once('error', reject);
      req.once('response', (res) => {
        let received = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          arrivals.push(Date.now() - started);
          received += chunk;
        });
        res.once('end', () => resolve(received));
        res.once('error', reject);
      });
    });
    assert.equal(text, 'chunk-0\nchunk-1\nchunk-2\nchunk-3\nchunk-4\n');
    assert.ok(arrivals.length >= 3, `expected the body in several pieces, got ${arrivals.length}`);
    // Buffered, everything would arrive at once after ~600 ms.
    assert.ok(arrivals[arrivals.length - 1] - arrivals[0] >= 300, `arrivals ${arrivals.join(',')}`);
  });

  it('holds a slow reader back (backpressure) and cuts the response if the upstream fails mid-body', async () => {
    // A separate upstream: it is closed (its sockets destroyed) in the middle of the body.
    const failing = await startUpstream();
    const own = await startProxyBackend({ proxysigv4: { '/fail': routeTo(failing) } });
    try {
      const size = 64 * MiB;
      const outcome = await new Promise<{ received: number; ended: boolean; errored: boolean }>((resolve, reject) => {
        const req = http.get(`${own.baseUrl}/fail/__bytes?size=${size}`, { headers: bearer(USER_TOKEN) });
        let received = 0;
        let settled = false;
        const settle = (result: { ended: boolean; errored: boolean }) => {
          if (settled) return;
          settled = true;
          resolve({ received, ...result });
        };
        req.once('error', () => settle({ ended: false, errored: true }));
        req.once('response', (res) => {
          assert.equal(res.statusCode, 200);
          res.once('data', async (first: Buffer) => {
            received += first.length;
            res.pause();
            try {
              await sleep(500);
              const record = failing.requests[0];
              assert.ok(record, 'the upstream got the request');
              assert.ok(
                (record.bytesWritten ?? 0) < 32 * MiB,
                `upstream wrote ${record.bytesWritten} bytes to a paused reader: no backpressure`,
              );
              await failing.close();
              res.on('data', (chunk: Buffer) => {
                received += chunk.length;
              });
              res.resume();
            } catch (error) {
              reject(error);
            }
          });
          res.once('end', () => settle({ ended: true, errored: false }));
          res.once('aborted', () => settle({ ended: false, errored: true }));
          res.once('error', () => settle({ ended: false, errored: true }));
          res.once('close', () => settle({ ended: res.complete, errored: !res.complete }));
        });
        setTimeout(() => reject(new Error('the truncated response neither ended nor failed within 15 s')), 15_000).unref();
      });
      assert.ok(outcome.received < size, 'the whole body arrived although the upstream failed');
      assert.equal(outcome.ended, false, 'a truncated body was ended cleanly');
      assert.equal(outcome.errored, true);
    } finally {
      await own.stop();
      await failing.close();
    }
  });

  it('answers 413 for a declared body over 10 MiB without contacting the upstream', async () => {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/demo/too-big`, {
      method: 'POST',
      headers: { ...bearer(USER_TOKEN), 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(10 * MiB + 1),
    });
    assert.equal(res.status, 413);
    const body = await errorBody(res);
    assert.equal(body.error.name, 'PayloadTooLargeError');
    assert.equal(body.response.statusCode, 413);
    assert.equal(upstream.requests.length, 0);
  });

  it('answers 413 for a chunked body that grows over 10 MiB', async () => {
    upstream.reset();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${backend.baseUrl}/demo/too-big-chunked`, {
        method: 'POST',
        headers: { ...bearer(USER_TOKEN), 'content-type': 'application/octet-stream' },
      });
      req.once('error', reject);
      req.once('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      const block = Buffer.alloc(MiB, 7);
      let written = 0;
      const write = () => {
        while (written < 11) {
          written++;
          if (!req.write(block)) return req.once('drain', write);
        }
        req.end();
      };
      write();
    });
    assert.equal(status, 413);
    assert.equal(upstream.requests.length, 0);
  });

  it('accepts a 9 MiB body (under the limit) byte for byte', async () => {
    upstream.reset();
    const payload = crypto.randomBytes(9 * MiB);
    const res = await fetch(`${backend.baseUrl}/demo/big-ok`, {
      method: 'POST',
      headers: { ...bearer(USER_TOKEN), 'content-type': 'application/octet-stream' },
      body: payload,
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.ok(only(upstream).body.equals(payload));
  });
});
