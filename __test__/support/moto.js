'use strict';
// Runs a real moto server (AWS mock; STS/IAM) on loopback for credential tests.
// Needs <repo>/.venv from scripts/setup-python.sh.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { freePort } = require('./free-port');
const { startStsRecorder } = require('./sts-recorder');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const MOTO_SERVER = path.join(REPO_ROOT, '.venv', 'bin', 'moto_server');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
const LOG_TAIL_CHARS = 8_000;

// Children still running when the test process exits are killed, so none outlive a test run.
const running = new Set();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** True when scripts/setup-python.sh has installed moto. */
function motoAvailable() {
  return fs.existsSync(MOTO_SERVER);
}

/**
 * @param {{ env?: Record<string,string> }} [options] extra environment for moto, e.g.
 *   { INITIAL_NO_AUTH_ACTION_COUNT: '4' } to make moto enforce signatures after 4 calls.
 * @returns {Promise<{ url: string, port: number, stop(): Promise<void>, restart(): Promise<void>,
 *   reset(): Promise<void>, logs(): string }>}
 */
async function startMoto({ env } = {}) {
  if (!motoAvailable()) throw new Error(`moto is not installed (${MOTO_SERVER}): run scripts/setup-python.sh`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child = null;
  let logTail = '';

  async function start() {
    child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.exited = exited;
    exited.then(() => running.delete(child));
    // Always drain the pipes (moto logs every request; a full pipe would block it).
    const keep = (data) => {
      logTail = (logTail + data).slice(-LOG_TAIL_CHARS);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    await waitUntilAnswering(url, child, READY_TIMEOUT_MS, () => logTail);
  }

  async function stop() {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGTERM');
    if (!(await within(c.exited, STOP_TIMEOUT_MS))) {
      c.kill('SIGKILL');
      await within(c.exited, STOP_TIMEOUT_MS);
    }
  }

  await start();
  return {
    url,
    port,
    stop,
    /** Stops and starts again on the same port (moto's state is lost): for outage tests. */
    async restart() {
      await stop();
      await start();
    },
    /** Clears moto's in-memory state without restarting. */
    async reset() {
      await request(`${url}/moto-api/reset`, 'POST', 5_000);
    },
    logs: () => logTail,
  };
}

/** Polls until moto answers HTTP at all (any status), bounded by timeoutMs. */
async function waitUntilAnswering(url, child, timeoutMs, logs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`moto_server exited (${child.exitCode ?? child.signalCode}) before answering:\n${logs()}`);
    }
    try {
      await request(`${url}/moto-api/`, 'GET', 1_000);
      return;
    } catch {
      await sleep(150);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`moto_server did not answer on ${url} within ${timeoutMs} ms:\n${logs()}`);
}

/** One HTTP request resolving with the status code; rejects on error or timeout. */
function request(url, method, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end();
  });
}

/** Resolves true if promise settles within ms, false otherwise. */
function within(promise, ms) {
  let timer;
  return Promise.race([
    promise.then(() => true),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { startMoto, startStsRecorder, motoAvailable, MOTO_SERVER, REPO_ROOT };
