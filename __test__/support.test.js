'use strict';
// Proves the test oracle itself: requests signed by other SigV4 implementations (aws4, botocore)
// pass, anything tampered fails, and the streaming / connection counters mean what they say.
// Run: node --test --test-concurrency=1 __test__/support.test.js

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const aws4 = require('aws4');
const { startVerifyingUpstream } = require('./support/verifying-upstream');
const { patternByte } = require('./support/upstream-routes');
const { startMoto, startStsRecorder, motoAvailable, REPO_ROOT } = require('./support/moto');

const KEY = { accessKeyId: 'AKIDSUPPORTTEST', secretAccessKey: 'support-test-secret' };
const TEMP = { accessKeyId: 'ASIASUPPORTTEST', secretAccessKey: 'temp-secret', sessionToken: 'token/with+odd=chars' };
const REQUEST_TIMEOUT_MS = 15_000;

/** One HTTP exchange with the server under test; resolves with status, headers, body and timing. */
function send(port, { method = 'GET', path: p = '/', headers = {}, body, agent = false, onData } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => {
        chunks.push(c);
        if (onData) onData(c);
      });
      res.once('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error('request timed out')));
    req.once('error', reject);
    req.end(body);
  });
}

/** Headers for a request signed by the aws4 package (a signer independent of smithy's). */
function aws4Headers(port, { method = 'GET', path: p = '/', headers = {}, body, service = 'execute-api', region = 'eu-west-1' }, creds = KEY) {
  const signed = aws4.sign({ host: `127.0.0.1:${port}`, method, path: p, headers: { ...headers }, body, service, region }, creds);
  return signed.headers;
}

async function signedSend(upstream, opts, creds) {
  const headers = aws4Headers(upstream.port, opts, creds);
  return send(upstream.port, { ...opts, headers });
}

const lastRecord = (upstream) => upstream.requests[upstream.requests.length - 1];
const json = (res) => JSON.parse(res.body.toString('utf8'));

