'use strict';
// Starting and stopping one subject's Backstage backend (backend-process.js) for the harness
// (run.js) and the profile (profile.js), and the small GET every phase sends it.

const fs = require('node:fs');
const path = require('node:path');
const { startNodeProcess, stopProcess, freePort } = require('./processes');
const { gcFileFor } = require('./cost');
const { BENCH_TOKEN } = require('./credentials');

/** The static external-access token every subject requires. */
const AUTH = { Authorization: `Bearer ${BENCH_TOKEN}` };
/** The small GET: the upstream answers it with 103 bytes at once. */
const SMALL_PATH = '/items/42?limit=10&q=bench';

/**
 * Starts `subject`'s backend in front of `upstream`. It counts its GC pauses (cost.js), unless
 * `cpuProfileFile` is given: then it profiles between two SIGUSR2s instead (profile.js).
 * `under`: a command to run its node under (valgrind), with a start timeout to match.
 */
async function startBackend(subject, upstream, addon, { under, startTimeoutMs, cpuProfileFile } = {}) {
  const port = await freePort();
  const gcFile = cpuProfileFile ? null : gcFileFor(subject);
  if (gcFile) fs.rmSync(gcFile, { force: true });
  const started = await startNodeProcess(path.join(__dirname, 'backend-process.js'), {
    ...(gcFile ? { BENCH_GC_FILE: gcFile } : { BENCH_CPU_PROFILE: cpuProfileFile }),
    ...addon.env,
    BENCH_SUBJECT: subject,
    PORT: String(port),
    UPSTREAM_URL: upstream.info.url,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  }, { under, startTimeoutMs });
  return { subject, port, gcFile, child: started.child, pid: started.info.pid, prefix: started.info.prefix, addon: started.info.addon };
}

/** Stops a backend and removes its GC totals file. */
async function stopBackend(backend) {
  await stopProcess(backend.child);
  if (backend.gcFile) fs.rmSync(backend.gcFile, { force: true });
}

function urlOf(backend, rest) {
  return `http://127.0.0.1:${backend.port}${backend.prefix}${rest}`;
}

module.exports = { AUTH, SMALL_PATH, startBackend, stopBackend, urlOf };
