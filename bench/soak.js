'use strict';
// Soak: 64 concurrent connections for 60 s through a real Backstage backend with the plugin,
// signing every request for a verifying upstream (strict: a bad signature would be a 403).
// Passes when there are zero errors and the backend's RSS peak over the last 20 s of the run is at
// most 10% above its peak over the first 20 s after warm-up. Writes the numbers to bench/soak-result.json; RESULTS.md quotes them.
//   node bench/soak.js [--connections 64] [--seconds 60] [--warmup 30]

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeProcess, stopProcess, rssMiB, freePort } = require('./lib/processes');
const { runWrk, runWrkAsync } = require('./lib/wrk');
const { BENCH_TOKEN } = require('./lib/credentials');
const { chooseAddon } = require('./lib/addon');

/** Seconds at each end of the run whose RSS peaks are compared. */
const WINDOW_SECONDS = 20;

/** The backend's RSS in MiB, once a second for `seconds`. */
async function sampleRss(pid, seconds) {
  const samples = [];
  for (let i = 0; i < seconds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    samples.push(rssMiB(pid));
  }
  return samples;
}

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

async function main() {
  const connections = option('connections', 64);
  const seconds = option('seconds', 60);
  // Long enough that start-up garbage is gone from the baseline.
  const warmup = option('warmup', 30);
  const addon = chooseAddon();
  const upstream = await startNodeProcess(path.join(__dirname, 'lib/upstream-process.js'));
  const port = await freePort();
  const backend = await startNodeProcess(path.join(__dirname, 'lib/backend-process.js'), {
    ...addon.env,
    BENCH_SUBJECT: 'ours',
    PORT: String(port),
    UPSTREAM_URL: upstream.info.url,
  });
  try {
    const url = `http://127.0.0.1:${port}/api/proxy-sigv4/bench/items/1?q=soak`;
    const headers = { Authorization: `Bearer ${BENCH_TOKEN}` };
    const warm = runWrk({ url, connections, seconds: warmup, headers });
    const running = runWrkAsync({ url, connections, seconds, headers });
    const samples = await sampleRss(backend.info.pid, seconds);
    const run = await running;
    // RSS under load is a garbage-collection sawtooth (+-25% within half a minute), so one
    // reading at each end compares random points of it. A sawtooth's peaks are steady and a
    // leak lifts them: compare the peak of the first and of the last window of the run.
    const window = Math.min(WINDOW_SECONDS, Math.floor(samples.length / 2));
    const rssAfterWarmup = Math.max(...samples.slice(0, window));
    const rssAtEnd = Math.max(...samples.slice(-window));
    const growth = (rssAtEnd - rssAfterWarmup) / rssAfterWarmup;
    const errors = warm.socketErrors + warm.non2xx + run.socketErrors + run.non2xx;
    const result = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} x ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      addon: `${addon.profile} (${addon.file})`,
      connections,
      seconds,
      warmupSeconds: warmup,
      requests: run.requests,
      rps: run.rps,
      p50Ms: run.p50Ms,
      p99Ms: run.p99Ms,
      errors,
      rssAfterWarmupMiB: Number(rssAfterWarmup.toFixed(1)),
      rssAtEndMiB: Number(rssAtEnd.toFixed(1)),
      rssGrowthPercent: Number((growth * 100).toFixed(1)),
      rssMeasure: `peak of the first vs the last ${window} s of the run, sampled every second`,
      rssSamplesMiB: samples.map((mib) => Math.round(mib)),
      // The goal catches growth (a leak); RSS that shrinks after warm-up passes, reported as is.
      passed: errors === 0 && growth <= 0.1,
    };
    fs.writeFileSync(path.join(__dirname, 'soak-result.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${run.raw}\n${JSON.stringify(result, null, 2)}\n`);
    process.exitCode = result.passed ? 0 : 1;
  } finally {
    await stopProcess(backend.child);
    await stopProcess(upstream.child);
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
