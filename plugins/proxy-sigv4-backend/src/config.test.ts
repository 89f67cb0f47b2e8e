// Configuration: Segment's proxysigv4 format (short, expanded, mixed) is accepted; a bad route
// fails startup with an error naming the route and key; no config means no routes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { loadConfigSchema } from '@backstage/config-loader';
import { createSigV4Proxy, readProxySigV4Settings } from './config';
import { USER_TOKEN, bearer, errorBody, makeTestCa, routeTo, startProxyBackend, startUpstream } from './testing/harness';
import type { TestCa, VerifyingUpstream } from './testing/harness';

// Short-form targets must be AWS host names (service and region are inferred from the host);
// tests never send a request to them.
const SHORT_TARGET = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/proxy-sigv4-test';

describe('config parsing', () => {
  it('absent proxysigv4: no routes, authentication required', () => {
    const settings = readProxySigV4Settings(new ConfigReader({}));
    assert.deepEqual(settings, { allowUnauthenticatedRequests: false, auditEvents: 'all', raw: {} });
    assert.deepEqual(createSigV4Proxy(settings).routes, []);
  });

  it('short form', () => {
    const settings = readProxySigV4Settings(new ConfigReader({ proxysigv4: { '/short': SHORT_TARGET } }));
    assert.equal(settings.allowUnauthenticatedRequests, false);
    assert.deepEqual(createSigV4Proxy(settings).routes, ['/short']);
  });

  it('expanded form with every key', () => {
    const config = new ConfigReader({
      proxysigv4: {
        '/expanded': {
          target: SHORT_TARGET,
          roleArn: ROLE_ARN,
          roleSessionName: 'backstage-test',
          service: 'execute-api',
          region: 'eu-west-1',
        },
      },
    });
    assert.deepEqual(createSigV4Proxy(readProxySigV4Settings(config)).routes, ['/expanded']);
  });

  it('expanded form with every per-route policy key', () => {
    const config = new ConfigReader({
      proxysigv4: {
        '/policy': {
          target: SHORT_TARGET,
          allowedMethods: ['GET', 'POST'],
          allowedHeaders: ['x-extra'],
          headers: { 'x-api-key': 'secret' },
          credentials: 'dangerously-allow-unauthenticated',
          timeout: 'PT45S',
          connectTimeout: { seconds: 3 },
          maxRequestBodyBytes: 2048,
        },
        '/defaults': SHORT_TARGET,
      },
    });
    const proxy = createSigV4Proxy(readProxySigV4Settings(config));
    const infos = [...proxy.routeInfos].sort((a, b) => a.key.localeCompare(b.key));
    assert.deepEqual(
      infos.map(({ key, credentials, maxRequestBodyBytes }) => ({ key, credentials, maxRequestBodyBytes })),
      [
        { key: '/defaults', credentials: undefined, maxRequestBodyBytes: 10 * 1024 * 1024 },
        { key: '/policy', credentials: 'dangerously-allow-unauthenticated', maxRequestBodyBytes: 2048 },
      ],
    );
  });

  it('mixed forms beside allowUnauthenticatedRequests, which is not a route', () => {
    const config = new ConfigReader({
      proxysigv4: {
        allowUnauthenticatedRequests: true,
        '/short': SHORT_TARGET,
        '/expanded': { target: 'http://127.0.0.1:9/base', service: 'execute-api', region: 'us-east-1' },
      },
    });
    const settings = readProxySigV4Settings(config);
    assert.equal(settings.allowUnauthenticatedRequests, true);
    assert.deepEqual([...createSigV4Proxy(settings).routes].sort(), ['/expanded', '/short']);
  });

  it('allowUnauthenticatedRequests that is not a boolean fails, naming the key', () => {
    const config = new ConfigReader({ proxysigv4: { allowUnauthenticatedRequests: 'sometimes' } });
    assert.throws(() => readProxySigV4Settings(config), /proxysigv4\.allowUnauthenticatedRequests/);
  });

  it('proxysigv4 that is not an object fails', () => {
    assert.throws(() => readProxySigV4Settings(new ConfigReader({ proxysigv4: 'https://x' })), /proxysigv4/);
  });
});

