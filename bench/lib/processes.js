'use strict';
// Starting the benchmark's processes and reading their memory.

const fs = require('node:fs');
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const { freePort } = require('../../__test__/support/free-port');

const START_TIMEOUT_MS = 120_000;

/**
 * Spawns `node script` and resolves with the child and the first JSON line it prints that says it
 * is ready (`"ready": true` or a `"url"`); other lines (e.g. JSON log lines) are passed through.
 * `under`: a command that runs node (e.g. valgrind and its options); `startTimeoutMs` for a slow one.
 */
function startNodeProcess(script, env = {}, { under = [], startTimeoutMs = START_TIMEOUT_MS } = {}) {
  const [command, ...args] = [...under, process.execPath, script];
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    let ready = false;
    lines.on('line', (line) => {
      let info = null;
      if (!ready && line.startsWith('{')) {
        try {
          info = JSON.parse(line);
        } catch {
          info = null;
        }
      }
      if (!info || !(info.ready === true || typeof info.url === 'string')) {
        process.stderr.write(`${line}\n`);
        return;
      }
      ready = true;
      clearTimeout(timer);
      resolve({ child, info });
    });
  });
}

function stopProcess(child) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Resident set size of a process, in MiB. */
function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

module.exports = { startNodeProcess, stopProcess, rssMiB, freePort };
