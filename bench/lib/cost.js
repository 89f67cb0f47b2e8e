'use strict';
// What a run cost each backend, read from outside it so every subject is measured the same way:
// CPU time of its JavaScript (main) thread and of the whole process from /proc, and garbage
// collection pauses that the backend itself counts (backend-process.js, watchGarbageCollection).
// On a loaded machine req/s and latency drift with the neighbours; CPU time per request drifts
// much less, and it is what bounds a backend whose main thread is saturated.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a /proc stat line, in clock ticks (fields 14 and 15, after the comm). */
function ticksOf(statFile) {
  const stat = fs.readFileSync(statFile, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU time so far, in ticks: the main thread (its thread id is the pid) and the whole process. */
function cpuTicks(pid) {
  return { mainThread: ticksOf(`/proc/${pid}/task/${pid}/stat`), process: ticksOf(`/proc/${pid}/stat`) };
}

/** Microseconds of CPU per request between two cpuTicks() readings. */
function cpuMicrosPerRequest(before, after, requests) {
  const perRequest = (ticks) => (requests > 0 ? Number(((ticks * 1e6) / TICKS_PER_SECOND / requests).toFixed(1)) : null);
  return {
    mainThread: perRequest(after.mainThread - before.mainThread),
    process: perRequest(after.process - before.process),
  };
}

/** The file a backend writes its garbage-collection totals to (see backend-process.js). */
function gcFileFor(name) {
  return path.join(os.tmpdir(), `proxy-sigv4-bench-gc-${process.pid}-${name}.json`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks the backend for its totals so far (SIGUSR2) and waits, at most 5 s, for the answer:
 * `{ seq, scavenge: { count, ms }, other: { count, ms }, longestMs }`, where longestMs is the longest
 * single pause since the previous snapshot.
 */
async function gcSnapshot(backend) {
  const previous = readGcFile(backend.gcFile);
  const wanted = (previous?.seq ?? 0) + 1;
  process.kill(backend.pid, 'SIGUSR2');
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    await sleep(20);
    const now = readGcFile(backend.gcFile);
    if (now && now.seq >= wanted) return now;
  }
  throw new Error(`${backend.subject}: no garbage-collection totals from pid ${backend.pid} within 5 s`);
}

function readGcFile(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null; // not written yet
  }
}

/** Pauses during a run, per 1,000 requests, and the longest one. */
function gcPerThousandRequests(before, after, requests) {
  const per1k = (n) => (requests > 0 ? Number(((n * 1000) / requests).toFixed(2)) : null);
  return {
    scavenges: per1k(after.scavenge.count - before.scavenge.count),
    pauseMs: per1k(after.scavenge.ms - before.scavenge.ms + after.other.ms - before.other.ms),
    longestMs: Number(after.longestMs.toFixed(2)),
  };
}

module.exports = { cpuTicks, cpuMicrosPerRequest, gcFileFor, gcSnapshot, gcPerThousandRequests };
