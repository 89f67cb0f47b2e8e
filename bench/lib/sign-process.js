'use strict';
// Signing alone, in a process of its own: signs the same two requests as the Rust example
// (examples/sign_bench.rs), a GET with a query and a 1 KiB JSON POST, alternately, for a fixed
// time after a short warm-up, and prints `{"opsPerSec": N}`.
//   node bench/lib/sign-process.js ours-signer|ours-sync|smithy|aws4 [seconds]
// ours-signer and ours-sync load the addon `require('proxy-sigv4-native')` resolves to
// (NAPI_RS_NATIVE_LIBRARY_PATH picks the build); the JavaScript signers come from bench/peers.

const path = require('node:path');
const { createRequire } = require('node:module');
const { BENCH_CREDENTIALS } = require('./credentials');

const requirePeer = createRequire(path.resolve(__dirname, '../peers/package.json'));
/** The addon's package (`proxy-sigv4-native`), which loads the build NAPI_RS_NATIVE_LIBRARY_PATH names. */
const ADDON_PACKAGE = path.resolve(__dirname, '../../packages/native');
const HOST = 'abc.execute-api.us-east-1.amazonaws.com';
const SERVICE = 'execute-api';
const REGION = 'us-east-1';
const BODY = Buffer.from(`{"data":"${'x'.repeat(1013)}"}`); // 1024 bytes
const WARMUP_SECONDS = 0.5;

/** Each signer: a function signing request 0 (the GET) or 1 (the POST); may return a Promise. */
const SIGNERS = {
  'ours-sync': () => {
    const { signRequestSync } = require(ADDON_PACKAGE);
    if (typeof signRequestSync !== 'function') throw new Error('the addon has no signRequestSync');
    const credentials = { accessKeyId: BENCH_CREDENTIALS.accessKeyId, secretAccessKey: BENCH_CREDENTIALS.secretAccessKey };
    return (which) =>
      which === 0
        ? signRequestSync({ method: 'GET', url: `https://${HOST}/prod/items/42?limit=10&q=a%20b`, headers: {}, service: SERVICE, region: REGION, credentials })
        : signRequestSync({
            method: 'POST',
            url: `https://${HOST}/prod/items`,
            headers: { 'content-type': 'application/json' },
            body: BODY,
            service: SERVICE,
            region: REGION,
            credentials,
          });
  },

  // The addon's Signer, built once with the credentials and scope; each call passes only the
  // request, positionally.
  'ours-signer': () => {
    const { Signer } = require(ADDON_PACKAGE);
    if (typeof Signer !== 'function') throw new Error('the addon has no Signer');
    const signer = new Signer({
      credentials: { accessKeyId: BENCH_CREDENTIALS.accessKeyId, secretAccessKey: BENCH_CREDENTIALS.secretAccessKey },
      service: SERVICE,
      region: REGION,
    });
    const getUrl = `https://${HOST}/prod/items/42?limit=10&q=a%20b`;
    const postUrl = `https://${HOST}/prod/items`;
    const postHeaders = { 'content-type': 'application/json' };
    return (which) => (which === 0 ? signer.sign('GET', getUrl) : signer.sign('POST', postUrl, postHeaders, BODY));
  },

  // As the AWS SDK for JavaScript v3 signs in Node: Node's crypto through @smithy/hash-node.
  // applyChecksum: false, like the other signers here (no x-amz-content-sha256 header).
  smithy: () => {
    const { SignatureV4 } = requirePeer('@smithy/signature-v4');
    const { Hash } = requirePeer('@smithy/hash-node');
    const { HttpRequest } = requirePeer('@smithy/protocol-http');
    const signer = new SignatureV4({
      credentials: { accessKeyId: BENCH_CREDENTIALS.accessKeyId, secretAccessKey: BENCH_CREDENTIALS.secretAccessKey },
      region: REGION,
      service: SERVICE,
      sha256: Hash.bind(null, 'sha256'),
      applyChecksum: false,
    });
    return (which) =>
      signer.sign(
        which === 0
          ? new HttpRequest({ method: 'GET', protocol: 'https:', hostname: HOST, path: '/prod/items/42', query: { limit: '10', q: 'a b' }, headers: { host: HOST } })
          : new HttpRequest({
              method: 'POST',
              protocol: 'https:',
              hostname: HOST,
              path: '/prod/items',
              headers: { host: HOST, 'content-type': 'application/json' },
              body: BODY,
            }),
      );
  },

  aws4: () => {
    const aws4 = requirePeer('aws4');
    const credentials = { accessKeyId: BENCH_CREDENTIALS.accessKeyId, secretAccessKey: BENCH_CREDENTIALS.secretAccessKey };
    return (which) =>
      which === 0
        ? aws4.sign({ method: 'GET', host: HOST, path: '/prod/items/42?limit=10&q=a%20b', service: SERVICE, region: REGION, headers: {} }, credentials)
        : aws4.sign(
            { method: 'POST', host: HOST, path: '/prod/items', service: SERVICE, region: REGION, headers: { 'content-type': 'application/json' }, body: BODY },
            credentials,
          );
  },
};

async function run(sign, seconds) {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let ops = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 64; i += 1) {
      const result = sign(ops & 1);
      if (result && typeof result.then === 'function') await result;
      ops += 1;
    }
  }
  return ops / ((performance.now() - started) / 1000);
}

async function main() {
  const name = process.argv[2];
  const seconds = Number(process.argv[3] ?? 3);
  if (!SIGNERS[name]) throw new Error(`signer must be one of ${Object.keys(SIGNERS).join(', ')}`);
  if (!(seconds > 0 && seconds <= 600)) throw new Error('seconds must be in (0, 600]');
  const sign = SIGNERS[name]();
  await run(sign, WARMUP_SECONDS);
  const opsPerSec = await run(sign, seconds);
  process.stdout.write(`${JSON.stringify({ opsPerSec: Math.round(opsPerSec) })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