describe('verifying upstream: signature verification', () => {
  let upstream;
  const keys = new Map([[KEY.accessKeyId, KEY.secretAccessKey]]);
  before(async () => {
    upstream = await startVerifyingUpstream({ keys });
  });
  after(() => upstream.close());

  it('accepts an aws4-signed GET with an encoded path and a query with repeated, encoded keys', async () => {
    const p = '/a%20b/c%2Fd/./x/../y~z?b=2&a=x%20y&a=1&c%2Fd=e%2Bf&empty&t=%7E&sp=a+b';
    const res = await signedSend(upstream, { path: p });
    assert.equal(res.status, 200);
    const rec = lastRecord(upstream);
    assert.deepEqual(rec.signature, {
      valid: true,
      accessKeyId: KEY.accessKeyId,
      service: 'execute-api',
      region: 'eu-west-1',
      signedHeaders: ['host', 'x-amz-date'],
    });
    assert.equal(rec.url, p, 'records the raw request target');
    assert.equal(json(res).signatureValid, true);
  });

  it('accepts an aws4-signed POST with a JSON body and echoes its hash', async () => {
    const body = JSON.stringify({ hello: 'world', n: [1, 2, 3] });
    const res = await signedSend(upstream, { method: 'POST', path: '/items?x=1', headers: { 'content-type': 'application/json' }, body });
    assert.equal(res.status, 200);
    const echo = json(res);
    assert.deepEqual(echo, {
      method: 'POST',
      url: '/items?x=1',
      signatureValid: true,
      bodyLength: Buffer.byteLength(body),
      bodySha256: crypto.createHash('sha256').update(body).digest('hex'),
      contentType: 'application/json',
    });
    assert.ok(lastRecord(upstream).signature.signedHeaders.includes('content-type'));
  });

  it('accepts an aws4-signed POST with a 1 MiB binary body', async () => {
    const body = crypto.randomBytes(1024 * 1024);
    const res = await signedSend(upstream, { method: 'POST', path: '/upload', headers: { 'content-type': 'application/octet-stream' }, body });
    assert.equal(json(res).signatureValid, true);
    assert.ok(lastRecord(upstream).body.equals(body));
  });

  it('accepts a session-token signature and reports the token', async () => {
    keys.set(TEMP.accessKeyId, TEMP.secretAccessKey); // keys added after start are honoured
    const res = await signedSend(upstream, { method: 'PUT', path: '/with-token', body: 'x' }, TEMP);
    assert.equal(json(res).signatureValid, true);
    const sig = lastRecord(upstream).signature;
    assert.equal(sig.sessionToken, TEMP.sessionToken);
    assert.ok(sig.signedHeaders.includes('x-amz-security-token'));
  });

  it('accepts S3-style signing (single encoding, x-amz-content-sha256) and checks that hash', async () => {
    const opts = { method: 'PUT', path: '/bucket/key%20name', body: 'object data', service: 's3', region: 'us-east-1' };
    const headers = aws4Headers(upstream.port, opts);
    assert.equal(json(await send(upstream.port, { ...opts, headers })).signatureValid, true);
    const tampered = await send(upstream.port, { ...opts, headers, body: 'object dat4' });
    assert.equal(json(tampered).reason, 'x-amz-content-sha256 does not match body');
  });

  it('rejects a tampered body', async () => {
    const headers = aws4Headers(upstream.port, { method: 'POST', path: '/t', body: 'amount=10' });
    const res = await send(upstream.port, { method: 'POST', path: '/t', headers, body: 'amount=99' });
    assert.equal(json(res).signatureValid, false);
    assert.equal(json(res).reason, 'signature mismatch');
    assert.match(lastRecord(upstream).signature.canonicalRequest, /^POST\n\/t\n/);
  });

  it('rejects a tampered path and a tampered query', async () => {
    const headers = aws4Headers(upstream.port, { path: '/a%20b?q=1' });
    for (const p of ['/a%20c?q=1', '/a%2520b?q=1', '/a%20b?q=2', '/a%20b']) {
      const res = await send(upstream.port, { path: p, headers });
      assert.equal(json(res).reason, 'signature mismatch', p);
    }
  });

  it('rejects a wrong secret and an unknown access key', async () => {
    const wrong = await signedSend(upstream, { path: '/w' }, { accessKeyId: KEY.accessKeyId, secretAccessKey: 'not-the-secret' });
    assert.equal(json(wrong).reason, 'signature mismatch');
    const unknown = await signedSend(upstream, { path: '/w' }, { accessKeyId: 'AKIDNOBODY', secretAccessKey: 'x' });
    assert.equal(json(unknown).reason, 'unknown access key AKIDNOBODY');
  });

  it('rejects an unsigned request, a stale x-amz-date, and an unsigned session token', async () => {
    assert.equal(json(await send(upstream.port, { path: '/u' })).reason, 'no authorization header');

    const stale = aws4.sign(
      { host: `127.0.0.1:${upstream.port}`, path: '/old', service: 'execute-api', region: 'eu-west-1', headers: { 'X-Amz-Date': '20200101T000000Z' } },
      KEY,
    );
    assert.equal(json(await send(upstream.port, { path: '/old', headers: stale.headers })).reason, 'x-amz-date too far from now');

    const headers = { ...aws4Headers(upstream.port, { path: '/tok' }), 'x-amz-security-token': 'smuggled' };
    assert.equal(json(await send(upstream.port, { path: '/tok', headers })).reason, 'x-amz-security-token is not signed');
  });

  it('answers with the upstream headers a proxy must pass through, and /__status/NNN', async () => {
    const res = await signedSend(upstream, { path: '/base/__status/418' });
    assert.equal(res.status, 418);
    assert.equal(res.headers.etag, '"v1"');
    assert.equal(res.headers.location, '/somewhere');
    assert.equal(res.headers['x-amzn-requestid'], 'test-request-id');
    assert.deepEqual(res.headers['set-cookie'], ['upstream=secret']);
    assert.equal(res.headers['x-upstream'], 'yes');
    assert.equal(json(res).signatureValid, true);
  });
});

