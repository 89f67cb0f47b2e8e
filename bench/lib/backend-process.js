'use strict';
// A production Backstage backend (backend-defaults, from bench/peers) on 127.0.0.1:PORT with one
// benchmark subject, chosen by BENCH_SUBJECT:
//   ours           the proxy-sigv4 plugin (plugins/proxy-sigv4-backend/dist), signing, /api/proxy-sigv4/bench
//   ours-unaudited its legacy createRouter, mounted like Segment's: the same, without an auditor
//   segment        @segment/backstage-plugin-proxy-sigv4-backend's router, signing, /api/proxy-sigv4/bench
//   proxy-backend  @backstage/plugin-proxy-backend, unsigned, /api/proxy/bench
//   floor          a tiny plugin that answers at once with a small body, /api/bench-floor/bench
//   floor-fetch    a tiny plugin that fetches the same GET from the upstream over a keep-alive
//                  agent and pipes the answer back, unsigned: the least a proxy written in Node
//                  costs, /api/bench-floor/bench (optional: not part of a full run)
// Every subject runs on the same Backstage packages, logs at LOG_LEVEL (default warn) and
// requires the static external-access token of bench/lib/credentials.js (401 without it).
// Prints one JSON line `{ "ready": true, "pid": N, "prefix": "/api/..." }` when serving.
// With BENCH_GC_FILE set, it counts its garbage-collection pauses and writes the totals to that
// file on SIGUSR2 (bench/lib/cost.js reads them). With BENCH_CPU_PROFILE set instead, the first
// SIGUSR2 starts V8's CPU profiler and the second writes the profile to that file (bench/profile.js).
//   BENCH_SUBJECT=ours PORT=7100 UPSTREAM_URL=http://127.0.0.1:NNNN node bench/lib/backend-process.js

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { PerformanceObserver, constants: perfConstants } = require('node:perf_hooks');
const { createRequire } = require('node:module');
const { BENCH_CREDENTIALS, BENCH_TOKEN } = require('./credentials');
const { useStaticCredentials } = require('../../__test__/support/aws-env');
const { SMALL_BODY } = require('./bodies');

const peersDir = path.resolve(__dirname, '../peers');
const requirePeer = createRequire(path.join(peersDir, 'package.json'));
const pluginDir = path.resolve(__dirname, '../../plugins/proxy-sigv4-backend');

const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT);
const UPSTREAM_URL = process.env.UPSTREAM_URL;
const SUBJECT = process.env.BENCH_SUBJECT ?? 'ours';
const SERVICE = 'execute-api';
const REGION = 'us-east-1';

function loadFramework() {
  try {
    return {
      createBackend: requirePeer('@backstage/backend-defaults').createBackend,
      ...requirePeer('@backstage/backend-plugin-api'),
      ConfigReader: requirePeer('@backstage/config').ConfigReader,
    };
  } catch (error) {
    throw new Error(`bench/peers is not installed (run bench/setup.sh): ${error.message}`);
  }
}

/** The route every signing subject serves, in the `proxysigv4` format ours and Segment's share. */
const SIGNED_ROUTE_CONFIG = { proxysigv4: { '/bench': { target: UPSTREAM_URL, service: SERVICE, region: REGION } } };

/** The subjects: each gives its config section, its plugin and the path prefix it serves. */
const SUBJECTS = {
  ours: () => ({
    prefix: '/api/proxy-sigv4/bench',
    config: SIGNED_ROUTE_CONFIG,
    plugin: require(pluginDir).default,
  }),

  // The same plugin code, mounted as a legacy backend mounts it (`createRouter`), which has no
  // auditor: it shows what Backstage's per-request audit event costs ours. Not a goal subject.
  'ours-unaudited': (framework) => ({
    prefix: '/api/proxy-sigv4/bench',
    config: SIGNED_ROUTE_CONFIG,
    plugin: routerPlugin(framework, 'proxy-sigv4', ({ config, logger, httpAuth }) =>
      require(pluginDir).createRouter({ config, logger, httpAuth }),
    ),
  }),

  // Segment's own plugin export registers `allow: 'unauthenticated'` for everything unless
  // `proxysigv4.allowUnauthenticatedRequests` is false, and that key crashes its startup (its
  // router parses it as a route). So its published router is mounted here by a wrapper that,
  // like the other subjects, leaves Backstage's default policy in place: credentials required.
  segment: (framework) => ({
    prefix: '/api/proxy-sigv4/bench',
    config: SIGNED_ROUTE_CONFIG,
    plugin: routerPlugin(framework, 'proxy-sigv4', ({ config, logger }) =>
      requirePeer('@segment/backstage-plugin-proxy-sigv4-backend').createRouter({ config, logger }),
    ),
  }),

  'proxy-backend': () => ({
    prefix: '/api/proxy/bench',
    // credentials: require (the default, written out): Backstage user or service credentials.
    config: { proxy: { endpoints: { '/bench': { target: UPSTREAM_URL, credentials: 'require' } } } },
    plugin: requirePeer('@backstage/plugin-proxy-backend').default,
  }),

  'floor-fetch': (framework) => ({
    prefix: '/api/bench-floor/bench',
    config: {},
    plugin: handlerPlugin(framework, 'bench-floor', fetchFromUpstream(new http.Agent({ keepAlive: true }))),
  }),

  floor: (framework) => ({
    prefix: '/api/bench-floor/bench',
    config: {},
    plugin: handlerPlugin(framework, 'bench-floor', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': SMALL_BODY.length });
      res.end(SMALL_BODY);
    }),
  }),
};

