'use strict';
// A fixed number of GETs over a fixed number of keep-alive connections, for the phases that count
// work per request (instructions, system calls) rather than time: wrk runs for a duration, these
// need an exact count. Runs in the harness process, so its own work is never counted.

const http = require('node:http');

/**
 * Sends `count` GETs to `url`, at most `connections` at a time, each connection reused.
 * Resolves with `{ ok, failed }` (2xx answers and the rest); rejects after `timeoutMs`.
 */
async function sendRequests({ url, headers = {}, connections, count, timeoutMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const deadline = Date.now() + timeoutMs;
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      if (Date.now() > deadline) throw new Error(`${count} requests to ${url} did not finish within ${timeoutMs} ms`);
      const status = await get(url, headers, agent, Math.max(1, deadline - Date.now()));
      if (status >= 200 && status < 300) ok += 1;
      else failed += 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    agent.destroy();
  }
  return { ok, failed };
}

function get(url, headers, agent, timeoutMs) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent, timeout: timeoutMs }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

module.exports = { sendRequests };
