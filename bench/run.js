'use strict';
// Benchmarks side by side (issue 5): five real Backstage backends, one per subject, in front of
// one fast loopback upstream, measured in interleaved rounds (A A' B C D, A A' B C D, ...) so
// drift on the shared machine falls on every subject alike.
//   A ours           proxy-sigv4 (plugins/proxy-sigv4-backend/ with the release addon)
//   A' ours-unaudited  the same router mounted by its legacy createRouter: no audit events
//   B segment        @segment/backstage-plugin-proxy-sigv4-backend
//   C proxy-backend  @backstage/plugin-proxy-backend (does not sign)
//   D floor          a plugin that answers at once: the cost of Backstage itself
//   D' floor-fetch   the floor plus one keep-alive fetch from the upstream (optional: --subjects)
// Phases: small GET (wrk), the same GET at a paced (unsaturated) load, what one hand-off to
// another thread and back adds at that load (plain Node servers, lib/handoff-server.js), one
// large streamed response (A B C), system calls per small GET (strace), instructions per small
// GET (callgrind, each subject in a fresh backend under valgrind), signing alone.
// Full runs (every option at least its default) write bench/results.json, bench/RESULTS.md and
// bench/chart.svg; shorter runs only print, unless --write, and then every file says SMOKE RUN.
//   node bench/run.js [--seconds 5] [--rounds 9] [--connections 10,64] [--gib 1]
//     [--stream-timeout 120] [--rss-limit 4096] [--sign-seconds 5]
//     [--pace-ms 10] [--counted-requests 2000] [--subjects ours,ours-unaudited,segment,proxy-backend,floor]
//     [--phases small,paced,handoff,large,syscalls,instructions,sign]
//     [--write]
//   node bench/run.js --report    renders RESULTS.md and chart.svg again from results.json
// bench/setup.sh installs what it needs; bench/run.sh does both.

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startNodeProcess, stopProcess, rssMiB } = require('./lib/processes');
const { cpuTicks, cpuMicrosPerRequest, gcSnapshot, gcPerThousandRequests } = require('./lib/cost');
const { AUTH, SMALL_PATH, startBackend, stopBackend, urlOf } = require('./lib/backends');
const { runWrk } = require('./lib/wrk');
const { measureLargeResponse } = require('./lib/large-response');
const { writeReport, summarise } = require('./lib/report');
const { chooseAddon } = require('./lib/addon');
const { countSyscalls } = require('./lib/syscalls');
const { callgrindCommand, countInstructions, dumpFolder } = require('./lib/instructions');

const BENCH = __dirname;
const REPO = path.resolve(BENCH, '..');
const SUBJECTS = ['ours', 'ours-unaudited', 'segment', 'proxy-backend', 'floor'];
/** Measured only when named in --subjects; a full run does not need them. */
const OPTIONAL_SUBJECTS = ['floor-fetch'];
const KNOWN_SUBJECTS = [...SUBJECTS, ...OPTIONAL_SUBJECTS];
const LARGE_SUBJECTS = ['ours', 'segment', 'proxy-backend'];
const SIGNERS = ['ours-signer', 'ours-sync', 'ours-rust', 'smithy', 'aws4'];
const PHASES = ['small', 'paced', 'handoff', 'large', 'syscalls', 'instructions', 'sign'];
/** The hand-off phase's servers (see lib/handoff-server.js). */
const HANDOFF_MODES = ['direct', 'addon', 'node-worker'];
/** The paced phase: this many connections, each waiting `paceMs` between an answer and its next request. */
const PACED_CONNECTIONS = 10;
/** The counting phases (system calls, instructions): this many connections, like the goals' small GET. */
const COUNTED_CONNECTIONS = 10;
/** Uncounted requests first under callgrind, so the JIT has compiled the hot paths (it runs slowly there). */
const CALLGRIND_WARMUP_FACTOR = 2;
// Many short rounds rather than a few long ones: on this shared machine a backend's speed moves by
// 20-40% for tens of seconds at a time, and a median over many interleaved moments is robust to
// that where one over three is not.
const DEFAULTS = {
  seconds: 5,
  rounds: 9,
  connections: [10, 64],
  gib: 1,
  streamTimeout: 120,
  rssLimit: 4096,
  signSeconds: 5,
  paceMs: 10,
  countedRequests: 2000,
  subjects: SUBJECTS,
  phases: PHASES,
};
const SIGN_BENCH_BINARY = path.join(REPO, 'target/release/examples/sign_bench');

