'use strict';
// A loopback HTTP upstream that records every request and checks its SigV4 signature with an
// independent signer: the oracle the addon, plugin and demo tests assert against.

const http = require('node:http');
const https = require('node:https');
const { verifySigV4 } = require('./sigv4-verify');
const { respond, sendError } = require('./upstream-routes');

const KEEP_ALIVE_TIMEOUT_MS = 30_000; // longer than any test, so connection counts mean reuse

/**
 * @param {{ keys: Map<string,string>, strict?: boolean, tls?: { key: Buffer, cert: Buffer } }} options
 *   keys: accessKeyId -> secretAccessKey, read per request (tests may add keys later).
 *   strict: answer invalid signatures with 403 `{ message }` instead of serving them.
 *   tls: serve HTTPS with this key and certificate (see test-ca.js); url is then https://.
 * @returns {Promise<{ url: string, port: number, requests: object[], connections(): number,
 *   reset(): void, close(): Promise<void> }>}
 */
async function startVerifyingUpstream({ keys, strict = false, tls } = {}) {
  if (!(keys instanceof Map)) throw new TypeError('startVerifyingUpstream: options.keys must be a Map');
  const requests = [];
  const sockets = new Set();
  let connectionCount = 0;

  const onRequest = (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendError(res, 500, `verifying upstream failed: ${err.message}`);
      else res.destroy(err);
    });
  };
  const server = tls
    ? https.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, key: tls.key, cert: tls.cert }, onRequest)
    : http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, onRequest);
  // A client that refuses the certificate ends the handshake: expected in TLS tests.
  server.on('tlsClientError', () => undefined);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5_000; // must exceed keepAliveTimeout

  server.on('connection', (socket) => {
    connectionCount++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  async function handle(req, res) {
    const { body, complete } = await readBody(req);
    const signature = complete
      ? await verifySigV4({ method: req.method, url: req.url, rawHeaders: req.rawHeaders, body, keys })
      : { valid: false, reason: 'request body incomplete (client went away)' };
    const record = {
      method: req.method,
      url: req.url,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body,
      signature,
      aborted: false, // becomes true if the client goes away before the response is complete
    };
    // Recorded before answering, so a test that got the response always finds its record.
    requests.push(record);
    if (!complete) {
      record.aborted = true;
      return;
    }
    res.once('close', () => {
      if (!res.writableFinished) record.aborted = true;
    });
    if (strict && !signature.valid) return sendError(res, 403, signature.reason);
    respond(req, res, record);
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address();

  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    /** TCP connections accepted since start (or the last reset()). */
    connections: () => connectionCount,
    /** Forgets recorded requests and zeroes the connection count (open sockets stay open). */
    reset() {
      requests.length = 0;
      connectionCount = 0;
    },
    /** Stops listening and destroys open (keep-alive or streaming) sockets so nothing hangs. */
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

/** Whole body; `complete: false` when the client aborted mid-upload (still worth recording). */
function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    const done = (complete) => resolve({ body: Buffer.concat(chunks), complete });
    req.on('data', (chunk) => chunks.push(chunk));
    req.once('end', () => done(true));
    req.once('error', () => done(false));
    req.once('close', () => done(req.complete)); // no-op if 'end' resolved first
  });
}

module.exports = { startVerifyingUpstream };
