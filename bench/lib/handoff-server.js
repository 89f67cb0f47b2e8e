'use strict';
// A plain Node HTTP server (no Backstage) for bench/run.js's hand-off phase: what waking another
// thread and waiting for its answer adds to a request's latency on this machine, apart from
// any work. HANDOFF_MODE says what each request does before it answers SMALL_BODY:
//   direct       nothing
//   addon        one `SigV4Proxy.handle` on a path no route serves: the addon's Tokio worker
//                answers 404 at once (no upstream, no signing), so the request makes the
//                proxy's two hand-offs (JavaScript thread -> worker -> JavaScript thread) and
//                next to nothing else
//   node-worker  one message to a Node worker thread and its reply: the same two hand-offs
//                without the addon, to show what the machine charges for them
// Prints one JSON line `{ "ready": true, "pid", "url" }` when listening on 127.0.0.1:PORT.

const http = require('node:http');
const { Worker } = require('node:worker_threads');
const { SMALL_BODY } = require('./bodies');

const MODES = ['direct', 'addon', 'node-worker'];
const mode = process.env.HANDOFF_MODE;
if (!MODES.includes(mode)) throw new Error(`HANDOFF_MODE must be one of ${MODES.join(', ')}`);

/** `() => Promise<void>`: one round trip to the other thread, or nothing. */
function handOff() {
  if (mode === 'addon') {
    // The native package resolves the addon named by NAPI_RS_NATIVE_LIBRARY_PATH (bench/lib/addon.js).
    const { SigV4Proxy } = require('../../packages/native');
    const proxy = new SigV4Proxy({ '/bench': { target: 'http://127.0.0.1:9/', service: 'execute-api', region: 'us-east-1' } });
    const noRoute = proxy.routeIndex('/none');
    return async () => {
      const response = await proxy.handle(noRoute, { method: 'GET', url: '/none', headers: [] });
      if (response.status !== 404) throw new Error(`expected the addon's 404, got ${response.status}`);
    };
  }
  if (mode === 'node-worker') {
    const worker = new Worker("require('node:worker_threads').parentPort.on('message', (n) => require('node:worker_threads').parentPort.postMessage(n))", { eval: true });
    const waiting = new Map();
    let next = 0;
    worker.on('message', (n) => {
      waiting.get(n)();
      waiting.delete(n);
    });
    worker.unref();
    return () => new Promise((resolve) => {
      next += 1;
      waiting.set(next, resolve);
      worker.postMessage(next);
    });
  }
  return null;
}

const roundTrip = handOff();
const server = http.createServer((req, res) => {
  const answer = () => res.end(SMALL_BODY);
  if (!roundTrip) return answer();
  roundTrip().then(answer, (error) => {
    res.statusCode = 500;
    res.end(String(error.message));
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, url: `http://127.0.0.1:${port}` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
