'use strict';
// Turns bench/run.js's raw runs into medians, the issue's goals (met or not, with the numbers),
// bench/RESULTS.md and a hand-written SVG chart (no dependency).

const { median, max, fmt, ratio, fmtRatio, latencyMedians, table } = require('./format');
const { addonInstructions, handoffSection, reachabilitySection } = require('./limits');

const LABELS = {
  ours: 'A proxy-sigv4 (ours)',
  'ours-unaudited': "A' ours, no audit events",
  segment: 'B Segment proxy-sigv4',
  'proxy-backend': 'C Backstage proxy-backend',
  floor: 'D floor',
  'floor-fetch': "D' the floor plus one upstream fetch",
  upstream: 'E the upstream alone (no backend)',
  'ours-signer': 'ours: addon Signer.sign (from JS)',
  'ours-sync': 'ours: addon signRequestSync (from JS)',
  'ours-rust': 'ours: Rust only (examples/sign_bench)',
  smithy: '@smithy/signature-v4',
  aws4: 'aws4',
};
const SHORT = {
  ours: 'A ours',
  'ours-unaudited': "A' ours, no audit",
  segment: 'B Segment',
  'proxy-backend': 'C proxy-backend',
  floor: 'D floor',
  'floor-fetch': "D' floor + fetch",
  'ours-signer': 'ours (JS Signer)',
  'ours-sync': 'ours (JS sync)',
  'ours-rust': 'ours (Rust)',
  smithy: '@smithy/signature-v4',
  aws4: 'aws4',
};
const COLORS = { ours: '#2b6cb0', 'ours-unaudited': '#90cdf4', segment: '#dd6b20', 'proxy-backend': '#718096', floor: '#38a169', 'floor-fetch': '#9ae6b4' };
const SIGN_COLORS = { 'ours-signer': '#1a365d', 'ours-sync': '#2b6cb0', 'ours-rust': '#63b3ed', smithy: '#805ad5', aws4: '#d69e2e' };

/**
 * What one small GET cost each backend: CPU per request and garbage collection, measured in the
 * same runs. Empty for results from before these were measured.
 */
function requestCostSection(small) {
  const counts = Object.keys(small).map(Number).sort((a, b) => a - b);
  const measured = counts.some((c) => Object.values(small[c]).some((s) => s.cpuMainUs !== null));
  if (!measured) return [];
  const lines = [
    '### What each request cost the backend',
    '',
    'Read in the same runs. CPU: from /proc, per request served; "main thread" is the JavaScript thread,',
    'where every subject spends most of its time, and "process" adds the other threads (V8\'s helpers,',
    'and for ours the Tokio workers). GC: pauses the backend observed (`perf_hooks`), per 1,000',
    'requests; "longest" is the longest single pause in any round. A pause stops every request in',
    'flight, so pauses and main-thread CPU set the latency tail.',
    '',
  ];
  const rows = [];
  for (const c of counts) {
    const floorCpu = small[c].floor?.cpuMainUs ?? null;
    for (const [subject, s] of Object.entries(small[c])) {
      rows.push([
        String(c),
        LABELS[subject],
        fmt(s.cpuMainUs),
        subject === 'floor' ? '1.00×' : fmtRatio(ratio(s.cpuMainUs, floorCpu)),
        fmt(s.cpuProcessUs),
        fmt(s.scavengesPer1k, 1),
        fmt(s.gcMsPer1k, 1),
        fmt(s.gcLongestMs, 1),
      ]);
    }
  }
  lines.push(table(['conns', 'subject', 'main thread µs/req', '÷ floor', 'process µs/req', 'scavenges /1k req', 'GC pause ms /1k req', 'longest GC pause ms'], rows, 'rlrrrrrr'));
  lines.push('');
  return lines;
}

/**
 * Latency at a load well below saturation. Empty for results from before it was measured.
 */
function pacedSection(paced, summaryPaced) {
  if (!paced) return [];
  const floor = summaryPaced.floor ?? null;
  const overFloor = (subject, key) => (['floor', 'upstream'].includes(subject) || !floor ? '–' : `+${fmt(summaryPaced[subject][key] - floor[key], 2)}`);
  const rows = Object.entries(summaryPaced).map(([subject, s]) => [
    LABELS[subject],
    fmt(s.rps),
    fmt(s.p50Ms, 2),
    fmt(s.p99Ms, 2),
    overFloor(subject, 'p50Ms'),
    overFloor(subject, 'p99Ms'),
    fmt(s.errors),
  ]);
  return [
    '## Latency at an unsaturated load',
    '',
    'The small-GET runs above saturate every backend\'s JavaScript thread, so their latency is mostly',
    'queueing: with N connections in a closed loop, mean latency is N ÷ req/s (Little\'s law), so a',
    'subject at 0.7× the floor\'s req/s waits about 1.4× as long on average. Here the same GET',
    `runs on ${paced.connections} connections that each wait ${paced.paceMs} ms after an answer before the next request`,
    '(wrk with `bench/lib/paced.lua`; the wait is not part of the latency), a fraction of what every',
    'subject can serve: the latency is what a request costs, not how long it queued. "Over the floor":',
    'what the subject adds to Backstage\'s own latency. E is wrk straight to the upstream: the round trip',
    'that every proxy adds to the floor before it does any work of its own. At this load the floor\'s p99',
    'is about one young-generation GC pause (see the cost table above), not queueing.',
    '',
    table(['subject', 'req/s', 'p50 ms', 'p99 ms', 'p50 over the floor', 'p99 over the floor', 'errors'], rows),
    '',
  ];
}

