'use strict';
// The packed linux-arm64-gnu binary, laid out from its tarballs the way npm installs them, loaded
// by an arm64 Node under qemu user-mode emulation: it proxies a request through SigV4Proxy to a
// verifying upstream on this host, which checks the signature with @smithy/signature-v4.
// Needs PROXY_SIGV4_DIST (the tarballs of scripts/pack.sh) and PROXY_SIGV4_ARM64_NODE
// (scripts/setup-arm64.sh); scripts/test.sh sets both.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startVerifyingUpstream } = require('../support/verifying-upstream');
const { DEMO_CREDENTIALS } = require('../support/addon');
const { unpack } = require('../support/tarballs');

const DIST = process.env.PROXY_SIGV4_DIST;
const ARM64_NODE = process.env.PROXY_SIGV4_ARM64_NODE;
const RUN_TIMEOUT_MS = 120_000; // emulated start-up of Node and the addon takes seconds

/** What the arm64 process runs: one proxied GET, reported as JSON on stdout. */
const CHILD = `
  const { SigV4Proxy } = require('proxy-sigv4-native');
  const proxy = new SigV4Proxy({ '/demo': { target: process.env.UPSTREAM + '/base', service: 'execute-api', region: 'us-east-1' } });
  proxy.handle(proxy.routeIndex('/demo/items?x=1'), { method: 'GET', url: '/demo/items?x=1', headers: ['accept', 'application/json'] }).then((response) => {
    const body = response.takeCompleteBody();
    console.log(JSON.stringify({
      arch: process.arch,
      node: process.version,
      binary: require.resolve('proxy-sigv4-native-linux-arm64-gnu'),
      status: response.status,
      body: body ? body.toString('utf8') : null,
    }));
  });
`;

function runArm64(cwd, env) {
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', ARM64_NODE, '-e', CHILD], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`arm64 node exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

test('the linux-arm64-gnu package loads in an arm64 Node and signs what an independent verifier accepts', {
  skip: !(DIST && ARM64_NODE) && 'set PROXY_SIGV4_DIST and PROXY_SIGV4_ARM64_NODE (scripts/test.sh does)',
  timeout: RUN_TIMEOUT_MS + 10_000,
}, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-sigv4-arm64-'));
  const upstream = await startVerifyingUpstream({ keys: new Map([[DEMO_CREDENTIALS.accessKeyId, DEMO_CREDENTIALS.secretAccessKey]]) });
  try {
    unpack(DIST, root, 'proxy-sigv4-native');
    unpack(DIST, root, 'proxy-sigv4-native-linux-arm64-gnu');
    const result = await runArm64(root, {
      UPSTREAM: upstream.url,
      AWS_ACCESS_KEY_ID: DEMO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DEMO_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    });
    assert.equal(result.arch, 'arm64');
    assert.equal(result.binary, path.join(root, 'node_modules', 'proxy-sigv4-native-linux-arm64-gnu', 'proxy-sigv4.linux-arm64-gnu.node'));
    assert.equal(result.status, 200, result.body);
    const [seen] = upstream.requests;
    assert.equal(seen.url, '/base/items?x=1');
    assert.equal(seen.signature.valid, true, seen.signature.reason);
    console.log(`arm64: Node ${result.node} (${result.arch}) under qemu loaded ${path.relative(root, result.binary)}; ` +
      `the upstream verified the signature (${seen.signature.service}/${seen.signature.region})`);
  } finally {
    await upstream.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
