// An attack corpus: request paths that try to leave the route's target (dot segments in many
// spellings, backslashes, other hosts, look-alikes, control characters, route-prefix tricks),
// sent raw through a running backend. Each one is refused (400 BAD_PATH or 404, nothing sent
// upstream) or stays on the target host below the target's base path, as the verifying
// upstream and a decoy server on another loopback port record. Zero escapes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { USER_TOKEN, bearer, rawRequest, rawSocketRequest, routeTo, startProxyBackend, startUpstream } from './testing/harness';
import type { RawResponse, TestProxyBackend, UpstreamRecord, VerifyingUpstream } from './testing/harness';

const MOUNT = '/api/proxy-sigv4';
const BASE = '/base';

/** How one path must be answered. `DECOY` in paths is replaced with the decoy's port. */
type Expect =
  /** 400 with Backstage's error JSON, code BAD_PATH; nothing upstream. */
  | { refused: 'BAD_PATH' }
  /** 404 with Backstage's error JSON, code ROUTE_NOT_FOUND; nothing upstream. */
  | { refused: 'ROUTE_NOT_FOUND' }
  /** Node's HTTP parser answers `status` itself, before Backstage; nothing upstream. */
  | { refusedByNode: number }
  /** Proxied: the upstream received exactly this request target, on the target host. */
  | { forwards: string };

interface Attack {
  what: string;
  /** The request target below the mount point (or a whole absolute-form target, see `absolute`). */
  path: string;
  expect: Expect;
  /** Sent as an absolute-form request target instead of MOUNT + path. */
  absolute?: boolean;
  /** Sent on a plain socket: http.request refuses to send these bytes. */
  socket?: boolean;
}

/** Raw UTF-8 bytes, spelled as latin1 so http.request puts them on the wire unchanged. */
const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

const BAD_PATH = { refused: 'BAD_PATH' } as const;
const NO_ROUTE = { refused: 'ROUTE_NOT_FOUND' } as const;