/** Instructions per small GET (callgrind) and system calls per small GET (strace), with what they say. */
function countedSection(results, summary) {
  const ir = summary.instructions;
  const sc = summary.syscalls;
  if (!Object.keys(ir).length && !Object.keys(sc).length) return [];
  const lines = ['## Counted per request', ''];
  if (Object.keys(ir).length) {
    const floor = ir.floor?.perRequest ?? null;
    const ours = ir.ours?.perRequest ?? null;
    lines.push(
      `Instructions, counted by valgrind's callgrind over every thread of a fresh backend: ${fmt(results.instructions.warmup)} small GETs`,
      `uncounted (the JIT compiles the hot paths), then ${fmt(ir.ours?.requests ?? ir.floor?.requests)} counted, at ${results.instructions.connections} connections. A count does not`,
      'move with the machine\'s load as req/s and CPU time do. It leaves out the kernel\'s work (system calls,',
      'the loopback TCP stack), which the CPU times above include; "JavaScript thread" is the main thread.',
      'valgrind\'s CPU has no SHA extensions, so the addon\'s SHA-256 runs in software here, where a CPU',
      'with them (`sha_ni` in /proc/cpuinfo) needs a fraction of those instructions.',
      '',
      table(
        ['subject', 'instructions /req', '÷ floor', 'A ÷ this', 'JavaScript thread /req', 'other threads /req'],
        Object.entries(ir).map(([subject, r]) => [
          LABELS[subject],
          fmt(r.perRequest),
          subject === 'floor' ? '1.00×' : fmtRatio(ratio(r.perRequest, floor)),
          subject === 'ours' ? '1.00×' : fmtRatio(ratio(ours, r.perRequest)),
          fmt(r.mainThreadPerRequest),
          fmt(r.otherThreadsPerRequest),
        ]),
      ),
      '',
    );
    if (ir.ours?.byObject?.length) {
      lines.push(
        'Ours, by the binary the instructions ran in (self cost, all threads): ' +
          ir.ours.byObject.map((o) => `${objectName(o.object)} ${fmt(o.perRequest)}`).join(', ') + '.',
        '',
      );
    }
  }
  if (Object.keys(sc).length) {
    const names = ['futex', 'epoll_wait', 'epoll_pwait', 'write', 'writev', 'read', 'recvfrom'];
    lines.push(
      `System calls per small GET over every thread, counted by \`strace -f -c\` attached to the running backend for`,
      `${fmt(results.syscalls.runs[0]?.requests)} requests at ${results.syscalls.connections} connections (strace slows it: counts only, no times). Each \`futex\` or`,
      'eventfd `write` that wakes another thread, and each `epoll_wait` it then returns from, is a hand-off',
      'between threads: on an unsaturated backend, a wait for a sleeping thread (and CPU) to wake.',
      '',
      table(
        ['subject', 'all', ...names, 'other'],
        Object.entries(sc).map(([subject, r]) => {
          const named = names.map((n) => r.perRequest[n] ?? 0);
          const other = r.totalPerRequest - named.reduce((a, b) => a + b, 0);
          return [LABELS[subject], fmt(r.totalPerRequest, 2), ...named.map((n) => fmt(n, 2)), fmt(Math.max(0, other), 2)];
        }),
      ),
      '',
    );
  }
  lines.push(...whereTheCostIs(summary));
  return lines;
}

/** A binary as callgrind names it; `???` is code V8 generated (compiled JavaScript and its stubs). */
function objectName(object) {
  return object.startsWith('???') ? "V8's generated code" : object;
}

/** What the counts say about ours against the floor, in numbers. */
function whereTheCostIs(summary) {
  const ir = summary.instructions;
  const { ours, floor } = ir;
  if (!ours || !floor) return [];
  const unaudited = ir['ours-unaudited'];
  const lines = ['### Where ours spends more than the floor', ''];
  const extra = ours.perRequest - floor.perRequest;
  lines.push(`- Instructions: +${fmt(extra)} per request (${fmtRatio(ratio(ours.perRequest, floor.perRequest))}): ` +
    `+${fmt(ours.mainThreadPerRequest - floor.mainThreadPerRequest)} on the JavaScript thread, ` +
    `+${fmt(ours.otherThreadsPerRequest - floor.otherThreadsPerRequest)} on the other threads.`);
  if (unaudited) {
    lines.push(`- The audit event: ${fmt(ours.perRequest - unaudited.perRequest)} of them (A − A'), ` +
      `${fmt(ours.mainThreadPerRequest - unaudited.mainThreadPerRequest)} on the JavaScript thread: Backstage's auditor ` +
      'resolves the caller and writes two log records (initiated, then succeeded) through winston, which runs ' +
      'its stream even for a record its level filter then drops.');
  }
  const addon = addonInstructions(ours);
  if (addon !== null) lines.push(`- The addon's own code (signing, HTTP/1.1, the napi calls): ${fmt(addon)} per request, on every thread.`);
  const sc = summary.syscalls;
  if (sc.ours && sc.floor) {
    lines.push(`- System calls: ${fmt(sc.ours.totalPerRequest, 2)} per request against the floor's ${fmt(sc.floor.totalPerRequest, 2)}: ` +
      'the upstream exchange itself (a `writev` and a read), the hand-off to the Tokio worker and back (an eventfd ' +
      '`write` each way, and the `epoll_wait` it wakes from), and the futex calls left.');
  }
  lines.push("- By component on the JavaScript thread (Backstage's own stack, the auditor, logging, the plugin and its " +
    'addon calls): `bench/PROFILE.md`, from `node bench/profile.js`.');
  lines.push('');
  return lines;
}

