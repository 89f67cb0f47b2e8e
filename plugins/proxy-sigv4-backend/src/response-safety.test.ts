// What an upstream's response may do to the client and the portal's origin:
// - framing: a raw-socket upstream answers with both Transfer-Encoding and Content-Length (a
//   smuggled response hidden in the chunked body), or with `101 Switching Protocols`; the
//   proxy answers 502 and the client's next pipelined request on the same connection gets its
//   own answer, never the upstream's hidden bytes;
// - origin headers: an upstream's CSP, HSTS, CORS, Clear-Site-Data, Alt-Svc, Refresh, NEL...
//   never reach the browser on the Backstage origin (Backstage's own CSP stays, in Backstage's
//   production root router with helmet), proxied responses get `Content-Security-Policy: sandbox`
//   and `nosniff`, and redirects to other hosts are dropped; a route with
//   `responseHeaders.passOriginPolicy` passes them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startProductionBackend, startProxyBackend } from './testing/harness';
import type { TestProxyBackend } from './testing/harness';

const MOUNT = '/api/proxy-sigv4';
const SIGNING = { service: 'execute-api', region: 'us-east-1', credentials: 'dangerously-allow-unauthenticated' };
const SMUGGLED = 'HTTP/1.1 200 OK\r\ncontent-length: 8\r\nx-smuggled: yes\r\n\r\nSMUGGLED';

/** Raw answers by request path: written to the socket byte for byte, whatever they say. */
const RAW_ANSWERS: Record<string, string> = {
  '/te-cl': `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${(2 + SMUGGLED.length).toString(16)}\r\nok${SMUGGLED}\r\n0\r\n\r\n`,
  '/switch': 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nSMUGGLED',
  '/ok': 'HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Type: text/plain\r\n\r\ngenuine',
};

/** Answers each request with RAW_ANSWERS[path] once its head has arrived, then closes. */
async function startRawUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const target = head.split(' ')[1] ?? '';
      socket.end(RAW_ANSWERS[target] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Sends `paths` as pipelined GETs on one keep-alive connection; returns everything read. */
function pipelined(port: number, paths: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      // Both answers are in once the second one's body (the genuine upstream's) has arrived.
      if (received.includes('genuine')) socket.end();
    });
    socket.once('error', reject);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(paths.map((p) => `GET ${MOUNT}${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join(''));
  });
}

describe('response framing from the upstream', { timeout: 60_000 }, () => {
  let upstream: Awaited<ReturnType<typeof startRawUpstream>>;
  let backend: TestProxyBackend;

  before(async () => {
    upstream = await startRawUpstream();
    backend = await startProxyBackend({ proxysigv4: { '/raw': { ...SIGNING, target: `http://127.0.0.1:${upstream.port}` } } });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  for (const [what, path] of [
    ['Transfer-Encoding with Content-Length', '/raw/te-cl'],
    ['101 Switching Protocols', '/raw/switch'],
  ]) {
    it(`answers ${what} with 502, and the next pipelined request gets its own answer`, async () => {
      const received = await pipelined(backend.port, [path, '/raw/ok']);
      const answers = received.split(/(?=HTTP\/1\.1 )/);
      assert.equal(answers.length, 2, received);
      assert.match(answers[0], /^HTTP\/1\.1 502 /);
      const body = JSON.parse(answers[0].slice(answers[0].indexOf('\r\n\r\n') + 4));
      assert.equal(body.error.code, 'UPSTREAM_BAD_RESPONSE');
      assert.equal(body.error.name, 'BadGatewayError');
      assert.match(answers[1], /^HTTP\/1\.1 200 /);
      assert.ok(answers[1].endsWith('genuine'), answers[1]);
      assert.doesNotMatch(received, /SMUGGLED|x-smuggled|101 Switching/i);
    });
  }
});

