// Streamed uploads: a route with `unsignedPayload` hands request bodies to the addon as they
// arrive (signed UNSIGNED-PAYLOAD), needs their length up front (411 without it, 413 above the
// limit, before a byte is read), and still answers when the addon refuses a body it never read.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { JsonObject } from '@backstage/types';
import { bearer, readText, routeTo, startProxyBackend, startUpstream, USER_TOKEN, waitFor } from './testing/harness';
import type { LogLine, TestProxyBackend, VerifyingUpstream } from './testing/harness';

const MiB = 1024 * 1024;
const LIMIT = 8 * MiB;

interface Answer {
  status: number;
  body: string;
}

/**
 * PUTs `body` in 64 KiB writes to `url` (its path sent as written, not normalised), with a
 * content-length unless `chunked`, and reads the answer. Rejects (e.g. ECONNRESET) when the
 * connection is cut before the answer could be read.
 */
function put(url: string, body: Buffer, options: { chunked?: boolean; agent?: http.Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...bearer(USER_TOKEN), 'content-type': 'application/octet-stream' };
    const { hostname, port } = new URL(url);
    const req = http.request({
      host: hostname,
      port,
      path: url.slice(url.indexOf('/', 'http://'.length)),
      method: 'PUT',
      headers: options.chunked ? headers : { ...headers, 'content-length': body.length },
      agent: options.agent ?? false,
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.once('error', reject);
    req.once('response', (res) => readText(res).then(resolve, reject));
    let offset = 0;
    const pump = () => {
      while (offset < body.length) {
        const chunk = body.subarray(offset, offset + 64 * 1024);
        offset += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** PUTs `chunks` pieces of 64 KiB to `url`, `gapMs` apart, and reads the answer. */
function putSlowly(url: string, chunks: number, gapMs: number): Promise<Answer & { sentAt: number }> {
  return new Promise((resolve, reject) => {
    const piece = crypto.randomBytes(64 * 1024);
    const req = http.request(url, {
      method: 'PUT',
      headers: { ...bearer(USER_TOKEN), 'content-length': piece.length * chunks },
      agent: false,
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.once('error', reject);
    let sentAt = 0;
    req.once('response', (res) => readText(res).then((answer) => resolve({ ...answer, sentAt }), reject));
    let sent = 0;
    const next = () => {
      req.write(piece);
      sent += 1;
      if (sent < chunks) return void setTimeout(next, gapMs);
      sentAt = Date.now();
      req.end();
    };
    next();
  });
}

function errorCode(answer: Answer): string | undefined {
  return (JSON.parse(answer.body) as { error: { code?: string } }).error.code;
}

describe('streamed uploads (unsignedPayload routes)', { timeout: 60_000 }, () => {
  const logs: LogLine[] = [];
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;
  // Takes a request body whole, then never answers.
  let silent: http.Server;

  before(async () => {
    upstream = await startUpstream();
    silent = http.createServer((req) => req.resume());
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const streaming = { ...routeTo(upstream), service: 's3', unsignedPayload: true, maxRequestBodyBytes: LIMIT };
    backend = await startProxyBackend(
      {
        proxysigv4: {
          '/up': streaming,
          '/read-only': { ...streaming, allowedMethods: ['GET'] },
          '/one-second': { ...streaming, timeout: '1s' },
          '/silent': { ...streaming, target: silentUrl, timeout: '1s' },
        },
      },
      { logs },
    );
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    silent?.closeAllConnections();
    silent?.close();
  });

  it("counts the route's timeout from the last chunk sent, so a slow upload is not cut", async () => {
    upstream.reset();
    // 8 chunks 300 ms apart: 2.1 s in all against a 1 s timeout, never 1 s without a chunk.
    const answer = await putSlowly(`${backend.baseUrl}/one-second/bucket/slow`, 8, 300);
    assert.equal(answer.status, 200, answer.body);
    assert.equal(upstream.requests[0].body.length, 8 * 64 * 1024);
    assert.equal(upstream.requests[0].signature.valid, true, upstream.requests[0].signature.reason);
  });

  it('answers 504 when the upstream is silent for the timeout after the last chunk', async () => {
    const answer = await putSlowly(`${backend.baseUrl}/silent/bucket/slow`, 4, 300);
    const waited = Date.now() - answer.sentAt;
    assert.equal(answer.status, 504, answer.body);
    assert.equal(errorCode(answer), 'UPSTREAM_TIMEOUT');
    assert.ok(waited >= 900 && waited < 3_000, `answered ${waited} ms after the last chunk`);
  });

  it('streams the body to the upstream byte for byte, signed UNSIGNED-PAYLOAD, and audits it', async () => {
    upstream.reset();
    const body = crypto.randomBytes(3 * MiB);
    const answer = await put(`${backend.baseUrl}/up/bucket/key%20one`, body);
    assert.equal(answer.status, 200, answer.body);
    const [seen] = upstream.requests;
    assert.equal(seen.url, '/base/bucket/key%20one');
    assert.equal(seen.signature.valid, true, seen.signature.reason);
    assert.equal(seen.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
    assert.equal(seen.headers['content-length'], String(body.length));
    assert.ok(seen.body.equals(body), 'the upstream received other bytes');
    const succeeded = () =>
      logs
        .filter((line) => line.fields.isAuditEvent === true && !(line.meta instanceof Error))
        .map((line) => ({ ...line.fields, ...(line.meta as JsonObject) }))
        .find((event) => event.status === 'succeeded');
    await waitFor('the audit event of the upload', () => succeeded() !== undefined);
    assert.deepEqual((succeeded()?.meta as JsonObject).status, 200);
  });

  it('forwards a request without a body (GET) without asking for a length', async () => {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/up/bucket/key`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0].signature.valid, true, upstream.requests[0].signature.reason);
  });

  it('answers 411 LENGTH_REQUIRED to a chunked body, sending nothing upstream', async () => {
    upstream.reset();
    const answer = await put(`${backend.baseUrl}/up/bucket/key`, crypto.randomBytes(MiB), { chunked: true });
    assert.equal(answer.status, 411, answer.body);
    assert.equal(errorCode(answer), 'LENGTH_REQUIRED');
    assert.equal((JSON.parse(answer.body) as { response: { statusCode: number } }).response.statusCode, 411);
    assert.equal(upstream.requests.length, 0);
  });

  it('answers 413 from the content-length above maxRequestBodyBytes, sending nothing upstream', async () => {
    upstream.reset();
    const answer = await put(`${backend.baseUrl}/up/bucket/key`, Buffer.alloc(LIMIT + 1));
    assert.equal(answer.status, 413, answer.body);
    assert.equal(errorCode(answer), 'PAYLOAD_TOO_LARGE');
    assert.equal(upstream.requests.length, 0);
  });

  it('answers a body the addon refuses unread (405, 400), and drains it so the connection goes on', async () => {
    upstream.reset();
    // One keep-alive connection: each request can only go out once the previous body is sent.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = Buffer.alloc(4 * MiB);
      const refused = await put(`${backend.baseUrl}/read-only/bucket/key`, body, { agent });
      assert.equal(refused.status, 405, refused.body);
      const badPath = await put(`${backend.baseUrl}/up/%2e%2e/key`, body, { agent });
      assert.equal(badPath.status, 400, badPath.body);
      assert.equal(errorCode(badPath), 'BAD_PATH');
      assert.equal(upstream.requests.length, 0);
      const next = await put(`${backend.baseUrl}/up/bucket/after`, Buffer.from('next'), { agent });
      assert.equal(next.status, 200, next.body);
      assert.deepEqual(
        upstream.requests.map((r) => [r.url, r.body.toString()]),
        [['/base/bucket/after', 'next']],
      );
    } finally {
      agent.destroy();
    }
  });
});