function summarise(results) {
  const summary = { small: {}, paced: {}, large: {}, sign: {}, goals: [] };
  for (const run of results.small ?? []) {
    const byC = (summary.small[run.connections] ??= {});
    (byC[run.subject] ??= { runs: [] }).runs.push(run);
  }
  for (const byC of Object.values(summary.small)) {
    for (const [subject, s] of Object.entries(byC)) {
      byC[subject] = {
        rounds: s.runs.length,
        rps: median(s.runs.map((r) => r.rps)),
        rpsByRound: Object.fromEntries(s.runs.map((r) => [r.round, r.rps])),
        p50Ms: median(s.runs.map((r) => r.p50Ms)),
        p99Ms: median(s.runs.map((r) => r.p99Ms)),
        rssMiB: median(s.runs.map((r) => r.rssMiB)),
        // Absent in results from before these were measured.
        cpuMainUs: median(s.runs.map((r) => r.cpuMicrosPerRequest?.mainThread)),
        cpuProcessUs: median(s.runs.map((r) => r.cpuMicrosPerRequest?.process)),
        scavengesPer1k: median(s.runs.map((r) => r.gcPer1kRequests?.scavenges)),
        gcMsPer1k: median(s.runs.map((r) => r.gcPer1kRequests?.pauseMs)),
        gcLongestMs: max(s.runs.map((r) => r.gcPer1kRequests?.longestMs).filter((x) => typeof x === 'number')),
        upstreamConnections: median(s.runs.map((r) => r.upstreamConnections)),
        upstreamConnectionsMax: max(s.runs.map((r) => r.upstreamConnections)),
        upstreamRequests: s.runs.reduce((sum, r) => sum + r.upstreamRequests, 0),
        upstreamSigned: s.runs.reduce((sum, r) => sum + r.upstreamSigned, 0),
        errors: s.runs.reduce((sum, r) => sum + r.errors, 0),
      };
    }
  }
  summary.paced = latencyMedians(results.paced?.runs, 'subject');
  for (const run of results.large?.runs ?? []) (summary.large[run.subject] ??= { runs: [] }).runs.push(run);
  for (const [subject, s] of Object.entries(summary.large)) {
    const finished = s.runs.filter((r) => r.finished);
    summary.large[subject] = {
      rounds: s.runs.length,
      finished: finished.length,
      mibPerSec: median(finished.map((r) => r.mibPerSec)),
      ttfbMs: median(finished.map((r) => r.ttfbMs)),
      seconds: median(finished.map((r) => r.seconds)),
      peakRssMiB: max(s.runs.map((r) => r.peakRssMiB)),
      rssGrowthMiB: max(s.runs.map((r) => r.rssGrowthMiB)),
      outcomes: [...new Set(s.runs.map((r) => r.outcome))],
    };
  }
  summary.handoff = latencyMedians(results.handoff?.runs, 'mode');
  summary.instructions = Object.fromEntries((results.instructions?.runs ?? []).map((r) => [r.subject, r]));
  summary.syscalls = Object.fromEntries((results.syscalls?.runs ?? []).map((r) => [r.subject, r]));
  for (const run of results.sign?.runs ?? []) (summary.sign[run.signer] ??= { runs: [] }).runs.push(run.opsPerSec);
  for (const [signer, s] of Object.entries(summary.sign)) summary.sign[signer] = { rounds: s.runs.length, opsPerSec: median(s.runs) };
  summary.goals = goals(results, summary);
  return summary;
}

/** Our JavaScript entry points, and what the goal row calls them. */
const JS_ENTRY_POINTS = { 'ours-signer': 'addon Signer.sign', 'ours-sync': 'addon signRequestSync' };

/** The faster of our JavaScript entry points in these runs: `{ signer, opsPerSec }` or null. */
function fastestFromJs(summary) {
  let best = null;
  for (const signer of Object.keys(JS_ENTRY_POINTS)) {
    const opsPerSec = summary.sign[signer]?.opsPerSec ?? null;
    if (opsPerSec !== null && (best === null || opsPerSec > best.opsPerSec)) best = { signer, opsPerSec };
  }
  return best;
}