describe('verifying upstream: strict mode', () => {
  let upstream;
  before(async () => {
    upstream = await startVerifyingUpstream({ keys: new Map([[KEY.accessKeyId, KEY.secretAccessKey]]), strict: true });
  });
  after(() => upstream.close());

  it('answers 403 { message } to an invalid signature and serves a valid one', async () => {
    const bad = await send(upstream.port, { path: '/x' });
    assert.equal(bad.status, 403);
    assert.deepEqual(json(bad), { message: 'no authorization header' });
    assert.equal(upstream.requests.length, 1, 'rejected requests are still recorded');
    const good = await signedSend(upstream, { path: '/x' });
    assert.equal(good.status, 200);
  });
});

describe('verifying upstream: botocore as a third signer', () => {
  const python = path.join(REPO_ROOT, '.venv', 'bin', 'python');
  let upstream;
  before(async () => {
    upstream = await startVerifyingUpstream({ keys: new Map([[TEMP.accessKeyId, TEMP.secretAccessKey]]) });
  });
  after(() => upstream.close());

  it('accepts a botocore SigV4Auth signature (encoded path, repeated query keys, token, body)', { skip: !motoAvailable() && 'no .venv: run scripts/setup-python.sh' }, async () => {
    // botocore signs the query as given (no re-normalisation), so the query is already canonical here.
    const p = '/a%20b/c%2Fd?b=2&a=x%20y&a=1&c%2Fd=e%2Bf';
    const body = Buffer.from('{"k":"v"}');
    const spec = {
      method: 'POST',
      url: `http://127.0.0.1:${upstream.port}${p}`,
      headers: { 'content-type': 'application/json' },
      body_b64: body.toString('base64'),
      service: 'execute-api',
      region: 'eu-west-1',
      access_key_id: TEMP.accessKeyId,
      secret_access_key: TEMP.secretAccessKey,
      session_token: TEMP.sessionToken,
    };
    const out = spawnSync(python, [path.join(__dirname, 'support', 'botocore-sign.py')], { input: JSON.stringify(spec), timeout: 30_000 });
    assert.equal(out.status, 0, String(out.stderr));
    const headers = JSON.parse(out.stdout);
    const res = await send(upstream.port, { method: 'POST', path: p, headers, body });
    assert.equal(json(res).signatureValid, true, json(res).reason);
    assert.equal(lastRecord(upstream).signature.sessionToken, TEMP.sessionToken);
  });

  it('reads signed header bytes as Latin-1, as AWS does (botocore sends its text one byte per character)', { skip: !motoAvailable() && 'no .venv: run scripts/setup-python.sh' }, async () => {
    const text = 'café Ärger';
    const spec = {
      method: 'GET',
      url: `http://127.0.0.1:${upstream.port}/meta`,
      headers: { 'x-amz-meta-name': text },
      service: 's3',
      region: 'eu-west-1',
      access_key_id: TEMP.accessKeyId,
      secret_access_key: TEMP.secretAccessKey,
    };
    const out = spawnSync(python, [path.join(__dirname, 'support', 'botocore-sign.py')], { input: JSON.stringify(spec), timeout: 30_000 });
    assert.equal(out.status, 0, String(out.stderr));
    const headers = JSON.parse(out.stdout);
    // Python's http.client, like Node's, writes 'é' as the one byte E9: what botocore sends.
    const asSent = await send(upstream.port, { path: '/meta', headers });
    assert.equal(json(asSent).signatureValid, true, json(asSent).reason);
    // The same text's UTF-8 bytes are other characters to AWS ('Ã©'): not what botocore signed.
    const utf8Bytes = { ...headers, 'x-amz-meta-name': Buffer.from(text).toString('latin1') };
    const other = await send(upstream.port, { path: '/meta', headers: utf8Bytes });
    assert.equal(json(other).signatureValid, false);
    assert.equal(json(other).reason, 'signature mismatch');
  });

  it("accepts botocore's presigned S3 PUT and API Gateway GET, and refuses them changed or expired", { skip: !motoAvailable() && 'no .venv: run scripts/setup-python.sh' }, async () => {
    const { botocorePresign } = require('./support/botocore-presign');
    const base = `http://127.0.0.1:${upstream.port}`;
    const presign = (spec, time = new Date()) => botocorePresign({ kind: 'url', credentials: TEMP, time, ...spec });
    const put = presign({ method: 'PUT', url: `${base}/bucket/a%20b.txt`, headers: { 'content-type': 'text/plain' }, service: 's3', region: 'us-east-1', expires: 300 });
    const path = (url) => url.slice(base.length);
    const sent = await send(upstream.port, { method: 'PUT', path: path(put), headers: { 'content-type': 'text/plain' }, body: Buffer.from('any body: S3 presigns UNSIGNED-PAYLOAD') });
    assert.equal(json(sent).signatureValid, true, json(sent).reason);
    assert.equal(lastRecord(upstream).signature.sessionToken, TEMP.sessionToken);

    const get = presign({ method: 'GET', url: `${base}/prod/items?b=2&a=1`, service: 'execute-api', region: 'eu-west-1', expires: 60 });
    assert.equal(json(await send(upstream.port, { path: path(get) })).signatureValid, true);

    const refusals = [
      [{ path: path(put).replace('a%20b', 'other'), method: 'PUT', headers: { 'content-type': 'text/plain' } }, 'signature mismatch'],
      [{ path: path(put), method: 'PUT', headers: { 'content-type': 'text/html' } }, 'signature mismatch'],
      [{ path: path(put), method: 'PUT' }, 'signed header content-type is missing'],
      [{ path: path(get).replace('b=2', 'b=3') }, 'signature mismatch'],
      [{ path: path(presign({ method: 'GET', url: `${base}/prod/items`, service: 'execute-api', region: 'eu-west-1', expires: 60 }, new Date(Date.now() - 120_000))) }, 'the presigned URL has expired'],
    ];
    for (const [request, reason] of refusals) {
      const answer = json(await send(upstream.port, request));
      assert.equal(answer.signatureValid, false, request.path);
      assert.equal(answer.reason, reason, request.path);
    }
  });
});

