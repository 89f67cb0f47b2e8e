'use strict';
// The throughput upstream, in a process of its own: answers every request at once with a small
// fixed JSON body and checks no signature (a verifying upstream would be the bottleneck).
//   GET /__bytes?size=N   streams N bytes in 64 KiB writes, waiting for 'drain' when a write
//                         returns false (backpressure), for the large-response test.
//   anything else         200 with bench/lib/bodies.js's SMALL_BODY
// A control server on a Unix socket answers (not TCP: a peer that opens a connection per request
// can use up the loopback's ephemeral ports, and the harness must still reach this)
//   GET /stats            { "accepted", "requests", "sigv4Requests" }: TCP connections accepted
//                         so far, requests answered, and how many carried a SigV4 Authorization
//                         header (checked by prefix only, to show who signs)
// Prints one JSON line `{ "url", "controlSocket", "pid" }` when listening on 127.0.0.1.

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { SMALL_BODY } = require('./bodies');

const CHUNK = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz012345');
const MAX_BYTES = 16 * 2 ** 30;

let accepted = 0;
let requests = 0;
let sigv4Requests = 0;

function streamBytes(res, size) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
  let left = size;
  const pump = () => {
    while (left > 0) {
      const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.once('close', () => {
    left = 0;
    res.removeListener('drain', pump);
  });
  pump();
}

const server = http.createServer((req, res) => {
  req.resume();
  requests += 1;
  if (req.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) sigv4Requests += 1;
  if (req.url.startsWith('/__bytes')) {
    const size = Number(new URL(req.url, 'http://upstream').searchParams.get('size'));
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_BYTES) {
      res.writeHead(400).end('size must be an integer number of bytes up to 16 GiB\n');
      return;
    }
    streamBytes(res, size);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': SMALL_BODY.length });
  res.end(SMALL_BODY);
});
server.on('connection', () => {
  accepted += 1;
});
// Node's default keep-alive timeout (5 s) stays: a client's idle pooled connections from an
// earlier run are closed before the next run of the same subject, so each run's count is fresh.

const control = http.createServer((req, res) => {
  if (req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted, requests, sigv4Requests }));
    return;
  }
  res.writeHead(404).end();
});

const controlSocket = path.join(os.tmpdir(), `proxy-sigv4-bench-upstream-${process.pid}.sock`);
fs.rmSync(controlSocket, { force: true });

server.listen(0, '127.0.0.1', () => {
  control.listen(controlSocket, () => {
    process.stdout.write(
      `${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}`, controlSocket, pid: process.pid })}\n`,
    );
  });
});

process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  control.close();
  fs.rmSync(controlSocket, { force: true });
  process.exit(0);
});
