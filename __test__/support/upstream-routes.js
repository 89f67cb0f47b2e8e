'use strict';
// What the verifying upstream answers once a request is recorded: special endpoints that tests
// use to observe streaming and backpressure, and a JSON echo for everything else.

const { sha256Hex } = require('./sigv4-verify');
const { splitRawUrl } = require('./sigv4-parse');

// Headers a faithful proxy must pass back (several are dropped by naive header allow-lists).
const UPSTREAM_HEADERS = {
  etag: '"v1"',
  location: '/somewhere',
  'x-amzn-requestid': 'test-request-id',
  'set-cookie': 'upstream=secret',
  connection: 'keep-alive',
  'x-upstream': 'yes',
};

const MAX_CHUNKS = 100;
const MAX_CHUNK_DELAY_MS = 2000;
const MAX_BYTES = 2 * 1024 ** 3;
const WRITE_SIZE = 64 * 1024;
const PATTERN_PERIOD = 251; // prime, so a misplaced 64 KiB block changes the bytes seen

/** Byte at offset i of a /__bytes body: lets a test check content without keeping a copy. */
function patternByte(i) {
  return i % PATTERN_PERIOD;
}
const PATTERN = Buffer.from(Uint8Array.from({ length: WRITE_SIZE + PATTERN_PERIOD }, (_, i) => patternByte(i)).buffer);

/**
 * Routes one recorded request; `record` is the entry pushed to upstream.requests.
 * Special endpoints match on the path's end, so they work behind a route's base path
 * (target http://127.0.0.1:PORT/base -> /base/__chunks).
 */
function respond(req, res, record) {
  // Split by hand: new URL() would read a raw '//x' path as a host name.
  const { path, query } = splitRawUrl(record.url);
  const params = new URLSearchParams(query);
  if (path.endsWith('/__chunks')) return sendChunks(res, params);
  if (path.endsWith('/__bytes')) return sendBytes(res, params, record);
  const status = /\/__status\/(\d{3})$/.exec(path);
  if (status) return sendEcho(res, Number(status[1]), record);
  return sendEcho(res, 200, record);
}

function echoBody(record) {
  return {
    method: record.method,
    url: record.url,
    signatureValid: record.signature.valid,
    reason: record.signature.reason,
    bodyLength: record.body.length,
    bodySha256: sha256Hex(record.body),
    contentType: record.headers['content-type'],
  };
}

function sendEcho(res, status, record) {
  if (status < 200 || status > 599) return sendError(res, 400, `status ${status} not supported`);
  const noBody = status === 204 || status === 304;
  const body = noBody ? '' : JSON.stringify(echoBody(record));
  res.writeHead(status, {
    ...UPSTREAM_HEADERS,
    ...(!noBody && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
  });
  res.end(body);
}

function sendError(res, status, message) {
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** N chunks `chunk-<i>\n`, M ms apart, chunked encoding: shows whether a proxy buffers. */
function sendChunks(res, params) {
  const count = Number(params.get('count') ?? 5);
  const delayMs = Number(params.get('delayMs') ?? 100);
  if (!(Number.isInteger(count) && count >= 0 && count <= MAX_CHUNKS)) {
    return sendError(res, 400, `count must be an integer 0..${MAX_CHUNKS}`);
  }
  if (!(Number.isInteger(delayMs) && delayMs >= 0 && delayMs <= MAX_CHUNK_DELAY_MS)) {
    return sendError(res, 400, `delayMs must be an integer 0..${MAX_CHUNK_DELAY_MS}`);
  }
  res.writeHead(200, { ...UPSTREAM_HEADERS, 'content-type': 'text/plain' });
  let i = 0;
  let timer = null;
  const next = () => {
    if (res.destroyed) return;
    if (i >= count) return res.end();
    res.write(`chunk-${i++}\n`);
    timer = setTimeout(next, delayMs);
  };
  res.on('close', () => clearTimeout(timer)); // client gone: stop the timer chain
  res.flushHeaders();
  next();
}

/**
 * N pattern bytes with content-length, written only as fast as the reader takes them.
 * record.bytesWritten grows live, so a test can see that a slow reader holds the upstream back.
 */
function sendBytes(res, params, record) {
  const size = Number(params.get('size') ?? 0);
  if (!(Number.isInteger(size) && size >= 0 && size <= MAX_BYTES)) {
    return sendError(res, 400, `size must be an integer 0..${MAX_BYTES}`);
  }
  res.writeHead(200, { ...UPSTREAM_HEADERS, 'content-type': 'application/octet-stream', 'content-length': size });
  let sent = 0;
  record.bytesWritten = 0;
  const pump = () => {
    while (sent < size && !res.destroyed) {
      const n = Math.min(WRITE_SIZE, size - sent);
      const start = sent % PATTERN_PERIOD;
      sent += n;
      record.bytesWritten = sent;
      // write() returning false means the socket buffer is full: wait for 'drain'.
      if (!res.write(PATTERN.subarray(start, start + n))) return res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

module.exports = { respond, sendError, patternByte, UPSTREAM_HEADERS, MAX_CHUNKS, MAX_BYTES };
