'use strict';
// The verifying upstream in a process of its own (strict: a bad signature answers 403), so its
// CPU and memory are not the proxy's. Prints one JSON line `{ "url": ... }` when listening.

const { startVerifyingUpstream } = require('../../__test__/support/verifying-upstream');
const { BENCH_CREDENTIALS } = require('./credentials');

(async () => {
  const upstream = await startVerifyingUpstream({
    keys: new Map([[BENCH_CREDENTIALS.accessKeyId, BENCH_CREDENTIALS.secretAccessKey]]),
    strict: true,
  });
  // Keep no history: a long run would otherwise grow this process, not the proxy.
  setInterval(() => upstream.requests.splice(0), 1000).unref();
  process.stdout.write(`${JSON.stringify({ url: upstream.url, pid: process.pid })}\n`);
  process.on('SIGTERM', () => upstream.close().then(() => process.exit(0)));
})();
