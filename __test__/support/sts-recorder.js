'use strict';
// A loopback pass-through in front of moto's STS: forwards requests unchanged (so signatures
// stay valid), counts calls by Action, and remembers the credentials STS handed out so the
// verifying upstream can check signatures made with them.

const http = require('node:http');

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);

/**
 * @param {string} targetUrl moto's base url, e.g. http://127.0.0.1:PORT
 * @returns {Promise<{ url: string, calls: Record<string, number>,
 *   issued: Map<string, { secretAccessKey: string, sessionToken: string, expiration?: string }>,
 *   requests: Array<{ action: string, params: Record<string,string>, status: number | null }>,
 *   close(): Promise<void> }>}
 *   requests[].status is null when the target was unreachable (the client's socket is then
 *   destroyed, as a caller talking to a dead STS would see it).
 */
async function startStsRecorder(targetUrl) {
  const target = new URL(targetUrl);
  const calls = {};
  const issued = new Map();
  const requests = [];
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  async function handle(req, res) {
    const body = await readAll(req);
    const params = requestParams(req, body);
    const action = actionOf(req, params);
    calls[action] = (calls[action] || 0) + 1;
    const entry = { action, params, status: null };
    requests.push(entry);
    try {
      const upstream = await forward(target, req, body);
      entry.status = upstream.status;
      recordCredentials(upstream.body.toString('utf8'), issued);
      res.writeHead(upstream.status, withoutHopByHop(upstream.rawHeaders));
      res.end(upstream.body);
    } catch {
      res.destroy(); // target down: look like an unreachable STS
    }
  }
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls,
    issued,
    requests,
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

/** Sends the request as received (same method, raw target, headers, body); buffers the answer. */
function forward(target, req, body) {
  return new Promise((resolve, reject) => {
    const out = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: withoutHopByHop(req.rawHeaders),
        agent: false,
        timeout: 30_000,
      },
      (res) => {
        readAll(res).then((resBody) => resolve({ status: res.statusCode, rawHeaders: res.rawHeaders, body: resBody }), reject);
      },
    );
    out.once('timeout', () => out.destroy(new Error('STS target timed out')));
    out.once('error', reject);
    out.end(body);
  });
}

/** Query parameters merged with a form-encoded body (the awsQuery protocol STS uses). */
function requestParams(req, body) {
  const params = {};
  const q = req.url.indexOf('?');
  if (q >= 0) Object.assign(params, Object.fromEntries(new URLSearchParams(req.url.slice(q + 1))));
  const type = req.headers['content-type'] || '';
  if (type.includes('application/x-www-form-urlencoded') || (!type && /^[\w.%-]+=/.test(body.toString('latin1', 0, 64)))) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  }
  return params;
}

/** Action from awsQuery params, else from a JSON-protocol x-amz-target ('Svc.AssumeRole'). */
function actionOf(req, params) {
  if (params.Action) return params.Action;
  const target = req.headers['x-amz-target'];
  if (target) return target.slice(target.lastIndexOf('.') + 1);
  return 'unknown';
}

/** Credentials in an STS answer (XML, or JSON just in case) -> issued map. */
function recordCredentials(text, issued) {
  const xml = /<Credentials>([\s\S]*?)<\/Credentials>/.exec(text);
  if (xml) {
    const field = (name) => {
      const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml[1]);
      return m ? unescapeXml(m[1].trim()) : undefined;
    };
    const accessKeyId = field('AccessKeyId');
    if (accessKeyId) {
      issued.set(accessKeyId, {
        secretAccessKey: field('SecretAccessKey'),
        sessionToken: field('SessionToken'),
        expiration: field('Expiration'),
      });
    }
    return;
  }
  try {
    const c = JSON.parse(text).Credentials;
    if (c && c.AccessKeyId) {
      issued.set(c.AccessKeyId, { secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration });
    }
  } catch {
    // not JSON: nothing issued
  }
}

function unescapeXml(s) {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}

function withoutHopByHop(rawHeaders) {
  const out = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) out.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return out;
}

function readAll(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

module.exports = { startStsRecorder };