function parseOptions(argv) {
  const options = { ...DEFAULTS, write: false };
  const list = (value) => value.split(',').map((s) => s.trim()).filter(Boolean);
  const number = (name, value, min, max) => {
    const n = Number(value);
    if (!(n >= min && n <= max)) throw new Error(`--${name} must be a number from ${min} to ${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const name = argv[i].replace(/^--/, '');
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (name) {
      case 'seconds': options.seconds = number(name, value(), 1, 600); break;
      case 'rounds': options.rounds = Math.round(number(name, value(), 1, 20)); break;
      case 'connections': options.connections = list(value()).map((c) => Math.round(number(name, c, 1, 1024))); break;
      case 'gib': options.gib = number(name, value(), 0.001, 8); break;
      case 'stream-timeout': options.streamTimeout = number(name, value(), 1, 1800); break;
      case 'rss-limit': options.rssLimit = number(name, value(), 256, 16384); break;
      case 'sign-seconds': options.signSeconds = number(name, value(), 0.2, 120); break;
      case 'pace-ms': options.paceMs = number(name, value(), 1, 1000); break;
      case 'counted-requests': options.countedRequests = Math.round(number(name, value(), 100, 100_000)); break;
      case 'subjects': options.subjects = list(value()); break;
      case 'phases': options.phases = list(value()); break;
      case 'write': options.write = true; break;
      case 'report': options.report = true; break;
      default: throw new Error(`unknown option ${argv[i]} (see the top of bench/run.js)`);
    }
  }
  for (const s of options.subjects) if (!KNOWN_SUBJECTS.includes(s)) throw new Error(`unknown subject ${s}`);
  for (const p of options.phases) if (!PHASES.includes(p)) throw new Error(`unknown phase ${p}`);
  options.subjects = KNOWN_SUBJECTS.filter((s) => options.subjects.includes(s));
  return options;
}

/** A full run measures everything at least as long and as often as the defaults. */
function isFullRun(o) {
  return (
    o.seconds >= DEFAULTS.seconds &&
    o.rounds >= DEFAULTS.rounds &&
    DEFAULTS.connections.every((c) => o.connections.includes(c)) &&
    o.gib >= DEFAULTS.gib &&
    o.signSeconds >= DEFAULTS.signSeconds &&
    o.paceMs === DEFAULTS.paceMs &&
    o.countedRequests >= DEFAULTS.countedRequests &&
    SUBJECTS.every((s) => o.subjects.includes(s)) &&
    PHASES.every((p) => o.phases.includes(p))
  );
}

function log(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function sh(command, args, options = {}) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options }).trim();
  } catch {
    return null;
  }
}

function peerVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(BENCH, 'peers/node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function machine(addon) {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    wrk: /^wrk \S+/.exec(sh('sh', ['-c', 'wrk --version 2>&1 | head -1']) ?? '')?.[0] ?? null,
    addonFile: addon.file,
    addonProfile: addon.profile,
    addonNote: addon.note,
    gitCommit: sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
    gitDirty: (sh('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    loadAverageAtStart: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
}

/** The upstream's counters, over its control socket. */
function upstreamStats(upstream) {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath: upstream.info.controlSocket, path: '/stats', timeout: 10_000, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve(JSON.parse(text)));
    });
    request.on('timeout', () => request.destroy(new Error('upstream control socket did not answer')));
    request.on('error', reject);
  });
}

/**
 * Waits until the upstream has seen no new request for 300 ms (at most 10 s), so requests a
 * subject still forwards after its load generator stopped are not counted in the next run.
 */
async function settledStats(upstream) {
  let last = await upstreamStats(upstream);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = await upstreamStats(upstream);
    if (now.requests === last.requests) return now;
    last = now;
  }
  return last;
}

async function checkSubject(backend) {
  const ok = await fetch(urlOf(backend, SMALL_PATH), { headers: AUTH });
  const anonymous = await fetch(urlOf(backend, SMALL_PATH));
  await ok.arrayBuffer();
  await anonymous.arrayBuffer();
  if (ok.status !== 200) throw new Error(`${backend.subject}: GET with the token answered ${ok.status}`);
  return { anonymousStatus: anonymous.status };
}

async function smallGetPhase(o, backends, upstream) {
  const runs = [];
  const warmSeconds = Math.max(1, Math.min(5, Math.round(o.seconds / 3)));
  for (const subject of o.subjects) {
    log(`warm-up ${subject}: ${warmSeconds} s at ${Math.max(...o.connections)} connections`);
    runWrk({ url: urlOf(backends[subject], SMALL_PATH), connections: Math.max(...o.connections), seconds: warmSeconds, headers: AUTH });
  }
  for (let round = 1; round <= o.rounds; round += 1) {
    for (const connections of o.connections) {
      for (const subject of o.subjects) {
        const backend = backends[subject];
        const before = await settledStats(upstream);
        const gcBefore = await gcSnapshot(backend);
        const cpuBefore = cpuTicks(backend.pid);
        const result = runWrk({ url: urlOf(backend, SMALL_PATH), connections, seconds: o.seconds, headers: AUTH });
        const cpuAfter = cpuTicks(backend.pid);
        const gcAfter = await gcSnapshot(backend);
        const after = await settledStats(upstream);
        const run = {
          round,
          connections,
          subject,
          rps: result.rps,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
          requests: result.requests,
          errors: result.socketErrors + result.non2xx,
          rssMiB: Number(rssMiB(backend.pid).toFixed(1)),
          cpuMicrosPerRequest: cpuMicrosPerRequest(cpuBefore, cpuAfter, result.requests),
          gcPer1kRequests: gcPerThousandRequests(gcBefore, gcAfter, result.requests),
          upstreamConnections: after.accepted - before.accepted,
          upstreamRequests: after.requests - before.requests,
          upstreamSigned: after.sigv4Requests - before.sigv4Requests,
        };
        runs.push(run);
        log(`small GET round ${round} c=${connections} ${subject}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50Ms} ms, ` +
          `p99 ${run.p99Ms} ms, RSS ${run.rssMiB} MiB, upstream connections ${run.upstreamConnections}, errors ${run.errors}, ` +
          `CPU µs/request ${run.cpuMicrosPerRequest.mainThread} (main thread) ${run.cpuMicrosPerRequest.process} (process), ` +
          `GC per 1k requests ${run.gcPer1kRequests.scavenges} scavenges ${run.gcPer1kRequests.pauseMs} ms, longest ${run.gcPer1kRequests.longestMs} ms`);
      }
    }
  }
  return runs;
}

/**
 * The small GET again, at a load far below what any subject can serve: latency without queueing.
 * Interleaved rounds like smallGetPhase, plus wrk straight to the upstream ('upstream'): the
 * round trip every proxy adds to Backstage's own latency, whatever it does itself.
 */
async function pacedPhase(o, backends, upstream, warmedUp) {
  const targets = Object.fromEntries(o.subjects.map((subject) => [subject, urlOf(backends[subject], SMALL_PATH)]));
  targets.upstream = `${upstream.info.url}${SMALL_PATH}`;
  if (!warmedUp) {
    for (const url of Object.values(targets)) runWrk({ url, connections: PACED_CONNECTIONS, seconds: 3, headers: AUTH });
  }
  return { connections: PACED_CONNECTIONS, paceMs: o.paceMs, runs: pacedRounds(o, targets, 'subject', AUTH) };
}

/**
 * The paced load against three plain Node servers that differ only in what a request waits for:
 * nothing, one round trip to the addon's Tokio worker, one to a Node worker thread. Rounds
 * interleaved like the other phases; run beside the paced phase, on the same machine state.
 */
async function handoffPhase(o, addon) {
  const servers = {};
  try {
    for (const mode of HANDOFF_MODES) {
      servers[mode] = await startNodeProcess(path.join(BENCH, 'lib/handoff-server.js'), { ...addon.env, HANDOFF_MODE: mode });
    }
    const targets = Object.fromEntries(HANDOFF_MODES.map((mode) => [mode, `${servers[mode].info.url}${SMALL_PATH}`]));
    for (const url of Object.values(targets)) runWrk({ url, connections: PACED_CONNECTIONS, seconds: 3 });
    return { connections: PACED_CONNECTIONS, paceMs: o.paceMs, runs: pacedRounds(o, targets, 'mode', {}) };
  } finally {
    for (const server of Object.values(servers)) await stopProcess(server.child);
  }
}

/** Interleaved rounds of the paced load over `targets` (`{ name: url }`); each run names its target under `key`. */
function pacedRounds(o, targets, key, headers) {
  const runs = [];
  for (let round = 1; round <= o.rounds; round += 1) {
    for (const [name, url] of Object.entries(targets)) {
      const result = runWrk({
        url,
        connections: PACED_CONNECTIONS,
        seconds: o.seconds,
        headers,
        script: path.join(BENCH, 'lib/paced.lua'),
        scriptArgs: [o.paceMs],
      });
      const run = { round, [key]: name, rps: result.rps, p50Ms: result.p50Ms, p99Ms: result.p99Ms, requests: result.requests, errors: result.socketErrors + result.non2xx };
      runs.push(run);
      log(`paced round ${round} ${name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, errors ${run.errors}`);
    }
  }
  return runs;
}

async function largePhase(o, backends, upstream, addon) {
  const size = Math.round(o.gib * 2 ** 30);
  const runs = [];
  const subjects = LARGE_SUBJECTS.filter((s) => o.subjects.includes(s));
  for (let round = 1; round <= o.rounds; round += 1) {
    for (const subject of subjects) {
      const backend = backends[subject];
      const result = await measureLargeResponse({
        url: urlOf(backend, `/__bytes?size=${size}`),
        headers: AUTH,
        size,
        pid: backend.pid,
        timeoutSeconds: o.streamTimeout,
        rssLimitMiB: o.rssLimit,
      });
      runs.push({ round, subject, ...result });
      log(`large round ${round} ${subject}: ${result.outcome}; ` +
        `${result.mibPerSec === null ? '-' : result.mibPerSec.toFixed(0)} MiB/s, TTFB ${result.ttfbMs?.toFixed(0) ?? '-'} ms, ` +
        `RSS ${result.rssBeforeMiB.toFixed(0)} -> peak ${result.peakRssMiB.toFixed(0)} MiB`);
      if (!result.finished) {
        // An abandoned transfer may still be buffering (or burning CPU) inside the backend: give
        // the subject a fresh process so it does not disturb the runs after it.
        log(`restarting ${subject}'s backend after an unfinished transfer`);
        await stopBackend(backend);
        backends[subject] = await startBackend(subject, upstream, addon);
      }
    }
  }
  return { sizeBytes: size, runs };
}

