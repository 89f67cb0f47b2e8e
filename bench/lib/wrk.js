'use strict';
// Runs wrk against a URL and parses its summary.

const { execFile, execFileSync } = require('node:child_process');

/**
 * @returns {{ requests: number, rps: number, p50Ms: number, p99Ms: number, socketErrors: number,
 *   non2xx: number, raw: string }}
 */
function runWrk(options) {
  const raw = execFileSync('wrk', wrkArgs(options), { encoding: 'utf8', timeout: (options.seconds + 60) * 1000 });
  return parseWrk(raw);
}

/** runWrk without blocking, so the caller can sample while wrk runs. */
function runWrkAsync(options) {
  return new Promise((resolve, reject) => {
    const timeout = (options.seconds + 60) * 1000;
    execFile('wrk', wrkArgs(options), { encoding: 'utf8', timeout }, (error, raw) => (error ? reject(error) : resolve(parseWrk(raw))));
  });
}

/** `script`: a wrk Lua script, given `scriptArgs` (after `--`). */
function wrkArgs({ url, connections, seconds, headers = {}, threads = 2, script, scriptArgs = [] }) {
  const args = ['-t', String(Math.min(threads, connections)), '-c', String(connections), '-d', `${seconds}s`, '--latency', '--timeout', '10s'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  if (script) args.push('-s', script);
  return [...args, url, ...(scriptArgs.length ? ['--', ...scriptArgs.map(String)] : [])];
}

function parseWrk(raw) {
  const number = (re) => {
    const match = re.exec(raw);
    return match ? Number(match[1]) : 0;
  };
  const latencyMs = (label) => {
    const match = new RegExp(`^\\s+${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(raw);
    if (!match) return NaN;
    return Number(match[1]) * { us: 0.001, ms: 1, s: 1000 }[match[2]];
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  return {
    requests: number(/(\d+) requests in/),
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: latencyMs('50%'),
    p99Ms: latencyMs('99%'),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
    raw,
  };
}

module.exports = { runWrk, runWrkAsync };
