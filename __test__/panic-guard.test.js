'use strict';
// A panic in a synchronous entry point becomes a JS error with code INTERNAL instead of aborting
// Node. The debug addon panics on purpose in the entry point PROXY_SIGV4_TEST_PANIC names (the
// release build has no such trigger).

const test = require('node:test');
const assert = require('node:assert/strict');
const { Readable } = require('node:stream');
const { addon, DEMO_CREDENTIALS, useEnvironmentCredentials } = require('./support/addon');

// A route signs with the default chain: these keys, so its calls work once not asked to panic.
useEnvironmentCredentials();

const { CancelSignal, Signer, SigV4Proxy, presignRequest, signRequest, signRequestSync } = addon;
const URL = 'https://abc.execute-api.us-west-2.amazonaws.com/prod/x';
const CONFIG = { '/svc': { target: 'http://127.0.0.1:9', service: 'execute-api', region: 'us-west-2' } };

/** An answer the proxy gives by itself at once (no route), to call ProxyResponse's methods on. */
function answer(proxy) {
  return proxy.handle(proxy.routeIndex('/none'), { method: 'GET', url: '/none', headers: [] });
}

const signer = new Signer({ credentials: DEMO_CREDENTIALS });
const proxy = new SigV4Proxy(CONFIG);

/** Each entry point (by the name it panics under) and a call of it. */
const entryPoints = {
  'new Signer': () => new Signer({ credentials: DEMO_CREDENTIALS }),
  'Signer.sign': () => signer.sign('GET', URL),
  signRequestSync: () => signRequestSync({ method: 'GET', url: URL, credentials: DEMO_CREDENTIALS }),
  signRequest: () => signRequest({ method: 'GET', url: URL, credentials: DEMO_CREDENTIALS }),
  presignRequest: () => presignRequest({ method: 'GET', url: URL, expiresIn: 60, credentials: DEMO_CREDENTIALS }),
  'new SigV4Proxy': () => new SigV4Proxy(CONFIG),
  'SigV4Proxy.routeFor': () => proxy.routeFor('/svc/x'),
  'SigV4Proxy.routeIndex': () => proxy.routeIndex('/svc/x'),
  'SigV4Proxy.planRequest': () => proxy.planRequest('/svc/x', '12', false),
  'SigV4Proxy.bodyRefusal': () => proxy.bodyRefusal(0, 12),
  'SigV4Proxy.routeInfos': () => proxy.routeInfos,
  'SigV4Proxy.routes': () => proxy.routes,
  'SigV4Proxy.handle': () => proxy.handle(-1, { method: 'GET', url: '/none', headers: [] }),
  'SigV4Proxy.handleStream': () =>
    proxy.handleStream(-1, { method: 'PUT', url: '/none', headers: [] }, 1, Readable.toWeb(Readable.from([Buffer.from('x')]))),
  'SigV4Proxy.routeStatuses': () => proxy.routeStatuses(),
  'SigV4Proxy.signRequest': () => proxy.signRequest('/svc', { method: 'GET', url: URL }),
  'SigV4Proxy.presignRequest': () => proxy.presignRequest('/svc', { method: 'GET', url: URL, expiresIn: 60 }),
  liveResources: () => addon.liveResources(),
  startMetricsRecording: () => addon.startMetricsRecording(),
  takeUpstreamSamples: () => addon.takeUpstreamSamples(),
  openConnections: () => addon.openConnections(),
  'new CancelSignal': () => new CancelSignal(),
  'CancelSignal.cancel': () => new CancelSignal().cancel(),
};
const responseMethods = {
  'ProxyResponse.status': (response) => response.status,
  'ProxyResponse.headers': (response) => response.headers,
  'ProxyResponse.error': (response) => response.error,
  'ProxyResponse.takeCompleteBody': (response) => response.takeCompleteBody(),
  'ProxyResponse.takeBody': (response) => response.takeBody(),
};

function provokingPanicIn(name, call) {
  process.env.PROXY_SIGV4_TEST_PANIC = name;
  try {
    return call();
  } finally {
    delete process.env.PROXY_SIGV4_TEST_PANIC;
  }
}

function isInternal(name) {
  return (error) => {
    assert.ok(error instanceof Error, `${name} threw ${error}`);
    assert.equal(error.code, 'INTERNAL', `${name}: ${error.code} ${error.message}`);
    assert.equal(error.message, `${name} failed unexpectedly`);
    return true;
  };
}

for (const [name, call] of Object.entries(entryPoints)) {
  test(`a panic in ${name} throws INTERNAL, and it works again afterwards`, async () => {
    assert.throws(() => provokingPanicIn(name, call), isInternal(name));
    await call(); // no longer asked to panic: answers as usual
  });
}

for (const [name, call] of Object.entries(responseMethods)) {
  test(`a panic in ${name} throws INTERNAL, and it works again afterwards`, async () => {
    const response = await answer(proxy);
    assert.throws(() => provokingPanicIn(name, () => call(response)), isInternal(name));
    call(await answer(proxy));
  });
}

test('the process keeps signing and proxying after the panics', async () => {
  assert.ok(signer.sign('GET', URL).authorization.startsWith('AWS4-HMAC-SHA256 '));
  const response = await answer(new SigV4Proxy(CONFIG));
  assert.equal(response.status, 404);
  assert.equal(response.error.code, 'ROUTE_NOT_FOUND');
});