/**
 * The lowest and highest of the per-round ratios, e.g. ` (per round 2.67–3.02×)`: a round runs
 * every subject back to back, so its ratio shows how far the machine's drift moves the median's.
 */
function roundSpread(a, b) {
  const ratios = Object.entries(a?.rpsByRound ?? {})
    .map(([round, rps]) => ratio(rps, b?.rpsByRound?.[round] ?? null))
    .filter((r) => r !== null);
  if (ratios.length < 2) return '';
  return ` (per round ${Math.min(...ratios).toFixed(2)}–${fmtRatio(Math.max(...ratios))})`;
}

function goal(text, status, numbers) {
  return { goal: text, status, numbers };
}

function goals(results, summary) {
  const out = [];
  const cs = Object.keys(summary.small).map(Number).sort((a, b) => a - b);
  // Judged at 10 connections, on A (audit events on); 64 connections and A' are shown beside it.
  const smallRatio = (peer, factor, text) => {
    const at = (c, subject) => summary.small[c]?.[subject]?.rps ?? null;
    const judged = ratio(at(10, 'ours'), at(10, peer));
    const parts = [`${fmt(at(10, 'ours'))} vs ${fmt(at(10, peer))} req/s = ${fmtRatio(judged)}${roundSpread(summary.small[10]?.ours, summary.small[10]?.[peer])}`];
    for (const c of cs.filter((c) => c !== 10)) parts.push(`${c} conn: ${fmtRatio(ratio(at(c, 'ours'), at(c, peer)))}`);
    if (summary.small[10]?.['ours-unaudited']) parts.push(`A' (no audit events): ${fmtRatio(ratio(at(10, 'ours-unaudited'), at(10, peer)))}`);
    out.push(goal(text, judged === null ? 'not measured' : judged >= factor ? 'met' : `not met (${fmtRatio(judged)} of ${factor}×)`, parts.join('; ')));
  };
  smallRatio('segment', 3, "small GET req/s at 10 connections ≥ 3× Segment's");
  smallRatio('proxy-backend', 2, "small GET req/s at 10 connections ≥ 2× proxy-backend's");
  smallRatio('floor', 0.5, "small GET req/s at 10 connections ≥ 0.5× the floor's");

  const limitGoal = (text, ours, floor, limit, unit, digits, extra = '') => {
    if (ours === null || ours === undefined || floor === null || floor === undefined) return goal(text, 'not measured', 'needs ours and the floor');
    const r = ratio(ours, floor);
    return goal(text, ours <= limit(floor) ? 'met' : 'not met',
      `${fmt(ours, digits)} vs the floor's ${fmt(floor, digits)} ${unit} = ${fmtRatio(r)}${extra}`);
  };
  const cpu10 = (subject) => summary.small[10]?.[subject]?.cpuProcessUs ?? null;
  out.push(limitGoal("CPU per request over all threads ≤ 1.25× the floor's (10 connections)", cpu10('ours'), cpu10('floor'), (f) => 1.25 * f, 'µs', 0,
    cpu10('ours-unaudited') !== null ? `; A' (no audit events): ${fmtRatio(ratio(cpu10('ours-unaudited'), cpu10('floor')))}` : ''));
  const ir = (subject) => summary.instructions[subject]?.perRequest ?? null;
  out.push(limitGoal("instructions per request (callgrind, all threads) ≤ 1.25× the floor's", ir('ours'), ir('floor'), (f) => 1.25 * f, 'instructions', 0,
    ir('ours-unaudited') !== null ? `; A' (no audit events): ${fmtRatio(ratio(ir('ours-unaudited'), ir('floor')))}` : ''));

  const paced = (subject, key) => summary.paced[subject]?.[key] ?? null;
  const rounds = summary.paced.ours?.rounds ?? 0;
  const pacedGoal = (key, label, allowance) => {
    const ours = paced('ours', key);
    const floor = paced('floor', key);
    const text = `paced load: ${label} ≤ the floor's + ${allowance} ms (median of ${rounds} runs)`;
    if (ours === null || floor === null) return goal(text, 'not measured', 'needs the paced runs of ours and the floor');
    const over = ours - floor;
    return goal(text, over <= allowance ? 'met' : `not met (+${fmt(over - allowance, 2)} ms too many)`,
      `${fmt(ours, 2)} vs ${fmt(floor, 2)} ms: +${fmt(over, 2)} ms; the upstream alone: ${fmt(paced('upstream', key), 2)} ms`);
  };
  out.push(pacedGoal('p50Ms', 'p50', 0.3));
  out.push(pacedGoal('p99Ms', 'p99', 2));

  const connParts = [];
  let connMet = cs.length > 0 ? true : null;
  for (const c of cs) {
    const ours = summary.small[c].ours;
    if (!ours) { connMet = null; continue; }
    if (ours.upstreamConnectionsMax > 2 * c) connMet = false;
    connParts.push(`${c} conn: at most ${ours.upstreamConnectionsMax} opened in a run (limit ${2 * c})`);
  }
  out.push(goal('upstream connections opened ≤ 2× client connections', connMet === null ? 'not measured' : connMet ? 'met' : 'not met', connParts.join('; ') || 'no small-GET runs'));

  const size = results.large?.sizeBytes;
  const sizeText = size ? `${fmt(size / 2 ** 30, 2)} GiB` : '';
  const ol = summary.large.ours;
  const cl = summary.large['proxy-backend'];
  out.push(
    ol && cl && ol.mibPerSec !== null && cl.mibPerSec !== null
      ? goal(`${sizeText} streamed: throughput ≥ proxy-backend's`, ol.mibPerSec >= cl.mibPerSec ? 'met' : 'not met',
          `${fmt(ol.mibPerSec)} vs ${fmt(cl.mibPerSec)} MiB/s = ${fmtRatio(ratio(ol.mibPerSec, cl.mibPerSec))}`)
      : goal('large streamed response: throughput ≥ proxy-backend\'s', 'not measured', ol || cl ? 'a transfer did not finish' : 'no large runs'),
  );
  out.push(
    ol
      ? goal(`${sizeText} streamed: backend peak RSS growth < 64 MiB`, ol.rssGrowthMiB < 64 ? 'met' : 'not met',
          `largest growth ${fmt(ol.rssGrowthMiB, 1)} MiB over ${ol.rounds} transfer(s)`)
      : goal('large streamed response: backend peak RSS growth < 64 MiB', 'not measured', 'no large runs'),
  );

  // Judged on the faster of our JavaScript entry points; the other one and Rust alone are shown.
  const best = fastestFromJs(summary);
  const smithy = summary.sign.smithy?.opsPerSec ?? null;
  if (best !== null && smithy !== null) {
    const others = [...Object.keys(JS_ENTRY_POINTS).filter((s) => s !== best.signer), 'ours-rust']
      .filter((s) => summary.sign[s])
      .map((s) => `${s === 'ours-rust' ? 'Rust alone' : JS_ENTRY_POINTS[s]}: ${fmt(summary.sign[s].opsPerSec)} ops/s = ${fmtRatio(ratio(summary.sign[s].opsPerSec, smithy))}`);
    out.push(goal('signing ≥ 5× @smithy/signature-v4', best.opsPerSec >= 5 * smithy ? 'met' : 'not met',
      `${JS_ENTRY_POINTS[best.signer]} ${fmt(best.opsPerSec)} vs ${fmt(smithy)} ops/s = ${fmtRatio(ratio(best.opsPerSec, smithy))}` +
      (others.length ? ` (${others.join('; ')})` : '')));
  } else {
    const pending = results.sign?.pending ?? {};
    const why = pending['ours-signer'] ?? pending['ours-sync'];
    out.push(goal('signing ≥ 5× @smithy/signature-v4', why ? 'pending' : 'not measured', why ?? 'no signing runs'));
  }

  const soak = results.soak;
  if (soak) {
    const full = soak.connections >= 64 && soak.seconds >= 60;
    // The goal catches growth (a leak): RSS that shrinks after warm-up passes, reported as is.
    const ok = soak.errors === 0 && soak.rssGrowthPercent <= 10;
    out.push(goal('soak: 64 connections for 60 s, zero errors, RSS at end at most 10% above after warm-up',
      full && ok ? 'met' : 'not met',
      `${soak.connections} connections for ${soak.seconds} s${full ? '' : ' (shorter than the goal\'s run)'}, ` +
      `${soak.errors} errors, RSS ${soak.rssAfterWarmupMiB} → ${soak.rssAtEndMiB} MiB (${soak.rssGrowthPercent > 0 ? '+' : ''}${soak.rssGrowthPercent}%), ${soak.date}`));
  } else {
    out.push(goal('soak: 64 connections for 60 s, zero errors, RSS at end at most 10% above after warm-up', 'not measured', 'no bench/soak-result.json: run node bench/soak.js'));
  }
  return out;
}

