// Streaming behind Backstage's production root router (helmet, cors, compression...): a client
// that accepts gzip still gets the upstream's chunks as they come, and the bytes unchanged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { USER_TOKEN, bearer, routeTo, startProductionBackend, startUpstream } from './testing/harness';
import type { TestProxyBackend, VerifyingUpstream } from './testing/harness';

interface Received {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  arrivals: number[];
}

function get(url: string, headers: Record<string, string>): Promise<Received> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers });
    req.once('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      const arrivals: number[] = [];
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        arrivals.push(Date.now() - started);
      });
      res.once('error', reject);
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), arrivals }),
      );
    });
  });
}

describe('behind the production root router', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startUpstream();
    backend = await startProductionBackend({ proxysigv4: { '/demo': routeTo(upstream) } });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  it('streams chunks to a client that accepts gzip, unre-encoded', async () => {
    const got = await get(`${backend.baseUrl}/demo/__chunks?count=4&delayMs=200`, {
      ...bearer(USER_TOKEN),
      'accept-encoding': 'gzip, deflate',
    });
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-encoding'], undefined, 'the proxied body was re-encoded');
    assert.equal(got.body.toString('utf8'), 'chunk-0\nchunk-1\nchunk-2\nchunk-3\n');
    assert.ok(got.arrivals.length >= 3, `body came in ${got.arrivals.length} piece(s): buffered`);
    assert.ok(got.arrivals[got.arrivals.length - 1] - got.arrivals[0] >= 400, `arrivals ${got.arrivals.join(',')}`);
  });

  it('keeps the upstream content-length and headers for a client that accepts gzip', async () => {
    const got = await get(`${backend.baseUrl}/demo/hello`, { ...bearer(USER_TOKEN), 'accept-encoding': 'gzip' });
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-encoding'], undefined);
    assert.equal(Number(got.headers['content-length']), got.body.length);
    assert.equal(got.headers['x-amzn-requestid'], 'test-request-id');
    const echo = JSON.parse(got.body.toString('utf8')) as { signatureValid: boolean };
    assert.equal(echo.signatureValid, true);
  });

  it('still requires credentials', async () => {
    const got = await get(`${backend.baseUrl}/demo/hello`, {});
    assert.equal(got.status, 401);
  });
});
