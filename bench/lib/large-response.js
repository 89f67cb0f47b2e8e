'use strict';
// One large streamed response through a backend: a Node client that discards the bytes, while the
// backend's RSS is sampled every 100 ms from /proc/PID/status. Bounded by a time limit and an RSS
// limit (a subject that buffers whole bodies would otherwise take the machine's memory); when
// either is hit the request is abandoned and the result says which and where it stood.

const http = require('node:http');
const { rssMiB } = require('./processes');

const SAMPLE_MS = 100;
const MiB = 2 ** 20;

/**
 * @returns {Promise<{ finished: boolean, outcome: string, status: number | null, bytes: number,
 *   expectedBytes: number, seconds: number, mibPerSec: number | null, ttfbMs: number | null,
 *   rssBeforeMiB: number, peakRssMiB: number, rssGrowthMiB: number }>}
 */
function measureLargeResponse({ url, headers, size, pid, timeoutSeconds, rssLimitMiB }) {
  const rssBefore = rssMiB(pid);
  let peak = rssBefore;
  const started = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
  return new Promise((resolve) => {
    let bytes = 0;
    let status = null;
    let ttfbMs = null;
    let done = false;
    let request;
    const finish = (outcome, finished) => {
      if (done) return;
      done = true;
      const ms = elapsedMs();
      clearInterval(sampler);
      clearTimeout(timer);
      try {
        peak = Math.max(peak, rssMiB(pid));
      } catch {
        // the backend exited: keep the last sample
      }
      request.destroy();
      resolve({
        finished,
        outcome,
        status,
        bytes,
        expectedBytes: size,
        seconds: ms / 1000,
        mibPerSec: finished ? bytes / MiB / (ms / 1000) : null,
        ttfbMs,
        rssBeforeMiB: rssBefore,
        peakRssMiB: peak,
        rssGrowthMiB: peak - rssBefore,
      });
    };
    const sampler = setInterval(() => {
      let rss;
      try {
        rss = rssMiB(pid);
      } catch {
        finish('the backend process exited', false);
        return;
      }
      peak = Math.max(peak, rss);
      if (rss > rssLimitMiB) {
        finish(`abandoned: backend RSS reached ${rss.toFixed(0)} MiB (limit ${rssLimitMiB} MiB) ` +
          `after ${(elapsedMs() / 1000).toFixed(1)} s, ${(bytes / MiB).toFixed(0)} MiB received`, false);
      }
    }, SAMPLE_MS);
    const timer = setTimeout(() => {
      finish(`did not finish within ${timeoutSeconds} s: ${(bytes / MiB).toFixed(0)} of ${(size / MiB).toFixed(0)} MiB ` +
        `received, backend RSS peaked at ${peak.toFixed(0)} MiB`, false);
    }, timeoutSeconds * 1000);
    request = http.get(url, { headers, agent: false }, (res) => {
      status = res.statusCode;
      res.on('data', (chunk) => {
        if (ttfbMs === null) ttfbMs = elapsedMs();
        bytes += chunk.length;
      });
      res.on('end', () => {
        if (status !== 200) finish(`answered ${status}`, false);
        else if (bytes !== size) finish(`ended after ${bytes} of ${size} bytes`, false);
        else if (ttfbMs > 0.5 * elapsedMs()) {
          finish(`finished, but the first byte came only after ${(ttfbMs / 1000).toFixed(1)} s of ` +
            `${(elapsedMs() / 1000).toFixed(1)} s (the whole body was buffered first)`, true);
        } else finish('finished', true);
      });
      res.on('error', (error) => finish(`response error: ${error.message}`, false));
    });
    request.on('error', (error) => finish(`request error: ${error.message}`, false));
  });
}

module.exports = { measureLargeResponse };