function markdown(results) {
  const { summary, machine: m, versions: v, options: o } = results;
  const smoke = results.kind !== 'full';
  const lines = [];
  lines.push('# Benchmarks side by side');
  lines.push('');
  if (smoke) {
    lines.push('> **SMOKE RUN: not a measurement.** Short runs that prove the harness works end to end; the');
    lines.push('> numbers below are noisy and must not be quoted. `bench/run.sh` (defaults: 5 s per wrk run,');
    lines.push('> 9 rounds, 1 GiB) replaces this file with a full run.');
    lines.push('');
  }
  lines.push('Generated by `bench/run.js` (`bench/run.sh` = set-up + run); do not edit by hand.');
  lines.push('');
  lines.push('![req/s per subject at each connection count, and signing ops/s](chart.svg)');
  lines.push('');
  lines.push(`- Command: \`${results.command}\` (${results.kind} run, ${results.date}, ${results.durationSeconds} s)`);
  lines.push(`- Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, ${m.wrk ?? 'wrk ?'}; ` +
    `load average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd?.join(' ')} at end (the machine is shared)`);
  lines.push(`- Addon: **${m.addonProfile}** build, \`${m.addonFile}\`${m.addonLoadedByBackend ? ` (loaded by backend A: \`${m.addonLoadedByBackend}\`)` : ''}` +
    `${m.addonNote ? `; note: ${m.addonNote}` : ''}; commit ${m.gitCommit}${m.gitDirty ? ' with uncommitted changes' : ''}`);
  lines.push(`- Versions: @backstage/backend-defaults ${v.backstageBackendDefaults} for every subject, ` +
    `@segment/backstage-plugin-proxy-sigv4-backend ${v.segment}, @backstage/plugin-proxy-backend ${v.proxyBackend}, ` +
    `@smithy/signature-v4 ${v.smithySignatureV4}, aws4 ${v.aws4}`);
  lines.push(`- Options: ${o.seconds} s per wrk run, ${o.rounds} interleaved rounds, connections ${o.connections.join(' and ')}, ` +
    `${o.gib} GiB response (limits ${o.streamTimeout} s and ${o.rssLimit} MiB backend RSS), ${o.signSeconds} s per signing run. ` +
    'Every figure is the median of the rounds unless it says otherwise.');
  lines.push('');

  lines.push('## Goals');
  lines.push('');
  lines.push(table(['goal', 'result', 'numbers'], summary.goals.map((g) => [g.goal, g.status === 'met' ? '**met**' : `**${g.status}**`, g.numbers]), 'lll'));
  lines.push('');
  lines.push(...reachabilitySection(summary));

  if (results.small) {
    lines.push('## Small GET through each backend');
    lines.push('');
    lines.push('wrk, 2 threads, `GET <prefix>/items/42?limit=10&q=bench` with the static token; the upstream answers');
    lines.push('103 bytes at once. "A ÷ this": our req/s over this subject\'s. RSS: the backend after the run.');
    lines.push('"Upstream conns": TCP connections the upstream accepted during the run (median; max in brackets).');
    lines.push('"Signed": share of upstream requests that carried a SigV4 `Authorization`.');
    for (const c of Object.keys(summary.small).map(Number).sort((a, b) => a - b)) {
      lines.push('');
      lines.push(`### ${c} connections`);
      lines.push('');
      const ours = summary.small[c].ours?.rps ?? null;
      const rows = Object.entries(summary.small[c]).map(([subject, s]) => [
        LABELS[subject],
        fmt(s.rps),
        subject === 'ours' ? '1.00×' : fmtRatio(ratio(ours, s.rps)),
        fmt(s.p50Ms, 2),
        fmt(s.p99Ms, 2),
        fmt(s.rssMiB),
        subject === 'floor' ? '–' : `${fmt(s.upstreamConnections)} (${fmt(s.upstreamConnectionsMax)})`,
        subject === 'floor' ? '–' : `${fmt(s.upstreamRequests ? (100 * s.upstreamSigned) / s.upstreamRequests : 0)}%`,
        fmt(s.errors),
      ]);
      lines.push(table(['subject', 'req/s', 'A ÷ this', 'p50 ms', 'p99 ms', 'RSS MiB', 'upstream conns', 'signed', 'errors'], rows));
    }
    lines.push('');
    lines.push(...requestCostSection(summary.small));
  }

  lines.push(...pacedSection(results.paced, summary.paced));
  lines.push(...handoffSection(results.handoff, summary.handoff));
  lines.push(...countedSection(results, summary));

  if (results.large) {
    const size = results.large.sizeBytes;
    lines.push(`## One ${fmt(size / 2 ** 30, 2)} GiB streamed response`);
    lines.push('');
    lines.push('A Node client reads `<prefix>/__bytes?size=N` and discards the bytes; the upstream writes 64 KiB');
    lines.push('chunks and waits for `drain`. TTFB: to the first body byte. RSS sampled every 100 ms from');
    lines.push('/proc/PID/status; growth = peak during the transfer minus RSS just before it (largest over the rounds).');
    lines.push('');
    const ours = summary.large.ours?.mibPerSec ?? null;
    const rows = Object.entries(summary.large).map(([subject, s]) => [
      LABELS[subject],
      `${s.finished}/${s.rounds}`,
      fmt(s.mibPerSec),
      subject === 'ours' ? '1.00×' : fmtRatio(ratio(ours, s.mibPerSec)),
      fmt(s.ttfbMs),
      fmt(s.peakRssMiB),
      fmt(s.rssGrowthMiB, 1),
      s.outcomes.join('; '),
    ]);
    lines.push(table(['subject', 'finished', 'MiB/s', 'A ÷ this', 'TTFB ms', 'peak RSS MiB', 'RSS growth MiB', 'what happened'], rows, 'lrrrrrrl'));
    lines.push('');
  }

  if (results.sign) {
    lines.push('## Signing alone');
    lines.push('');
    lines.push('Each signer alternates the same two requests (a GET with a query, a 1 KiB JSON POST) for a fixed');
    lines.push('time after a 0.5 s warm-up, each run in a fresh process; the JavaScript signers and the addon run');
    lines.push('on the main thread. @smithy/signature-v4 hashes with Node\'s crypto (@smithy/hash-node), as the AWS');
    lines.push('SDK does in Node, with `applyChecksum: false` like the others. `Signer.sign` is built once with');
    lines.push('the credentials and scope and takes the request positionally; `signRequestSync` reads one options');
    lines.push('object per call. "Ours from JS": the faster of the two, which the goal above is judged on.');
    lines.push('');
    const best = fastestFromJs(summary);
    const rows = ['ours-signer', 'ours-sync', 'ours-rust', 'smithy', 'aws4'].map((signer) => {
      const s = summary.sign[signer];
      const pending = results.sign.pending?.[signer];
      if (!s) return [LABELS[signer], pending ? `**pending**: ${pending}` : '–', '–'];
      return [LABELS[signer], fmt(s.opsPerSec), best ? fmtRatio(ratio(best.opsPerSec, s.opsPerSec)) : '–'];
    });
    lines.push(table(['signer', 'ops/s', `ours from JS${best ? ` (${JS_ENTRY_POINTS[best.signer].replace('addon ', '')})` : ''} ÷ this`], rows));
    lines.push('');
  }

  lines.push('## Soak');
  lines.push('');
  if (results.soak) {
    const s = results.soak;
    lines.push(`From \`bench/soak-result.json\` (\`node bench/soak.js\`: ours against the verifying upstream, strict; ` +
      `${s.machine ?? 'machine not recorded'}; addon ${s.addon ?? 'build not recorded'}):`);
    lines.push('');
    lines.push(table(['date', 'connections', 'seconds', 'req/s', 'p99 ms', 'errors', 'RSS after warm-up', 'RSS at end', 'growth', 'passed'], [[
      s.date, s.connections, s.seconds, fmt(s.rps), fmt(s.p99Ms, 2), s.errors, `${s.rssAfterWarmupMiB} MiB`, `${s.rssAtEndMiB} MiB`, `${s.rssGrowthPercent}%`, String(s.passed),
    ]]));
    if (s.rssMeasure) {
      lines.push('');
      lines.push(`RSS: ${s.rssMeasure}. Under load it is a garbage-collection sawtooth, so one reading at ` +
        'each end would compare random points of it; a leak would lift the peaks. Samples (MiB): ' +
        `${s.rssSamplesMiB.join(' ')}.`);
    }
  } else {
    lines.push('No `bench/soak-result.json`: run `node bench/soak.js` (64 connections, 60 s).');
  }
  lines.push('');

  lines.push('## How the subjects are wired');
  lines.push('');
  lines.push('Each subject is a real Backstage backend (`createBackend()` from @backstage/backend-defaults, one');
  lines.push('process each, `bench/lib/backend-process.js` with `BENCH_SUBJECT`), `LOG_LEVEL=warn`,');
  lines.push('`NODE_ENV=production`, in-memory SQLite, and the same auth rule: every route requires Backstage');
  lines.push('credentials and wrk sends a static external-access token (`backend.auth.externalAccess`). Without');
  lines.push(`the token each answered: ${Object.entries(results.auth ?? {}).map(([s, st]) => `${SHORT[s]} ${st}`).join(', ') || '–'}.`);
  lines.push('The upstream (`bench/lib/fast-upstream-process.js`) is one loopback process that answers a fixed body');
  lines.push('without verifying signatures, so it is not the bottleneck; `bench/soak.js` is the run that verifies.');
  lines.push('');
  lines.push('- **A ours**: `plugins/proxy-sigv4-backend/` (its `dist`) with the addon named above; route `/bench` with explicit');
  lines.push('  `service: execute-api`, `region: us-east-1`; fake keys from `bench/lib/credentials.js` in the environment.');
  if (Object.values(summary.small).some((bySubject) => bySubject['ours-unaudited'])) {
    lines.push("- **A' ours, no audit events**: the same router and addon, mounted by the plugin's legacy");
    lines.push('  `createRouter({ config, logger, httpAuth })` in the wrapper B uses. A legacy backend has no auditor,');
    lines.push('  so it records no audit events; everything else is the same. Not a goal subject: it shows what the');
    lines.push('  per-request audit event (issue 3) costs, which none of the peers records.');
  }
  lines.push('- **B Segment**: its published `createRouter` (the same code its plugin mounts), same config and keys. Its');
  lines.push('  own plugin registers `allow: unauthenticated` for everything unless');
  lines.push('  `proxysigv4.allowUnauthenticatedRequests: false`, and that key crashes its startup (read as a route),');
  lines.push('  so a 10-line `createBackendPlugin` wrapper mounts the router and leaves Backstage\'s default policy');
  lines.push('  (credentials required) in place, like the others. It opens a new upstream connection per request');
  lines.push('  (a new keep-alive agent each time) and buffers whole responses.');
  lines.push('- **C proxy-backend**: `proxy.endpoints./bench` with `credentials: require`; it does not sign.');
  lines.push('- **D floor**: a plugin whose route answers the same 103-byte body at once: what Backstage itself costs.');
  lines.push('');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// The chart: two panels of vertical bars, hand-written SVG.