/** System calls per small GET of each running backend, by name (strace attached for a fixed count). */
async function syscallsPhase(o, backends) {
  const runs = [];
  for (const subject of o.subjects) {
    const backend = backends[subject];
    const result = await countSyscalls({ backend, url: urlOf(backend, SMALL_PATH), headers: AUTH, connections: COUNTED_CONNECTIONS, requests: o.countedRequests });
    runs.push({ subject, ...result });
    log(`system calls ${subject}: ${result.totalPerRequest} per request ${JSON.stringify(result.perRequest)}`);
  }
  return { connections: COUNTED_CONNECTIONS, runs };
}

/**
 * Instructions per small GET over every thread, each subject in a fresh backend under callgrind
 * (run last among the backend phases: valgrind makes a backend some 50 times slower).
 */
async function instructionsPhase(o, upstream, addon) {
  const runs = [];
  for (const subject of o.subjects) {
    const outDir = dumpFolder(subject);
    log(`instructions ${subject}: starting its backend under callgrind`);
    const backend = await startBackend(subject, upstream, addon, { under: callgrindCommand(outDir), startTimeoutMs: 15 * 60_000 });
    try {
      const result = await countInstructions({
        backend,
        outDir,
        url: urlOf(backend, SMALL_PATH),
        headers: AUTH,
        connections: COUNTED_CONNECTIONS,
        warmup: CALLGRIND_WARMUP_FACTOR * o.countedRequests,
        requests: o.countedRequests,
      });
      runs.push({ subject, ...result });
      log(`instructions ${subject}: ${result.perRequest} per request (JavaScript thread ${result.mainThreadPerRequest}, other threads ${result.otherThreadsPerRequest})`);
    } finally {
      await stopBackend(backend);
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  }
  return { connections: COUNTED_CONNECTIONS, warmup: CALLGRIND_WARMUP_FACTOR * o.countedRequests, runs };
}

function runSigner(signer, seconds, addon) {
  if (signer === 'ours-rust') {
    const out = sh(SIGN_BENCH_BINARY, [String(seconds)], { timeout: (seconds + 60) * 1000 });
    return out ? JSON.parse(out.split('\n').pop()).opsPerSec : null;
  }
  const out = sh(process.execPath, [path.join(BENCH, 'lib/sign-process.js'), signer, String(seconds)], {
    env: { ...process.env, ...addon.env },
    timeout: (seconds + 60) * 1000,
  });
  return out ? JSON.parse(out.split('\n').pop()).opsPerSec : null;
}

function signPhase(o, addon) {
  const pending = {};
  log('building examples/sign_bench (cargo build --release --example sign_bench)');
  try {
    execFileSync('cargo', ['build', '--release', '--quiet', '--example', 'sign_bench'], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000 });
  } catch (error) {
    pending['ours-rust'] = `cargo build --release --example sign_bench failed: ${error.message.split('\n')[0]}`;
  }
  const runs = [];
  for (let round = 1; round <= o.rounds; round += 1) {
    for (const signer of SIGNERS) {
      if (pending[signer]) continue;
      const opsPerSec = runSigner(signer, o.signSeconds, addon);
      if (opsPerSec === null) {
        pending[signer] = {
          'ours-signer': 'the addon has no Signer yet (or it failed): see the log',
          'ours-sync': 'the addon has no signRequestSync yet (or it failed): see the log',
        }[signer] ?? `${signer} failed: see the log`;
        continue;
      }
      runs.push({ round, signer, opsPerSec });
      log(`signing round ${round} ${signer}: ${opsPerSec} ops/s`);
    }
  }
  return { runs, pending };
}

