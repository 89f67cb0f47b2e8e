'use strict';
// Instructions per request, counted by valgrind's callgrind over every thread of a backend.
// Unlike req/s or CPU time, an instruction count does not move with what else the machine is
// doing, so it is the stable cost figure: the same build, inputs and request count give nearly
// the same total whatever the neighbours do.
//
// The backend runs under callgrind with counting off while it starts and warms up (the JIT
// compiles the hot paths), then counting is switched on for exactly `requests` requests and the
// counters are dumped, one file per thread (thread 1 is the JavaScript thread).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { sendRequests } = require('./fixed-load');

/** valgrind and its options; `outDir` gets the dumps. */
function callgrindCommand(outDir) {
  return [
    'valgrind',
    '--tool=callgrind',
    '--instr-atstart=no',
    '--separate-threads=yes',
    '--dump-instr=no',
    `--log-file=${path.join(outDir, 'valgrind.log')}`,
    `--callgrind-out-file=${path.join(outDir, 'callgrind.out.%p')}`,
  ];
}

function callgrindControl(pid, option) {
  execFileSync('callgrind_control', [option, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
}

/**
 * Counts a started backend's instructions over `requests` GETs of `url` at `connections`, after
 * `warmup` uncounted ones. `backend` was started with `callgrindCommand(outDir)`.
 * @returns {{ requests, total, perRequest, mainThreadPerRequest, otherThreadsPerRequest, threads, byObject }}
 */
async function countInstructions({ backend, outDir, url, headers, connections, warmup, requests }) {
  const timeoutMs = 30 * 60_000;
  const warm = await sendRequests({ url, headers, connections, count: warmup, timeoutMs });
  if (warm.failed > 0) throw new Error(`${backend.subject}: ${warm.failed} of the warm-up requests failed`);
  callgrindControl(backend.pid, '--instr=on');
  const counted = await sendRequests({ url, headers, connections, count: requests, timeoutMs });
  callgrindControl(backend.pid, '--dump=counted');
  callgrindControl(backend.pid, '--instr=off');
  if (counted.failed > 0) throw new Error(`${backend.subject}: ${counted.failed} of the counted requests failed`);
  const dumps = fs.readdirSync(outDir).filter((f) => f.startsWith(`callgrind.out.${backend.pid}.1-`));
  if (dumps.length === 0) throw new Error(`${backend.subject}: callgrind wrote no dump in ${outDir}`);
  const threads = dumps.sort().map((file) => ({ thread: Number(file.split('-').pop()), ...readDump(path.join(outDir, file)) }));
  const total = threads.reduce((sum, t) => sum + t.instructions, 0);
  const main = threads.find((t) => t.thread === 1)?.instructions ?? 0;
  const perRequest = (n) => Math.round(n / requests);
  return {
    requests,
    total,
    perRequest: perRequest(total),
    mainThreadPerRequest: perRequest(main),
    otherThreadsPerRequest: perRequest(total - main),
    threads: threads.map((t) => ({ thread: t.thread, perRequest: perRequest(t.instructions) })),
    byObject: byObject(dumps.map((file) => path.join(outDir, file)), requests),
  };
}

/** A dump's total instructions (its `summary:` or `totals:` line). */
function readDump(file) {
  const text = fs.readFileSync(file, 'utf8');
  const line = /^(?:summary|totals): (\d+)/m.exec(text);
  return { instructions: line ? Number(line[1]) : 0 };
}

/**
 * Instructions per request by the binary they ran in (the addon, node, libc, V8's generated code
 * `???`...), from callgrind_annotate's per-function self costs, summed over threads.
 */
function byObject(files, requests) {
  const totals = new Map();
  for (const file of files) {
    let out = '';
    try {
      out = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], {
        encoding: 'utf8',
        maxBuffer: 256 * 2 ** 20,
        timeout: 120_000,
      });
    } catch {
      continue;
    }
    for (const line of out.split('\n')) {
      // `  1,234 (0.5%)  file:function [object]`; V8's generated code has the object `???`.
      const match = /^\s*([\d,]+)\s+\([^)]*\)\s+.*\[(.+)\]\s*$/.exec(line);
      if (!match) continue;
      const object = path.basename(match[2]);
      totals.set(object, (totals.get(object) ?? 0) + Number(match[1].replace(/,/g, '')));
    }
  }
  return [...totals.entries()]
    .map(([object, instructions]) => ({ object, perRequest: Math.round(instructions / requests) }))
    .sort((a, b) => b.perRequest - a.perRequest)
    .slice(0, 8);
}

/** A fresh folder for one backend's dumps. */
function dumpFolder(subject) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `proxy-sigv4-callgrind-${subject}-`));
}

module.exports = { callgrindCommand, countInstructions, dumpFolder };