const CORPUS: Attack[] = [
  // Dot segments, raw and percent-encoded once, twice, three times, in mixed case.
  { what: 'raw ..', path: '/demo/../secret', expect: BAD_PATH },
  { what: 'raw .', path: '/demo/./x', expect: BAD_PATH },
  { what: 'raw .. at the end', path: '/demo/..', expect: BAD_PATH },
  { what: 'many raw ..', path: `/demo/${'../'.repeat(1000)}etc/passwd`, expect: BAD_PATH },
  { what: 'into another route', path: '/demo/x/../../other/y', expect: BAD_PATH },
  { what: 'from another route', path: '/other/../demo/x', expect: BAD_PATH },
  { what: '%2e%2e', path: '/demo/%2e%2e/secret', expect: BAD_PATH },
  { what: '%2E%2e mixed case', path: '/demo/%2E%2e/secret', expect: BAD_PATH },
  { what: '%2e%2e at the end', path: '/demo/x/%2e%2e', expect: BAD_PATH },
  { what: '%2e', path: '/demo/%2e/x', expect: BAD_PATH },
  { what: '.%2e', path: '/demo/.%2e/secret', expect: BAD_PATH },
  { what: '.%2E', path: '/demo/.%2E/secret', expect: BAD_PATH },
  { what: '%252e%252e (double)', path: '/demo/%252e%252e/secret', expect: BAD_PATH },
  { what: '%252E%252e (double, mixed case)', path: '/demo/%252E%252e/secret', expect: BAD_PATH },
  { what: '%25252e%25252e (triple)', path: '/demo/%25252e%25252e/secret', expect: BAD_PATH },
  { what: '%%32%65 (nested encoding)', path: '/demo/%%32%65%%32%65/secret', expect: BAD_PATH },
  { what: '..%2f (encoded slash)', path: '/demo/..%2fsecret', expect: BAD_PATH },
  { what: '..%2f..%2f', path: '/demo/..%2f..%2fetc', expect: BAD_PATH },
  { what: '%2e%2e%2f all encoded', path: '/demo/%2e%2e%2f%2e%2e%2fetc', expect: BAD_PATH },
  { what: '.. behind a fragment', path: '/demo/x#../../y', expect: BAD_PATH },
  // Backslashes, raw and encoded.
  { what: 'raw ..\\', path: '/demo/..\\secret', expect: BAD_PATH },
  { what: 'raw \\..\\..\\', path: '/demo/\\..\\..\\secret', expect: BAD_PATH },
  { what: '..%5c', path: '/demo/..%5csecret', expect: BAD_PATH },
  { what: '%5c..%5c', path: '/demo/%5c..%5csecret', expect: BAD_PATH },
  { what: '%255c (double-encoded backslash)', path: '/demo/%255c..%255csecret', expect: BAD_PATH },
  { what: 'backslash after the route', path: '/demo\\..\\secret', expect: NO_ROUTE },
  // Other hosts: //host, ///host, absolute URLs, @ authority tricks.
  { what: '//host at the mount', path: '//evil.example.com/x', expect: NO_ROUTE },
  { what: '///host at the mount', path: '///evil.example.com', expect: NO_ROUTE },
  { what: '//decoy at the mount', path: '//127.0.0.1:DECOY/x', expect: NO_ROUTE },
  { what: '//host after the route', path: '/demo//evil.example.com/x', expect: { forwards: `${BASE}//evil.example.com/x` } },
  { what: '///host after the route', path: '/demo///evil.example.com/x', expect: { forwards: `${BASE}///evil.example.com/x` } },
  { what: '//decoy after the route', path: '/demo//127.0.0.1:DECOY/x', expect: { forwards: `${BASE}//127.0.0.1:DECOY/x` } },
  { what: '%2f%2fhost', path: '/demo/%2f%2fevil.example.com', expect: { forwards: `${BASE}/%2f%2fevil.example.com` } },
  { what: 'absolute URL in the path', path: '/demo/http://127.0.0.1:DECOY/x', expect: { forwards: `${BASE}/http://127.0.0.1:DECOY/x` } },
  { what: 'encoded absolute URL in the path', path: '/demo/https:%2f%2fevil.example.com', expect: { forwards: `${BASE}/https:%2f%2fevil.example.com` } },
  { what: 'absolute-form request target', path: `http://evil.example.com${MOUNT}/demo/x`, absolute: true, expect: NO_ROUTE },
  { what: 'absolute-form target naming the decoy', path: `http://127.0.0.1:DECOY${MOUNT}/demo/x`, absolute: true, expect: NO_ROUTE },
  { what: '/@host', path: '/@evil.example.com', expect: NO_ROUTE },
  { what: '/route@host', path: '/demo@evil.example.com/x', expect: NO_ROUTE },
  { what: '/route@decoy', path: '/demo@127.0.0.1:DECOY/x', expect: NO_ROUTE },
  { what: '/route%40host', path: '/demo%40evil.example.com/x', expect: NO_ROUTE },
  { what: '/route/@decoy', path: '/demo/@127.0.0.1:DECOY/x', expect: { forwards: `${BASE}/@127.0.0.1:DECOY/x` } },
  // Overlong UTF-8 and other invalid UTF-8.
  { what: 'overlong %c0%ae%c0%ae', path: '/demo/%c0%ae%c0%ae/secret', expect: BAD_PATH },
  { what: 'overlong %c0%2e', path: '/demo/%c0%2e%c0%2e/secret', expect: BAD_PATH },
  { what: 'overlong 3-byte %e0%80%ae', path: '/demo/%e0%80%ae%e0%80%ae/secret', expect: BAD_PATH },
  { what: 'overlong slash %c0%af', path: '/demo/..%c0%af..%c0%afetc', expect: BAD_PATH },
  { what: 'invalid UTF-8 %ff%fe', path: '/demo/%ff%fe', expect: BAD_PATH },
  // Unicode look-alikes of the dot.
  { what: 'fullwidth dots %EF%BC%8E', path: '/demo/%EF%BC%8E%EF%BC%8E/secret', expect: BAD_PATH },
  { what: 'U+2024 one dot leader x2', path: '/demo/%E2%80%A4%E2%80%A4/secret', expect: BAD_PATH },
  { what: 'U+2025 two dot leader', path: '/demo/%E2%80%A5/secret', expect: BAD_PATH },
  { what: 'raw UTF-8 U+2025', path: utf8('/demo/\u2025/secret'), expect: { refusedByNode: 400 } },
  { what: 'raw UTF-8 fullwidth dots', path: utf8('/demo/\uff0e\uff0e/secret'), expect: { refusedByNode: 400 } },
  // NUL and other control characters.
  { what: '%00', path: '/demo/%00/x', expect: BAD_PATH },
  { what: '..%00', path: '/demo/..%00/x', expect: BAD_PATH },
  { what: '.%00.', path: '/demo/x/.%00.', expect: BAD_PATH },
  { what: 'encoded CR LF', path: '/demo/x%0d%0aInjected:%201', expect: BAD_PATH },
  { what: 'raw NUL', path: '/demo/\0x', socket: true, expect: { refusedByNode: 400 } },
  { what: 'raw space', path: '/demo/a b', socket: true, expect: { refusedByNode: 400 } },
  { what: 'raw tab', path: '/demo/\tx', socket: true, expect: { refusedByNode: 400 } },
  // Dot segments in the query only: a query is not a path, it passes unchanged.
  { what: '../ in the query', path: '/demo/x?path=../../etc/passwd', expect: { forwards: `${BASE}/x?path=../../etc/passwd` } },
  { what: '%2e%2e in the query', path: '/demo/x?%2e%2e/%2e%2e', expect: { forwards: `${BASE}/x?%2e%2e/%2e%2e` } },
  { what: 'query right after the route', path: '/demo?../..', expect: { forwards: `${BASE}?../..` } },
  // Very long paths.
  { what: 'an 8000-character segment', path: `/demo/${'a'.repeat(8000)}`, expect: { forwards: `${BASE}/${'a'.repeat(8000)}` } },
  { what: 'a path over Node header limit', path: `/demo/${'a'.repeat(20_000)}`, expect: { refusedByNode: 431 } },
  // Route-prefix tricks.
  { what: '/route..', path: '/demo..', expect: NO_ROUTE },
  { what: '/route%2f..', path: '/demo%2f..', expect: NO_ROUTE },
  { what: '/route%2f..%2fother', path: '/demo%2f..%2fother', expect: NO_ROUTE },
  { what: '/routex', path: '/demox', expect: NO_ROUTE },
  { what: '/ROUTE (case)', path: '/DEMO/x', expect: NO_ROUTE },
  { what: '/route;', path: '/demo;/x', expect: NO_ROUTE },
  { what: '/route%2e%2e', path: '/demo%2e%2e/x', expect: NO_ROUTE },
  // Dot segments with servlet path parameters: Tomcat and Spring drop ';...' and read '..'.
  { what: '..; (servlet path parameter)', path: '/demo/..;/secret', expect: BAD_PATH },
  { what: '..;jsessionid=x', path: '/demo/..;jsessionid=x/secret', expect: BAD_PATH },
  { what: '%2e%2e;', path: '/demo/%2e%2e;/secret', expect: BAD_PATH },
  { what: '.;x', path: '/demo/.;x/secret', expect: BAD_PATH },
  { what: '..%3b (encoded ;)', path: '/demo/..%3b/secret', expect: BAD_PATH },
  { what: 'a ; elsewhere in a name', path: '/demo/a;b/c..;d', expect: { forwards: `${BASE}/a;b/c..;d` } },
  // Spellings some servers (not AWS) read as dot segments; they stay below the base path.
  { what: '%u002e (IIS %u encoding)', path: '/demo/%u002e%u002e/secret', expect: { forwards: `${BASE}/%u002e%u002e/secret` } },
  { what: 'fullwidth solidus %EF%BC%8F', path: '/demo/..%EF%BC%8F..%EF%BC%8Fsecret', expect: { forwards: `${BASE}/..%EF%BC%8F..%EF%BC%8Fsecret` } },
];