describe('startup with the plugin', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream?.close();
  });

  it('accepts a mixed short + expanded config and serves the expanded route', async () => {
    const backend = await startProxyBackend({
      proxysigv4: {
        '/short': SHORT_TARGET,
        '/expanded': routeTo(upstream, '/exp'),
        '/other': routeTo(upstream, '/other'),
        // Credentials are lazy: an AssumeRole route is accepted at startup (never requested here).
        '/with-role': { ...routeTo(upstream, '/role'), roleArn: ROLE_ARN, roleSessionName: 'backstage-test' },
      },
    });
    try {
      upstream.reset();
      const a = await fetch(`${backend.baseUrl}/expanded/a`, { headers: bearer(USER_TOKEN) });
      assert.equal(a.status, 200);
      await a.arrayBuffer();
      const b = await fetch(`${backend.baseUrl}/other/b`, { headers: bearer(USER_TOKEN) });
      assert.equal(b.status, 200);
      await b.arrayBuffer();
      assert.deepEqual(
        upstream.requests.map((r) => [r.url, r.signature.valid]),
        [
          ['/exp/a', true],
          ['/other/b', true],
        ],
      );
    } finally {
      await backend.stop();
    }
  });

  it('starts without proxysigv4 and answers 404 for any path', async () => {
    const backend = await startProxyBackend({});
    try {
      const res = await fetch(`${backend.baseUrl}/anything/here`, { headers: bearer(USER_TOKEN) });
      assert.equal(res.status, 404);
      const body = await errorBody(res);
      assert.equal(body.error.name, 'NotFoundError');
    } finally {
      await backend.stop();
    }
  });

  const badConfigs: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a target that is not a URL', { '/bad': 'not a url' }, /proxysigv4\.\/bad\.target/],
    [
      'an expanded target that is not a URL',
      { '/good': SHORT_TARGET, '/bad': { target: 'not a url', service: 'execute-api', region: 'us-east-1' } },
      /proxysigv4\.\/bad\.target/,
    ],
    [
      'a roleArn that is not an IAM role ARN',
      { '/bad-role': { target: SHORT_TARGET, roleArn: 'not-an-arn' } },
      /proxysigv4\.\/bad-role\.roleArn/,
    ],
    ['allowUnauthenticatedRequests that is not a boolean', { allowUnauthenticatedRequests: 'maybe' }, /proxysigv4\.allowUnauthenticatedRequests/],
    ['an unknown auditEvents', { auditEvents: 'reads' }, /proxysigv4\.auditEvents: must be one of all, mutations, none/],
    ...policyErrors(),
  ];
  // A value of the wrong type in a field that holds secrets (an external id, a static header)
  // is named by its key and the type expected; the value itself never reaches the error.
  for (const [key, value] of [
    ['externalId', 987654321012],
    ['headers', { 'x-api-key': 987654321012 }],
  ] as const) {
    it(`fails startup on a ${key} of the wrong type without repeating its value`, async () => {
      await assert.rejects(
        startProxyBackend({ proxysigv4: { '/r': { target: SHORT_TARGET, [key]: value } } as never }),
        (error: Error) => {
          assert.match(error.message, new RegExp(`proxysigv4\\./r\\.${key}[.a-z-]*: invalid type, expected`));
          assert.doesNotMatch(error.message, /987654321012/);
          return true;
        },
      );
    });
  }

  for (const [what, proxysigv4, expected] of badConfigs) {
    it(`fails startup on ${what}, naming the route and key`, async () => {
      await assert.rejects(
        startProxyBackend({ proxysigv4: proxysigv4 as never }),
        (error: Error) => {
          assert.match(error.message, /Plugin 'proxy-sigv4' startup failed/);
          assert.match(error.message, expected);
          return true;
        },
      );
    });
  }
});