/** --report: renders RESULTS.md and chart.svg again from bench/results.json, measuring nothing. */
/** The latest soak run (bench/soak.js writes it; it is run on its own). */
function readSoak(results) {
  const soakFile = path.join(BENCH, 'soak-result.json');
  if (fs.existsSync(soakFile)) results.soak = JSON.parse(fs.readFileSync(soakFile, 'utf8'));
}

function rerender() {
  const results = JSON.parse(fs.readFileSync(path.join(BENCH, 'results.json'), 'utf8'));
  readSoak(results);
  results.summary = summarise(results);
  const { markdown, svg } = writeReport(results);
  fs.writeFileSync(path.join(BENCH, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(BENCH, 'RESULTS.md'), markdown);
  fs.writeFileSync(path.join(BENCH, 'chart.svg'), svg);
  log(`rendered bench/RESULTS.md and bench/chart.svg again from bench/results.json (${results.kind} run)`);
}

async function main() {
  const o = parseOptions(process.argv.slice(2));
  if (o.report) return rerender();
  const full = isFullRun(o);
  const write = full || o.write;
  const command = `node bench/run.js${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const addon = chooseAddon();
  if (addon.profile !== 'release') log(`WARNING: measuring a ${addon.profile} addon (${addon.file}): ${addon.note}`);
  if (!fs.existsSync(path.join(BENCH, 'peers/node_modules'))) throw new Error('bench/peers is not installed: run bench/setup.sh');
  const started = new Date();
  const results = {
    kind: full ? 'full' : 'smoke',
    command,
    date: started.toISOString(),
    options: o,
    machine: machine(addon),
    versions: {
      backstageBackendDefaults: peerVersion('@backstage/backend-defaults'),
      segment: peerVersion('@segment/backstage-plugin-proxy-sigv4-backend'),
      proxyBackend: peerVersion('@backstage/plugin-proxy-backend'),
      smithySignatureV4: peerVersion('@smithy/signature-v4'),
      aws4: peerVersion('aws4'),
    },
  };
  log(`${results.kind} run: ${command}`);

  const upstream = await startNodeProcess(path.join(BENCH, 'lib/fast-upstream-process.js'));
  const backends = {};
  try {
    const needBackends = ['small', 'paced', 'large', 'syscalls'].some((p) => o.phases.includes(p));
    if (needBackends) {
      results.auth = {};
      const everySubject = ['small', 'paced', 'syscalls'].some((p) => o.phases.includes(p));
      const needed = everySubject ? o.subjects : o.subjects.filter((s) => LARGE_SUBJECTS.includes(s));
      for (const subject of needed) {
        backends[subject] = await startBackend(subject, upstream, addon);
        const { anonymousStatus } = await checkSubject(backends[subject]);
        results.auth[subject] = anonymousStatus;
        log(`${subject} ready on port ${backends[subject].port} (pid ${backends[subject].pid}); without the token: ${anonymousStatus}`);
      }
      if (backends.ours) results.machine.addonLoadedByBackend = path.relative(REPO, backends.ours.addon ?? '?');
    }
    if (o.phases.includes('small')) results.small = await smallGetPhase(o, backends, upstream);
    if (o.phases.includes('paced')) results.paced = await pacedPhase(o, backends, upstream, o.phases.includes('small'));
    if (o.phases.includes('handoff')) results.handoff = await handoffPhase(o, addon);
    if (o.phases.includes('large')) results.large = await largePhase(o, backends, upstream, addon);
    if (o.phases.includes('syscalls')) results.syscalls = await syscallsPhase(o, backends);
    for (const subject of Object.keys(backends)) {
      await stopBackend(backends[subject]);
      delete backends[subject];
    }
    if (o.phases.includes('instructions')) results.instructions = await instructionsPhase(o, upstream, addon);
  } finally {
    for (const backend of Object.values(backends)) await stopBackend(backend);
    await stopProcess(upstream.child);
  }
  if (o.phases.includes('sign')) results.sign = signPhase(o, addon);
  results.machine.loadAverageAtEnd = os.loadavg().map((n) => Number(n.toFixed(2)));
  results.durationSeconds = Math.round((Date.now() - started.getTime()) / 1000);

  readSoak(results);
  results.summary = summarise(results);

  const { markdown, svg } = writeReport(results);
  process.stdout.write(`${markdown}\n`);
  if (write) {
    fs.writeFileSync(path.join(BENCH, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    fs.writeFileSync(path.join(BENCH, 'RESULTS.md'), markdown);
    fs.writeFileSync(path.join(BENCH, 'chart.svg'), svg);
    log(`wrote bench/results.json, bench/RESULTS.md and bench/chart.svg (${results.kind} run)`);
  } else {
    log('smoke run: nothing written (pass --write to write bench/RESULTS.md, results.json and chart.svg marked SMOKE RUN)');
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