/** The top of the axis: four ticks of a round step (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k). */
function niceMax(value) {
  if (!value || value <= 0) return 4;
  const raw = value / 4;
  const exp = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * exp >= raw) return 4 * step * exp;
  return 40 * exp;
}

const short = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k` : `${Math.round(n)}`);
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel({ x, y, width, height, title, groups, seriesOrder, colors, labels, yLabel }) {
  const out = [];
  const values = groups.flatMap((g) => seriesOrder.map((s) => g.values[s] ?? 0));
  const top = niceMax(Math.max(0, ...values));
  const plotX = x + 52;
  const plotY = y + 28;
  const plotW = width - 60;
  const plotH = height - 28 - 56;
  out.push(`<text x="${x + width / 2}" y="${y + 14}" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (let i = 0; i <= 4; i += 1) {
    const v = (top * i) / 4;
    const yy = plotY + plotH - (plotH * i) / 4;
    out.push(`<line x1="${plotX}" y1="${yy}" x2="${plotX + plotW}" y2="${yy}" stroke="#e2e8f0"/>`);
    out.push(`<text x="${plotX - 6}" y="${yy + 4}" text-anchor="end" font-size="11" fill="#4a5568">${short(v)}</text>`);
  }
  out.push(`<text transform="translate(${x + 12},${plotY + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="11" fill="#4a5568">${esc(yLabel)}</text>`);
  const groupW = plotW / groups.length;
  groups.forEach((g, gi) => {
    const present = seriesOrder.filter((s) => g.values[s] !== undefined && g.values[s] !== null);
    const barW = Math.min(44, (groupW * 0.8) / Math.max(1, present.length));
    const start = plotX + gi * groupW + (groupW - barW * present.length) / 2;
    present.forEach((s, si) => {
      const v = g.values[s];
      const h = (plotH * v) / top;
      const bx = start + si * barW;
      out.push(`<rect x="${bx.toFixed(1)}" y="${(plotY + plotH - h).toFixed(1)}" width="${(barW - 3).toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[s]}"><title>${esc(`${labels[s]}: ${Math.round(v)}`)}</title></rect>`);
      out.push(`<text x="${(bx + (barW - 3) / 2).toFixed(1)}" y="${(plotY + plotH - h - 4).toFixed(1)}" text-anchor="middle" font-size="10">${short(v)}</text>`);
    });
    out.push(`<text x="${plotX + gi * groupW + groupW / 2}" y="${plotY + plotH + 16}" text-anchor="middle" font-size="12">${esc(g.label)}</text>`);
  });
  out.push(`<line x1="${plotX}" y1="${plotY + plotH}" x2="${plotX + plotW}" y2="${plotY + plotH}" stroke="#4a5568"/>`);
  // legend, wrapped to the panel's width
  let lx = plotX;
  let ly = plotY + plotH + 36;
  for (const s of seriesOrder) {
    if (!groups.some((g) => g.values[s] !== undefined && g.values[s] !== null)) continue;
    const w = 22 + SHORT[s].length * 6.2;
    if (lx + w > x + width && lx > plotX) {
      lx = plotX;
      ly += 16;
    }
    out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${colors[s]}"/>`);
    out.push(`<text x="${lx + 14}" y="${ly}" font-size="11">${esc(SHORT[s])}</text>`);
    lx += w;
  }
  return out.join('\n');
}