/** A bad value of each per-route policy key, and the `route.key` its startup error must name. */
function policyErrors(): Array<[string, Record<string, unknown>, RegExp]> {
  const bad: Array<[string, unknown]> = [
    ['allowedMethods', ['CONNECT']],
    ['credentialTimeout', 'never'],
    ['responseHeaders', { passOriginPolicy: 'yes' }],
    ['allowedHeaders', ['cookie']],
    ['headers', { authorization: 'Bearer x' }],
    ['credentials', 'forward'],
    ['timeout', 'banana'],
    ['connectTimeout', '0s'],
    ['maxRequestBodyBytes', 0],
    ['caFile', ''],
  ];
  return bad.map(([key, value]) => [
    `${key}: ${JSON.stringify(value)}`,
    { '/r': { target: SHORT_TARGET, [key]: value } },
    new RegExp(`proxysigv4\\./r\\.${key}(\\.\\w+)?: `),
  ]);
}

describe('config schema (config.d.ts)', { timeout: 60_000 }, () => {
  let ca: TestCa;
  before(() => {
    ca = makeTestCa();
  });
  after(() => ca?.cleanup());

  it('accepts every route key, also under endpoints, and every option, where header values are secret too', async () => {
    const schema = await loadConfigSchema({
      dependencies: [],
      packagePaths: [path.resolve(__dirname, '..', 'package.json')],
    });
    const route = {
      target: 'https://vpce-0a1b-c2d3.execute-api.us-east-1.vpce.amazonaws.com/prod',
      hostHeader: 'abc123.execute-api.us-east-1.amazonaws.com',
      profile: 'team-a',
      roleArn: ROLE_ARN,
      externalId: 'team-a:42',
      sessionDuration: { hours: 1 },
      stsRegion: 'us-east-1',
      unsignedPayload: false,
      credentialTimeout: '5s',
      responseHeaders: { passOriginPolicy: false },
      headers: { 'x-api-key': 'value-1' },
      caFile: ca.caFile,
    };
    const options = {
      signer: { allowedRoles: [ROLE_ARN] },
      temporaryCredentials: {
        requestsPerMinute: 5,
        roles: [{ roleArn: ROLE_ARN, maxDuration: '30m', sessionPolicy: { Version: '2012-10-17', Statement: [] }, policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] }],
      },
    };
    const data = { proxysigv4: { credentialRereadInterval: '15m', ...options, '/r': route, endpoints: { '/e': { ...route, sessionDuration: '1h' }, '/s': SHORT_TARGET } } };
    // process() validates against the schema and throws on a violation.
    const [secret] = schema.process([{ data, context: 'test' }], { visibility: ['secret'] });
    assert.deepEqual(secret.data, {
      proxysigv4: { '/r': { headers: { 'x-api-key': 'value-1' } }, endpoints: { '/e': { headers: { 'x-api-key': 'value-1' } } } },
    });
    assert.throws(
      () => schema.process([{ data: { proxysigv4: { endpoints: { '/e': { ...route, unsignedPayload: 'yes' } } } }, context: 'test' }]),
      /unsignedPayload/,
    );
    // The addon takes the same config.
    assert.deepEqual([...createSigV4Proxy(readProxySigV4Settings(new ConfigReader(data))).routes].sort(), ['/e', '/r', '/s']);
  });

  it("marks a route's header values secret and shows nothing to the frontend", async () => {
    const schema = await loadConfigSchema({
      dependencies: [],
      packagePaths: [path.resolve(__dirname, '..', 'package.json')],
    });
    const data = {
      proxysigv4: {
        allowUnauthenticatedRequests: false,
        '/short': SHORT_TARGET,
        '/r': {
          target: SHORT_TARGET,
          headers: { 'x-api-key': 'value-1', 'X-Other': 'value-2' },
          allowedMethods: ['GET'],
          allowedHeaders: ['x-extra'],
          credentials: 'require',
          timeout: '30s',
          connectTimeout: { seconds: 5 },
          maxRequestBodyBytes: 1024,
        },
      },
    };
    const [secret] = schema.process([{ data, context: 'test' }], { visibility: ['secret'] });
    assert.deepEqual(secret.data, { proxysigv4: { '/r': { headers: { 'x-api-key': 'value-1', 'X-Other': 'value-2' } } } });
    const [frontend] = schema.process([{ data, context: 'test' }], { visibility: ['frontend'] });
    assert.deepEqual(frontend.data, {});
  });
});