describe('verifying upstream: streaming and connections', () => {
  let upstream;
  before(async () => {
    upstream = await startVerifyingUpstream({ keys: new Map() });
  });
  after(() => upstream.close());

  it('/__chunks delivers chunks apart in time', async () => {
    const arrivals = [];
    const start = Date.now();
    const res = await send(upstream.port, { path: '/__chunks?count=4&delayMs=150', onData: () => arrivals.push(Date.now() - start) });
    assert.equal(res.status, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.body.toString(), 'chunk-0\nchunk-1\nchunk-2\nchunk-3\n');
    assert.equal(arrivals.length, 4, `each chunk arrives on its own: ${arrivals}`);
    for (let i = 1; i < arrivals.length; i++) assert.ok(arrivals[i] - arrivals[i - 1] >= 100, `gaps: ${arrivals}`);
  });

  it('/__bytes streams the pattern with content-length and honours backpressure', async () => {
    const small = await send(upstream.port, { path: '/base/__bytes?size=200000' });
    assert.equal(small.headers['content-length'], '200000');
    assert.equal(small.body.length, 200000);
    for (const i of [0, 250, 251, 65535, 65536, 131071, 199999]) assert.equal(small.body[i], patternByte(i), `byte ${i}`);

    // A paused reader must hold the writer back: far less than 256 MiB gets written.
    const size = 256 * 1024 * 1024;
    await new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: upstream.port, path: `/__bytes?size=${size}`, agent: false }, (res) => {
        res.pause();
        setTimeout(() => {
          const written = lastRecord(upstream).bytesWritten;
          req.destroy();
          try {
            assert.ok(written > 0 && written < 64 * 1024 * 1024, `written while paused: ${written}`);
            resolve();
          } catch (err) {
            reject(err);
          }
        }, 400);
      });
      req.once('error', () => {}); // destroyed on purpose
    });
  });

  it('marks a request whose client went away mid-response as aborted', async () => {
    upstream.reset();
    await new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: upstream.port, path: '/__chunks?count=50&delayMs=50', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.once('error', () => {});
    });
    for (let i = 0; i < 50 && !upstream.requests[0].aborted; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(upstream.requests[0].aborted, true);
  });

  it('connections() counts keep-alive reuse as one connection', async () => {
    upstream.reset();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => send(upstream.port, { path: `/ka/${i}`, agent })));
      assert.ok(results.every((r) => r.status === 200));
      assert.equal(upstream.requests.length, 10);
      assert.equal(upstream.connections(), 1);
    } finally {
      agent.destroy();
    }
    for (let i = 0; i < 3; i++) await send(upstream.port, { path: '/no-ka', agent: false });
    assert.equal(upstream.connections(), 4, 'agent:false opens a connection per request');
  });

  it('close() does not hang on keep-alive sockets or an unfinished stream', async () => {
    const other = await startVerifyingUpstream({ keys: new Map() });
    const agent = new http.Agent({ keepAlive: true });
    await send(other.port, { path: '/idle', agent });
    const streaming = new Promise((resolve) => {
      http.get({ host: '127.0.0.1', port: other.port, path: '/__chunks?count=100&delayMs=1000', agent: false }, (res) => {
        res.once('data', resolve);
        res.on('error', () => {});
      }).on('error', () => {});
    });
    await streaming;
    const t0 = Date.now();
    await other.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
    agent.destroy();
  });
});

