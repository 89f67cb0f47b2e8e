'use strict';
// A production Backstage backend (backend-defaults) with the built proxy-sigv4 plugin, on
// 127.0.0.1:PORT, proxying /api/proxy-sigv4/bench to UPSTREAM_URL. Requests authenticate with
// a static token. Prints one JSON line `{ "ready": true }` when serving.
//   PORT=7100 UPSTREAM_URL=http://127.0.0.1:NNNN node bench/lib/backend-process.js

const path = require('node:path');
const { createRequire } = require('node:module');
const { BENCH_CREDENTIALS, BENCH_TOKEN } = require('./credentials');

const pluginDir = path.resolve(__dirname, '../../backstage-plugin');
const requireFromPlugin = createRequire(path.join(pluginDir, 'package.json'));
const { createBackend } = requireFromPlugin('@backstage/backend-defaults');
const { coreServices, createServiceFactory } = requireFromPlugin('@backstage/backend-plugin-api');
const { ConfigReader } = requireFromPlugin('@backstage/config');

const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT);
const UPSTREAM_URL = process.env.UPSTREAM_URL;

async function main() {
  process.env.AWS_ACCESS_KEY_ID = BENCH_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = BENCH_CREDENTIALS.secretAccessKey;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const config = {
    backend: {
      baseUrl: `http://${HOST}:${PORT}`,
      listen: { host: HOST, port: PORT },
      database: { client: 'better-sqlite3', connection: ':memory:' },
      auth: { externalAccess: [{ type: 'static', options: { token: BENCH_TOKEN, subject: 'bench' } }] },
    },
    proxysigv4: { '/bench': { target: UPSTREAM_URL, service: 'execute-api', region: 'us-east-1' } },
  };
  const backend = createBackend();
  backend.add(createServiceFactory({ service: coreServices.rootConfig, deps: {}, factory: () => new ConfigReader(config) }));
  backend.add(require(pluginDir).default);
  await backend.start();
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
  process.on('SIGTERM', () => backend.stop().then(() => process.exit(0)));
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