/**
 * The floor plus one upstream round trip: each request is fetched from the upstream (the path
 * below `/bench`, its query, no headers of the caller's) over `agent`, and the upstream's status,
 * content type and body are piped back.
 */
function fetchFromUpstream(agent) {
  return (req, res) => {
    const upstream = http.get(`${UPSTREAM_URL}${req.url.replace(/^\/bench/, '')}`, { agent }, (answer) => {
      res.writeHead(answer.statusCode, { 'content-type': answer.headers['content-type'] ?? 'application/octet-stream' });
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  };
}

/** A plugin whose router is one request handler, under Backstage's default auth policy: credentials required. */
function handlerPlugin({ createBackendPlugin, coreServices }, pluginId, handler) {
  return createBackendPlugin({
    pluginId,
    register(env) {
      env.registerInit({
        deps: { httpRouter: coreServices.httpRouter },
        async init({ httpRouter }) {
          httpRouter.use(handler);
        },
      });
    },
  });
}

/**
 * A plugin that mounts an express router made by `makeRouter` (a legacy `createRouter`) under
 * Backstage's default auth policy: credentials required.
 */
function routerPlugin({ createBackendPlugin, coreServices }, pluginId, makeRouter) {
  return createBackendPlugin({
    pluginId,
    register(env) {
      env.registerInit({
        deps: {
          config: coreServices.rootConfig,
          logger: coreServices.logger,
          httpRouter: coreServices.httpRouter,
          httpAuth: coreServices.httpAuth,
        },
        async init({ httpRouter, ...services }) {
          httpRouter.use(await makeRouter(services));
        },
      });
    },
  });
}

/**
 * Counts garbage-collection pauses of this process. Each SIGUSR2 writes the totals so far, with
 * a sequence number and the longest pause since the previous signal, to `file`.
 */
function watchGarbageCollection(file) {
  // scavenge: the young generation's collections; other: mark-compact, incremental marking, weak callbacks.
  const totals = { seq: 0, scavenge: { count: 0, ms: 0 }, other: { count: 0, ms: 0 }, longestMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = entry.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR ? totals.scavenge : totals.other;
      kind.count += 1;
      kind.ms += entry.duration;
      totals.longestMs = Math.max(totals.longestMs, entry.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    totals.seq += 1;
    // Written whole, then renamed, so the harness never reads half a file.
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(totals));
    fs.renameSync(`${file}.tmp`, file);
    totals.longestMs = 0;
  });
}

/** Profiles the JavaScript thread between two SIGUSR2s and writes the profile to `file`. */
function profileBetweenSignals(file) {
  const inspector = require('node:inspector');
  const session = new inspector.Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 100 }, () => session.post('Profiler.start')));
      return;
    }
    running = false;
    session.post('Profiler.stop', (error, result) => {
      if (error) throw error;
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
      fs.renameSync(`${file}.tmp`, file);
    });
  });
}

async function main() {
  if (!SUBJECTS[SUBJECT]) throw new Error(`BENCH_SUBJECT must be one of ${Object.keys(SUBJECTS).join(', ')}`);
  process.env.LOG_LEVEL = process.env.LOG_LEVEL || 'warn';
  if (process.env.BENCH_GC_FILE) watchGarbageCollection(process.env.BENCH_GC_FILE);
  else if (process.env.BENCH_CPU_PROFILE) profileBetweenSignals(process.env.BENCH_CPU_PROFILE);
  useStaticCredentials(BENCH_CREDENTIALS);
  const framework = loadFramework();
  const { createBackend, coreServices, createServiceFactory, ConfigReader } = framework;
  const subject = SUBJECTS[SUBJECT](framework);
  const config = {
    backend: {
      baseUrl: `http://${HOST}:${PORT}`,
      listen: { host: HOST, port: PORT },
      database: { client: 'better-sqlite3', connection: ':memory:' },
      auth: { externalAccess: [{ type: 'static', options: { token: BENCH_TOKEN, subject: 'bench' } }] },
    },
    ...subject.config,
  };
  const backend = createBackend();
  backend.add(createServiceFactory({ service: coreServices.rootConfig, deps: {}, factory: () => new ConfigReader(config) }));
  backend.add(subject.plugin);
  await backend.start();
  // Which native addon file was loaded (ours only), so the harness can report the build it measured.
  const addon = Object.keys(require.cache).find((file) => file.endsWith('.node') && /proxy[-_]sigv4/.test(path.basename(file)));
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, subject: SUBJECT, prefix: subject.prefix, addon })}\n`);
  process.on('SIGTERM', () => backend.stop().then(() => process.exit(0)));
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