describe('moto STS through the recorder', { skip: !motoAvailable() && 'moto not installed (.venv/bin/moto_server missing): run scripts/setup-python.sh' }, () => {
  let moto;
  let recorder;
  before(async () => {
    moto = await startMoto();
    recorder = await startStsRecorder(moto.url);
  });
  after(async () => {
    if (recorder) await recorder.close();
    if (moto) await moto.stop();
  });

  /** A raw AssumeRole call, aws4-signed for service sts, sent to the recorder. */
  function assumeRole(sessionName) {
    const port = Number(new URL(recorder.url).port);
    const body = new URLSearchParams({
      Action: 'AssumeRole',
      Version: '2011-06-15',
      RoleArn: 'arn:aws:iam::123456789012:role/demo',
      RoleSessionName: sessionName,
    }).toString();
    const opts = { method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body, service: 'sts', region: 'us-east-1' };
    // moto does not enforce auth by default: any key works.
    return send(port, { ...opts, headers: aws4Headers(port, opts, { accessKeyId: 'AKIDANYONE', secretAccessKey: 'anything' }) });
  }

  it('AssumeRole is counted and its ASIA credentials sign requests the upstream accepts', async () => {
    const res = await assumeRole('support-test');
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(recorder.calls.AssumeRole, 1);
    assert.equal(recorder.requests[0].params.RoleSessionName, 'support-test');
    assert.equal(recorder.issued.size, 1);
    const [[accessKeyId, creds]] = recorder.issued;
    assert.match(accessKeyId, /^ASIA/);
    assert.ok(creds.secretAccessKey && creds.sessionToken, 'secret and token parsed');

    const keys = new Map();
    const upstream = await startVerifyingUpstream({ keys, strict: true });
    try {
      for (const [id, c] of recorder.issued) keys.set(id, c.secretAccessKey);
      const ok = await signedSend(upstream, { path: '/assumed' }, { accessKeyId, ...creds });
      assert.equal(ok.status, 200, ok.body.toString());
      assert.equal(lastRecord(upstream).signature.sessionToken, creds.sessionToken);
    } finally {
      await upstream.close();
    }
  });

  it('stop() makes STS unreachable and restart() brings it back on the same port', async () => {
    await moto.stop();
    await assert.rejects(assumeRole('during-outage'), 'the recorder drops the connection while moto is down');
    await moto.restart();
    const res = await assumeRole('after-restart');
    assert.equal(res.status, 200);
    assert.equal(recorder.calls.AssumeRole, 3);
    assert.equal(recorder.issued.size, 2);
  });
});
