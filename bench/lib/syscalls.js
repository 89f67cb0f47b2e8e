'use strict';
// System calls per request, by name, over every thread of a backend, counted by `strace -c -f`
// attached for a fixed number of requests. strace slows the backend down a lot, so these are
// counts, never times: how often each request wakes a thread (futex, epoll_wait, eventfd writes).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setTimeout: sleep } = require('node:timers/promises');
const { sendRequests } = require('./fixed-load');

/**
 * Counts a started backend's system calls over `requests` GETs of `url` at `connections`.
 * @returns {{ requests, perRequest: Record<string, number>, totalPerRequest: number }}
 */
async function countSyscalls({ backend, url, headers, connections, requests }) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-sigv4-strace-')), 'summary');
  const strace = spawn('strace', ['-f', '-c', '-o', out, '-p', String(backend.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  strace.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => strace.once('exit', resolve));
  // strace says it attached on stderr, once per thread; give it a moment to reach them all.
  await sleep(1_000);
  let counted;
  try {
    counted = await sendRequests({ url, headers, connections, count: requests, timeoutMs: 10 * 60_000 });
  } finally {
    strace.kill('SIGINT');
    await exited;
  }
  if (counted.failed > 0) throw new Error(`${backend.subject}: ${counted.failed} requests failed under strace`);
  if (!fs.existsSync(out)) throw new Error(`strace wrote no summary: ${stderr.trim()}`);
  const calls = parseSummary(fs.readFileSync(out, 'utf8'));
  const perRequest = Object.fromEntries(
    Object.entries(calls)
      .map(([name, n]) => [name, Number((n / requests).toFixed(2))])
      .filter(([, n]) => n >= 0.01)
      .sort((a, b) => b[1] - a[1]),
  );
  const total = Object.values(calls).reduce((sum, n) => sum + n, 0);
  return { requests, perRequest, totalPerRequest: Number((total / requests).toFixed(2)) };
}

/** `strace -c`'s table: calls by system call name. */
function parseSummary(text) {
  const calls = {};
  for (const line of text.split('\n')) {
    // % time, seconds, usecs/call, calls, [errors,] syscall
    const match = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (match && match[2] !== 'total') calls[match[2]] = Number(match[1]);
  }
  return calls;
}

module.exports = { countSyscalls };