function chart(results) {
  const { summary } = results;
  const width = 960;
  const height = 340;
  const parts = [];
  const subjects = ['ours', 'ours-unaudited', 'segment', 'proxy-backend', 'floor'];
  const cs = Object.keys(summary.small).map(Number).sort((a, b) => a - b);
  parts.push(panel({
    x: 10, y: 40, width: 520, height: height - 50,
    title: 'Small GET through a Backstage backend (req/s, median)',
    groups: cs.map((c) => ({ label: `${c} connections`, values: Object.fromEntries(subjects.map((s) => [s, summary.small[c][s]?.rps ?? null])) })),
    seriesOrder: subjects, colors: COLORS, labels: LABELS, yLabel: 'requests / s',
  }));
  const signers = ['ours-signer', 'ours-sync', 'ours-rust', 'smithy', 'aws4'];
  parts.push(panel({
    x: 550, y: 40, width: 400, height: height - 50,
    title: 'Signing alone (ops/s, median)',
    groups: [{ label: 'GET with query + 1 KiB JSON POST', values: Object.fromEntries(signers.map((s) => [s, summary.sign[s]?.opsPerSec ?? null])) }],
    seriesOrder: signers, colors: SIGN_COLORS, labels: LABELS, yLabel: 'signatures / s',
  }));
  const m = results.machine;
  const banner = results.kind === 'full' ? '' : 'SMOKE RUN, not a measurement: ';
  const caption = `${banner}${m.cores} cores ${m.cpuModel}, Node ${m.node}, ${m.addonProfile} addon, ${results.date.slice(0, 10)}; bench/RESULTS.md has the tables`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="12" fill="${banner ? '#c53030' : '#4a5568'}">${esc(caption)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function writeReport(results) {
  return { markdown: markdown(results), svg: chart(results) };
}

module.exports = { summarise, writeReport, median, LABELS };