/** A loopback server that must never be reached: it records whatever arrives. */
async function startDecoy(): Promise<{ port: number; received: string[]; close(): Promise<void> }> {
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    res.end('decoy');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Outcome {
  attack: Attack;
  response: RawResponse;
  upstreamRequests: UpstreamRecord[];
}

describe('attack corpus', { timeout: 120_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;
  let decoy: Awaited<ReturnType<typeof startDecoy>>;
  const outcomes: Outcome[] = [];

  before(async () => {
    upstream = await startUpstream();
    decoy = await startDecoy();
    backend = await startProxyBackend({
      proxysigv4: { '/demo': routeTo(upstream, BASE), '/other': routeTo(upstream, '/other-base') },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    await decoy?.close();
  });

  const withDecoy = (text: string) => text.replaceAll('DECOY', String(decoy.port));

  async function send(attack: Attack): Promise<RawResponse> {
    const target = withDecoy(attack.absolute ? attack.path : `${MOUNT}${attack.path}`);
    // Authenticated as a user, so every answer below is the proxy's, not the auth barrier's.
    if (attack.socket) return rawSocketRequest(backend.port, target, bearer(USER_TOKEN));
    return rawRequest(backend.port, target, { headers: bearer(USER_TOKEN) });
  }

  for (const attack of CORPUS) {
    it(`${attack.what}: ${describeExpect(attack.expect)}`, async () => {
      upstream.reset();
      const response = await send(attack);
      const upstreamRequests = [...upstream.requests];
      outcomes.push({ attack, response, upstreamRequests });
      const { expect } = attack;
      if ('refused' in expect) {
        assert.equal(response.status, expect.refused === 'BAD_PATH' ? 400 : 404, response.body);
        const body = JSON.parse(response.body) as { error: { name: string; code: string }; response: { statusCode: number } };
        assert.equal(body.error.code, expect.refused);
        assert.equal(body.response.statusCode, response.status);
        assert.deepEqual(upstreamRequests, [], 'a refused request reached the upstream');
      } else if ('refusedByNode' in expect) {
        assert.equal(response.status, expect.refusedByNode);
        assert.ok(!String(response.headers['content-type'] ?? '').includes('json'), 'answered by Backstage, not by Node');
        assert.deepEqual(upstreamRequests, [], 'a refused request reached the upstream');
      } else {
        assert.equal(response.status, 200, response.body.slice(0, 300));
        assert.equal(upstreamRequests.length, 1);
        assert.equal(upstreamRequests[0].url, withDecoy(expect.forwards));
        assert.equal(upstreamRequests[0].headers.host, `127.0.0.1:${upstream.port}`);
        assert.equal(upstreamRequests[0].signature.valid, true, upstreamRequests[0].signature.reason);
      }
    });
  }

  it('has at least 40 paths and zero escapes: nothing left the base path or the target host', () => {
    assert.ok(CORPUS.length >= 40, `corpus has ${CORPUS.length} paths`);
    assert.equal(outcomes.length, CORPUS.length, 'every attack was sent');
    assert.deepEqual(decoy.received, [], 'a request reached the decoy host');
    const escapes: string[] = [];
    for (const { attack, response, upstreamRequests } of outcomes) {
      if (response.status >= 500) escapes.push(`${attack.what}: status ${response.status} (tried another host?)`);
      for (const request of upstreamRequests) {
        const belowBase = request.url === BASE || request.url.startsWith(`${BASE}/`) || request.url.startsWith(`${BASE}?`);
        if (!belowBase) escapes.push(`${attack.what}: upstream got ${request.url}`);
        if (request.headers.host !== `127.0.0.1:${upstream.port}`) escapes.push(`${attack.what}: Host ${request.headers.host}`);
      }
    }
    assert.deepEqual(escapes, []);
  });
});

function describeExpect(expect: Expect): string {
  if ('refused' in expect) return `refused (${expect.refused})`;
  if ('refusedByNode' in expect) return `refused by Node's HTTP parser (${expect.refusedByNode})`;
  return 'stays below the base path';
}
