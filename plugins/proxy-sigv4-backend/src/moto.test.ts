// Real AWS protocols through a running backend, against moto with signature checking on (it
// answers 403 to a wrongly signed request): S3 buffered and streamed uploads, ranges, keys with
// special characters, and DynamoDB's JSON protocol.
//
// A file of its own on purpose: the addon reads the default credential chain once per process,
// on the first proxied request, and here that chain must hold moto's key, not the harness's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import fs from 'node:fs';
import type { JsonObject } from '@backstage/types';
import YAML from 'yaml';
import { signRequestSync } from 'proxy-sigv4-native';
import { bearer, rawRequest, readText, REPO_ROOT, startProxyBackend, USER_TOKEN } from './testing/harness';
import type { TestProxyBackend } from './testing/harness';

interface EnforcingMoto {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const { motoAvailable } = require(path.join(REPO_ROOT, '__test__', 'support', 'moto.js')) as {
  motoAvailable(): boolean;
};
const { startEnforcingMoto } = require(path.join(REPO_ROOT, '__test__', 'support', 'moto-enforcing.js')) as {
  startEnforcingMoto(): Promise<EnforcingMoto>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const MiB = 1024 * 1024;
const STREAMED_SIZE = 200 * MiB;
const RSS_GROWTH_LIMIT = 64 * MiB;

/**
 * The README's upload route, as written there (S3's 5 GiB limit, no timeout of its own), with
 * moto as the target.
 */
function readmeUploadRoute(target: string): JsonObject {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const snippet = /```yaml\n(\s*'\/uploads':[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(snippet, "README.md has no '/uploads' example");
  const route = (YAML.parse(snippet) as Record<string, JsonObject>)['/uploads'];
  assert.match(String(route.target), /\.s3\./);
  return { ...route, target, service: 's3', region: 'us-east-1' };
}

const skip = motoAvailable() ? false : 'moto is not installed: run scripts/setup-python.sh (or scripts/test.sh)';

describe('AWS protocols against moto, which checks signatures', { timeout: 180_000, skip }, () => {
  let moto: EnforcingMoto;
  let backend: TestProxyBackend;

  before(async () => {
    moto = await startEnforcingMoto();
    // Before the first proxied request: that is when the addon reads the default chain.
    process.env.AWS_ACCESS_KEY_ID = moto.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = moto.secretAccessKey;
    const s3 = { target: moto.url, service: 's3', region: 'us-east-1' };
    backend = await startProxyBackend({
      proxysigv4: {
        '/s3': { ...s3, allowedHeaders: ['x-amz-meta-name'] },
        // 200 MiB into moto takes 7-30 s on two shared cores (Node 24 is the slowest): the
        // route's default 30 s timeout counts from the last chunk sent, not from the first.
        '/s3-stream': readmeUploadRoute(moto.url),
        endpoints: { '/ddb': { target: moto.url, service: 'dynamodb', region: 'us-east-1' } },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await moto?.stop();
  });

  /** A request through the proxy as a Backstage user. */
  function proxied(route: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${backend.baseUrl}${route}`, { ...init, headers: { ...bearer(USER_TOKEN), ...init.headers } });
  }

  async function createBucket(name: string): Promise<void> {
    const res = await proxied(`/s3/${name}`, { method: 'PUT' });
    assert.equal(res.status, 200, await res.text());
  }

  it('control: moto refuses a request signed with a wrong secret, and takes the right one', async () => {
    const sign = (secretAccessKey: string) =>
      signRequestSync({
        method: 'GET',
        url: `${moto.url}/`,
        service: 's3',
        region: 'us-east-1',
        credentials: { accessKeyId: moto.accessKeyId, secretAccessKey },
      });
    const port = Number(new URL(moto.url).port);
    const wrong = await rawRequest(port, '/', { headers: sign('not-the-secret-key') });
    assert.equal(wrong.status, 403, wrong.body);
    assert.match(wrong.body, /SignatureDoesNotMatch/);
    const right = await rawRequest(port, '/', { headers: sign(moto.secretAccessKey) });
    assert.equal(right.status, 200, right.body);
  });

