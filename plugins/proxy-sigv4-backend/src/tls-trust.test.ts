// Upstream TLS trust through a real Backstage backend, against loopback HTTPS upstreams whose
// certificates come from a private CA made for this run:
// - without the CA, the route answers 502 saying the certificate is not trusted and what to set;
// - with `caFile`, the request is served and the upstream sees a valid SigV4 signature, while a
//   route to the same upstream without `caFile` is still refused (its own trust, its own pool);
// - a certificate for another name is refused even with `caFile`;
// - a `caFile` that is missing, holds no certificates, or sits on an http target stops startup
//   with an error that names the route and key and never quotes the file.
// The environment variables (read once per process) are tested in tls-env.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { errorBody, makeTestCa, routeTo, startProxyBackend, startUpstream } from './testing/harness';
import type { TestCa, TestProxyBackend, VerifyingUpstream } from './testing/harness';

const OPEN = { credentials: 'dangerously-allow-unauthenticated' };
const UNTRUSTED = /upstream 127\.0\.0\.1 presented a certificate that is not trusted \(UnknownIssuer\): set caFile on the route, or NODE_EXTRA_CA_CERTS \/ AWS_CA_BUNDLE/;

describe('upstream TLS trust with a private CA', { timeout: 60_000 }, () => {
  let ca: TestCa;
  let upstream: VerifyingUpstream;
  let otherName: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    ca = makeTestCa();
    upstream = await startUpstream({ tls: ca.issue('IP:127.0.0.1') });
    otherName = await startUpstream({ tls: ca.issue('DNS:other.example') });
    backend = await startProxyBackend({
      proxysigv4: {
        '/trusted': { ...routeTo(upstream), ...OPEN, caFile: ca.caFile },
        '/untrusted': { ...routeTo(upstream), ...OPEN },
        '/wrong-name': { ...routeTo(otherName), ...OPEN, caFile: ca.caFile },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    await otherName?.close();
    ca?.cleanup();
  });

  it('serves a route with caFile, signed as the upstream verifies', async () => {
    assert.match(upstream.url, /^https:/);
    const res = await fetch(`${backend.baseUrl}/trusted/items?x=1`);
    assert.equal(res.status, 200, await res.clone().text());
    const [record] = upstream.requests;
    assert.equal(record?.url, '/base/items?x=1');
    assert.equal(record.signature.valid, true, record.signature.reason);
  });

  it('refuses the same upstream on a route without caFile: 502 naming the fix', async () => {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/untrusted/items`);
    assert.equal(res.status, 502);
    const body = await errorBody(res);
    assert.equal(body.error.code, 'UPSTREAM_UNREACHABLE');
    assert.equal(body.error.name, 'BadGatewayError');
    assert.match(body.error.message, UNTRUSTED);
    assert.equal(body.response.statusCode, 502);
    assert.equal(upstream.requests.length, 0, 'nothing was sent over the refused connection');
  });

  it('refuses a certificate for another name even with caFile', async () => {
    const res = await fetch(`${backend.baseUrl}/wrong-name/items`);
    assert.equal(res.status, 502);
    const body = await errorBody(res);
    assert.equal(body.error.code, 'UPSTREAM_UNREACHABLE');
    assert.match(body.error.message, /certificate that is not valid for 127\.0\.0\.1 \(NotValidForName\)/);
    assert.equal(otherName.requests.length, 0);
  });
});

describe('caFile startup errors', { timeout: 60_000 }, () => {
  let ca: TestCa;
  const target = 'https://127.0.0.1:9/base';

  before(() => {
    ca = makeTestCa();
  });
  after(() => ca?.cleanup());

  async function expectStartupError(route: Record<string, unknown>, expected: RegExp): Promise<string> {
    let message = '';
    await assert.rejects(
      startProxyBackend({ proxysigv4: { '/r': { service: 'execute-api', region: 'us-east-1', ...route } } as never }),
      (error: Error) => {
        message = error.message;
        assert.match(message, /Plugin 'proxy-sigv4' startup failed/);
        assert.match(message, expected);
        return true;
      },
    );
    return message;
  }

  it('a caFile that does not exist', async () => {
    const missing = path.join(ca.dir, 'missing.pem');
    await expectStartupError({ target, caFile: missing }, /proxysigv4\.\/r\.caFile: cannot read '[^']*missing\.pem': /);
  });

  it('a caFile with no certificates (only a private key), without quoting it', async () => {
    const keyOnly = path.join(ca.dir, 'ca.key');
    const message = await expectStartupError({ target, caFile: keyOnly }, /proxysigv4\.\/r\.caFile: '[^']*ca\.key' holds no PEM certificates/);
    const keyBody = fs.readFileSync(keyOnly, 'utf8').split('\n')[1];
    assert.ok(keyBody && !message.includes(keyBody), message);
    assert.doesNotMatch(message, /PRIVATE KEY/);
  });

  it('a caFile on an http target', async () => {
    await expectStartupError({ target: 'http://127.0.0.1:9/base', caFile: ca.caFile }, /proxysigv4\.\/r\.caFile: is only used with an https target/);
  });
});