/** Headers an upstream could use to change browser behaviour for the whole Backstage origin. */
const ORIGIN_HEADERS: Record<string, string> = {
  'content-security-policy': "script-src 'unsafe-inline' *",
  'content-security-policy-report-only': 'default-src *',
  'strict-transport-security': 'max-age=0',
  'access-control-allow-origin': '*',
  'access-control-allow-credentials': 'true',
  'clear-site-data': '"*"',
  'alt-svc': 'h2="evil.example:443"',
  refresh: '0; url=https://evil.example/',
  nel: '{"report_to":"x","max_age":31536000}',
  'report-to': '{"group":"x","endpoints":[{"url":"https://evil.example/"}]}',
  'service-worker-allowed': '/',
  'x-frame-options': 'ALLOWALL',
};
/** What a service sends that a client needs. */
const SERVICE_HEADERS: Record<string, string> = {
  etag: '"v1"',
  'x-amzn-requestid': 'req-1',
  'content-type': 'text/html',
};

async function startHeaderUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const redirect = /^\/redirect\?to=(.*)$/.exec(req.url ?? '');
    if (redirect) {
      res.writeHead(302, { location: decodeURIComponent(redirect[1]), 'content-length': 0 });
      res.end();
      return;
    }
    res.writeHead(200, { ...ORIGIN_HEADERS, ...SERVICE_HEADERS });
    res.end('<script>alert(document.domain)</script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("upstream headers and the portal's origin", { timeout: 60_000 }, () => {
  let upstream: Awaited<ReturnType<typeof startHeaderUpstream>>;
  let backend: TestProxyBackend;
  let backstageOwn: Headers;

  before(async () => {
    upstream = await startHeaderUpstream();
    backend = await startProductionBackend({
      proxysigv4: {
        '/page': { ...SIGNING, target: upstream.url },
        '/trusted': { ...SIGNING, target: upstream.url, responseHeaders: { passOriginPolicy: true } },
      },
    });
    // What Backstage's root router (helmet) sets on a response of its own.
    backstageOwn = (await fetch(`${backend.baseUrl}/no-such-route`)).headers;
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  it('drops the origin-wide headers, keeps the service headers, and sandboxes the page', async () => {
    const res = await fetch(`${backend.baseUrl}/page/index.html`);
    assert.equal(res.status, 200);
    for (const name of Object.keys(ORIGIN_HEADERS)) {
      if (name === 'content-security-policy' || name === 'x-frame-options' || name === 'strict-transport-security') continue;
      assert.equal(res.headers.get(name), null, name);
    }
    for (const [name, value] of Object.entries(SERVICE_HEADERS)) assert.equal(res.headers.get(name), value, name);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.doesNotMatch(csp, /unsafe-inline' \*/, "the upstream's CSP is gone");
    assert.match(csp, /(^|, )sandbox$/, 'the sandbox is added');
    const own = backstageOwn.get('content-security-policy');
    assert.ok(own, "Backstage's root router sets a CSP of its own");
    assert.ok(csp.startsWith(own), "Backstage's own CSP stays in force beside the sandbox");
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    // Backstage's own values, not the upstream's.
    assert.equal(res.headers.get('x-frame-options'), backstageOwn.get('x-frame-options'));
    assert.equal(res.headers.get('strict-transport-security'), backstageOwn.get('strict-transport-security'));
  });

  it('passes them on a route with responseHeaders.passOriginPolicy', async () => {
    const res = await fetch(`${backend.baseUrl}/trusted/index.html`);
    for (const [name, value] of Object.entries({ ...ORIGIN_HEADERS, ...SERVICE_HEADERS })) {
      if (name === 'content-security-policy') continue;
      assert.equal(res.headers.get(name), value, name);
    }
    assert.match(res.headers.get('content-security-policy') ?? '', /unsafe-inline' \*/);
    assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /sandbox/);
  });

  for (const [location, kept] of [
    ['/next', true],
    ['next?page=2', true],
    ['TARGET/elsewhere', true],
    ['https://evil.example/phish', false],
    ['//evil.example/phish', false],
    ['/\\evil.example/phish', false],
    ['javascript:alert(1)', false],
  ] as const) {
    it(`${kept ? 'keeps' : 'drops'} a redirect to ${location}`, async () => {
      const to = location.replace('TARGET', upstream.url);
      const res = await fetch(`${backend.baseUrl}/page/redirect?to=${encodeURIComponent(to)}`, { redirect: 'manual' });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), kept ? to : null);
    });
  }
});