  it('S3: CreateBucket, PutObject buffered, GetObject returns the same bytes', async () => {
    await createBucket('buffered');
    const object = crypto.randomBytes(300 * 1024); // above the addon's 64 KiB "read whole" size
    const put = await proxied('/s3/buffered/data.bin', {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: object,
    });
    assert.equal(put.status, 200, await put.text());
    const got = await proxied('/s3/buffered/data.bin');
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(object), 'GetObject returned other bytes');
  });

  it('S3: GetObject with a Range answers 206 with exactly those bytes', async () => {
    await createBucket('ranges');
    const object = crypto.randomBytes(1024);
    const put = await proxied('/s3/ranges/r.bin', { method: 'PUT', body: object });
    assert.equal(put.status, 200, await put.text());
    const got = await proxied('/s3/ranges/r.bin', { headers: { range: 'bytes=10-19' } });
    assert.equal(got.status, 206);
    assert.equal(got.headers.get('content-range'), `bytes 10-19/${object.length}`);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), object.subarray(10, 20));
  });

  it(`S3: streams a ${STREAMED_SIZE / MiB} MiB PutObject (UNSIGNED-PAYLOAD) and GetObject without holding either`, async () => {
    await createBucket('streamed');
    const sampler = startRssSampler();
    try {
      const sent = crypto.createHash('sha256');
      const put = await upload(`${backend.baseUrl}/s3-stream/streamed/big.bin`, STREAMED_SIZE, sent);
      assert.equal(put.status, 200, put.body);
      const uploadGrowth = sampler.growth();
      assert.ok(uploadGrowth < RSS_GROWTH_LIMIT, `RSS grew ${mib(uploadGrowth)} MiB during the upload`);

      const got = await downloadHash(`${backend.baseUrl}/s3-stream/streamed/big.bin`);
      assert.equal(got.status, 200);
      assert.equal(got.length, STREAMED_SIZE);
      assert.equal(got.sha256, sent.digest('hex'), 'GetObject returned other bytes than were put');
      const growth = sampler.growth();
      assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew ${mib(growth)} MiB during the download`);
    } finally {
      sampler.stop();
    }
  });

  it('S3: ListObjectsV2 lists keys with spaces, unicode, +, = and an encoded slash as stored', async () => {
    await createBucket('keys');
    // [key, how it is written in the request path]: one percent-encoding, as the SDKs send it.
    const keys: Array<[string, string]> = [
      ['with space.txt', 'with%20space.txt'],
      ['café é.txt', 'caf%C3%A9%20%C3%A9.txt'],
      ['日本/報告.txt', '%E6%97%A5%E6%9C%AC/%E5%A0%B1%E5%91%8A.txt'],
      ['a+b=c.txt', 'a%2Bb%3Dc.txt'],
      ['raw+plus=eq', 'raw+plus=eq'],
      ['a/b', 'a%2Fb'],
    ];
    for (const [key, encoded] of keys) {
      const put = await proxied(`/s3/keys/${encoded}`, { method: 'PUT', body: key });
      assert.equal(put.status, 200, `${key}: ${await put.text()}`);
    }
    const list = await proxied('/s3/keys?list-type=2');
    assert.equal(list.status, 200);
    const listed = [...(await list.text()).matchAll(/<Key>(.*?)<\/Key>/g)].map((m) => xmlText(m[1]));
    assert.deepEqual(listed.sort(), keys.map(([key]) => key).sort());
    for (const [key, encoded] of keys) {
      const got = await proxied(`/s3/keys/${encoded}`);
      assert.equal(await got.text(), key, `GetObject of ${key}`);
    }
  });

  /** PUT `key` (bucket/key) with `x-amz-meta-name` as the bytes `value` through the backend, then HEAD and GET it. */
  async function metadataRoundTrip(key: string, value: Buffer): Promise<void> {
    const url = `/api/proxy-sigv4/s3/${key}`;
    // Node's client writes each character as one byte: the latin1 spelling sends exactly `value`.
    const headers = { ...bearer(USER_TOKEN), 'x-amz-meta-name': value.toString('latin1') };
    const put = await rawRequest(backend.port, url, { method: 'PUT', headers, body: key });
    assert.equal(put.status, 200, `${key}: ${put.body}`);
    for (const method of ['HEAD', 'GET']) {
      const got = await rawRequest(backend.port, url, { method, headers: bearer(USER_TOKEN) });
      assert.equal(got.status, 200, got.body);
      const returned = Buffer.from(String(got.headers['x-amz-meta-name']), 'latin1');
      assert.deepEqual(returned, value, `${method} ${key}: metadata bytes changed`);
    }
  }

  it('S3: x-amz-meta-* of any bytes (ASCII, Latin-1, UTF-8 café and CJK) is signed, stored and returned byte for byte', async () => {
    await createBucket('metadata');
    await metadataRoundTrip('metadata/ascii', Buffer.from('report 2024 (final)'));
    await metadataRoundTrip('metadata/latin1', Buffer.from('café', 'latin1'));
    await metadataRoundTrip('metadata/utf8', Buffer.from('café'));
    // Not '報' (E5 A0 B1): moto re-signs with botocore, which folds the bytes 85 and A0 read as
    // Latin-1 as Python whitespace; S3 trims only spaces (aws-sigv4's rule, which the Rust header
    // property test checks those bytes against).
    await metadataRoundTrip('metadata/cjk', Buffer.from('日本語の資料'));
  });

  it('DynamoDB (JSON protocol): CreateTable, PutItem, GetItem through an endpoints route', async () => {
    const call = async (operation: string, payload: JsonObject): Promise<JsonObject> => {
      const res = await proxied('/ddb', {
        method: 'POST',
        headers: { 'x-amz-target': `DynamoDB_20120810.${operation}`, 'content-type': 'application/x-amz-json-1.0' },
        body: JSON.stringify(payload),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `${operation}: ${text}`);
      return JSON.parse(text) as JsonObject;
    };
    await call('CreateTable', {
      TableName: 'things',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    const item = { id: { S: 'thing-1' }, name: { S: 'café 日本' }, count: { N: '42' } };
    await call('PutItem', { TableName: 'things', Item: item });
    const got = await call('GetItem', { TableName: 'things', Key: { id: { S: 'thing-1' } } });
    assert.deepEqual(got.Item, item);
  });
});

/**
 * A full garbage collection. V8 frees the buffers of finished socket reads only when it
 * collects, and lets tens of MiB of them pile up first (observed here: 28-53 MiB over 200 MiB of
 * traffic, whatever the proxy does; V8 starts a collection for external memory at about 64 MiB
 * of growth). Collecting before each sample makes the peak measure memory that is held, not
 * garbage awaiting collection: a body held in memory is still held after a collection.
 */
const collectGarbage = ((): (() => void) => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

/** Samples this process's RSS every 100 ms; growth is the peak over the RSS at the start. */
function startRssSampler(): { growth(): number; stop(): void } {
  const sample = () => {
    collectGarbage();
    return process.memoryUsage().rss;
  };
  const baseline = sample();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, sample());
  }, 100);
  return {
    growth: () => Math.max(peak, sample()) - baseline,
    stop: () => clearInterval(timer),
  };
}

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

/** PUTs `size` generated bytes with a content-length, never holding more than a few chunks. */
function upload(url: string, size: number, hash: crypto.Hash): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'PUT',
      headers: { ...bearer(USER_TOKEN), 'content-type': 'application/octet-stream', 'content-length': size },
    });
    req.setTimeout(120_000, () => req.destroy(new Error('no answer to the upload within 120 s')));
    req.once('error', reject);
    req.once('response', (res) => readText(res).then(resolve, reject));
    writeGenerated(req, size, hash).then(() => req.end(), (error: Error) => req.destroy(error));
  });
}

const CHUNK_SIZE = 256 * 1024;
const POOL_SIZE = 4;

/**
 * Writes `size` pseudo-random bytes (each chunk numbered, so a misplaced chunk changes the hash)
 * to `out`, hashing them as they go. A small pool of buffers is reused, each only once its
 * previous write completed, so the test itself holds almost nothing.
 */
async function writeGenerated(out: Writable, size: number, hash: crypto.Hash): Promise<void> {
  const base = crypto.randomBytes(CHUNK_SIZE);
  const free = Array.from({ length: POOL_SIZE }, () => Buffer.allocUnsafe(CHUNK_SIZE));
  let waiting: (() => void) | undefined;
  for (let offset = 0, index = 0; offset < size; offset += CHUNK_SIZE, index++) {
    while (free.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
    const buffer = free.pop() as Buffer<ArrayBuffer>;
    base.copy(buffer);
    buffer.writeUInt32BE(index, 0);
    const chunk = buffer.subarray(0, Math.min(CHUNK_SIZE, size - offset));
    hash.update(chunk);
    const flowing = out.write(chunk, () => {
      free.push(buffer);
      waiting?.();
    });
    if (!flowing) await once(out, 'drain');
  }
}

/** GETs `url` and hashes the body as it streams in. */
function downloadHash(url: string): Promise<{ status: number; length: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: bearer(USER_TOKEN) });
    req.setTimeout(120_000, () => req.destroy(new Error('no answer to the download within 120 s')));
    req.once('error', reject);
    req.once('response', (res) => {
      const hash = crypto.createHash('sha256');
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, length, sha256: hash.digest('hex') }));
    });
  });
}

/** The text of an XML element's content (S3 escapes &, <, >, ' and "). */
function xmlText(escaped: string): string {
  return escaped.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) =>
    ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[name] as string,
  );
}
