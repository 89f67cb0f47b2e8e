'use strict';
// A loopback upstream that routes requests the way a Java servlet container (Tomcat 10) does:
// it reads the request path after dropping `;parameters` from each segment, percent-decoding
// once, merging repeated slashes and resolving dot segments, and serves its `/admin` webapp
// for any path that reads as `/admin/...`. It records the raw request target, the path it read
// and whether the SigV4 signature (checked by the independent verifier) was valid.

const http = require('node:http');
const { verifySigV4 } = require('./sigv4-verify');

/**
 * The path a servlet container routes on, or null where it answers 400 itself (an encoded `/`
 * or `\`, bad percent-encoding, `..` above the root), as Tomcat does by default.
 * @param {string} rawPath the request target's path, without the query
 */
function servletPath(rawPath) {
  const withoutParameters = rawPath
    .split('/')
    .map((segment) => segment.split(';')[0])
    .join('/');
  if (/%2f|%5c/i.test(withoutParameters)) return null;
  let decoded;
  try {
    decoded = decodeURIComponent(withoutParameters);
  } catch {
    return null;
  }
  const resolved = [];
  for (const segment of decoded.replace(/\/+/g, '/').split('/').slice(1)) {
    if (segment === '.') continue;
    if (segment === '..') {
      if (resolved.length === 0) return null;
      resolved.pop();
      continue;
    }
    resolved.push(segment);
  }
  return `/${resolved.join('/')}`;
}

/**
 * @param {{ keys: Map<string, string> }} options accessKeyId -> secretAccessKey
 * @returns {Promise<{ url: string, requests: Array<{ method: string, url: string,
 *   servletPath: string | null, webapp: string | null, signatureValid: boolean }>,
 *   reset(): void, close(): Promise<void> }>}
 */
async function startServletUpstream({ keys }) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const signature = await verifySigV4({
      method: req.method,
      url: req.url,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks),
      keys,
    });
    const path = servletPath(req.url.split('?')[0]);
    const webapp = path === null ? null : path === '/admin' || path.startsWith('/admin/') ? 'admin' : 'root';
    requests.push({ method: req.method, url: req.url, servletPath: path, webapp, signatureValid: signature.valid });
    const body = JSON.stringify(path === null ? { error: 'bad request' } : { webapp, path });
    res.writeHead(path === null ? 400 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    reset: () => requests.splice(0),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

module.exports = { servletPath, startServletUpstream };
