'use strict';
// What the goals leave for a proxy's own work, from the same run: Backstage's floor (D) plus the
// audit event (A − A') is what any proxy that records audit events pays before it does anything,
// and a hand-off to another thread and back (the hand-off phase) is what any design that
// exchanges with the upstream off the JavaScript thread pays in latency.

const { fmt, fmtRatio, table } = require('./format');

const HANDOFF_LABELS = {
  direct: 'answers at once',
  addon: "one round trip to the addon's Tokio worker (`handle` on an unrouted path: 404, no upstream)",
  'node-worker': 'one round trip to a Node worker thread (`postMessage` and its reply)',
};

/** What one hand-off to another thread and back adds to a request at the paced load. */
function handoffSection(handoff, summaryHandoff) {
  const direct = summaryHandoff.direct;
  if (!handoff || !direct) return [];
  const over = (s, key) => (s === direct ? '–' : `+${fmt(s[key] - direct[key], 2)}`);
  const rows = Object.entries(summaryHandoff).map(([mode, s]) => [
    HANDOFF_LABELS[mode] ?? mode, fmt(s.rps), fmt(s.p50Ms, 2), fmt(s.p99Ms, 2), over(s, 'p50Ms'), over(s, 'p99Ms'), fmt(s.errors),
  ]);
  return [
    '### One hand-off between threads',
    '',
    'The same paced load against three plain Node servers (`bench/lib/handoff-server.js`, no Backstage) that',
    'answer the same body and differ only in what a request waits for first. Ours hands every exchange to',
    "its Tokio worker and takes the answer back on the JavaScript thread; the Node worker thread makes the",
    'same two hand-offs without the addon. At this load both threads are asleep when a request arrives, so',
    'each hand-off waits for a sleeping thread to wake: what the row adds over "answers at once" is that',
    "wait, which the machine charges (the addon's worker does next to nothing for an unrouted path).",
    '',
    table(['server', 'req/s', 'p50 ms', 'p99 ms', 'p50 added', 'p99 added', 'errors'], rows, 'lrrrrrr'),
    '',
  ];
}

/**
 * One line per goal that a proxy's design can be held to: the budget the goal gives, what
 * Backstage and the audit event (or the hand-off) already take of it, and what is left. The audit
 * event's share comes from the instruction counts: A − A' in CPU time moves with the machine's
 * load from round to round, the counts do not.
 */
function reachabilitySection(summary) {
  const small10 = summary.small[10] ?? {};
  const { segment: b, floor: d } = small10;
  const ir = summary.instructions ?? {};
  const [a, a1, f] = [ir.ours, ir['ours-unaudited'], ir.floor];
  const lines = [];
  const auditShare = a && a1 && f ? (a.perRequest - a1.perRequest) / f.perRequest : null;
  const auditShareJs = a && a1 && f ? (a.mainThreadPerRequest - a1.mainThreadPerRequest) / f.mainThreadPerRequest : null;

  if (b?.cpuMainUs && d?.cpuMainUs && auditShareJs !== null) {
    const budget = b.cpuMainUs / d.cpuMainUs / 3;
    const busy = Object.values(small10).filter((s) => s.cpuMainUs).map((s) => (s.rps * s.cpuMainUs) / 1e4);
    lines.push(`- **3× Segment's req/s.** Every backend's JavaScript thread was busy ${fmt(Math.min(...busy))}–${fmt(Math.max(...busy))}% ` +
      `(req/s × its CPU time per request), so req/s is the inverse of that time. Segment's took ${fmtRatio(b.cpuMainUs / d.cpuMainUs)} the floor's, so 3× its req/s allows ` +
      `${fmtRatio(budget)} the floor's time. The audit event alone adds ${fmtRatio(auditShareJs)} of the floor's JavaScript-thread ` +
      `instructions${1 + auditShareJs > budget
        ? `: **no proxy that records an audit event per request can meet it here**, ${fmtRatio(1 + auditShareJs)} > ${fmtRatio(budget)} before the proxy does any work.`
        : `: leaves ${fmtRatio(budget - 1 - auditShareJs)} of the floor for the proxy's own work.`}`);
  }
  if (auditShare !== null) {
    const left = 0.25 - auditShare;
    lines.push(`- **CPU and instructions ≤ 1.25× the floor's.** The audit event alone is ${fmtRatio(auditShare)} of the floor's ` +
      `instructions, which leaves ${fmtRatio(Math.max(left, 0))} of the floor (${fmt(Math.max(left, 0) * f.perRequest)} instructions) ` +
      `for everything else the proxy does: signing, the exchange with the upstream, and the JavaScript around them. ` +
      `Ours takes ${fmtRatio(a1.perRequest / f.perRequest - 1)} of the floor for that (A' − D), the addon's own code alone ` +
      `${fmt(addonInstructions(a))} instructions (its SHA-256 runs in software under valgrind: see "Counted per request").`);
  }
  const handoff = summary.handoff ?? {};
  const upstream = summary.paced?.upstream;
  if (handoff.addon && handoff.direct && upstream) {
    const hop = handoff.addon.p50Ms - handoff.direct.p50Ms;
    lines.push(`- **Paced p50 ≤ the floor's + 0.3 ms.** The round trip to the upstream alone (E) is ${fmt(upstream.p50Ms, 2)} ms, and one ` +
      `hand-off to the addon's worker and back ${fmt(hop, 2)} ms (see "One hand-off between threads"): ${fmt(upstream.p50Ms + hop, 2)} ms of the 0.3 ` +
      `before any work${upstream.p50Ms + hop > 0.3 ? ', so no design that exchanges with the upstream off the JavaScript thread meets it on this machine' : ''}.` +
      fetchingFloor(summary.paced));
  }
  if (lines.length === 0) return [];
  return ['### What the goals leave for the proxy', '', 'From the figures below, same run. The floor (D) answers without any upstream; A − A\' is what the audit event costs.', '', ...lines, ''];
}

/** What D' (the floor plus one fetch in Node, an optional subject) adds at p50, when it ran. */
function fetchingFloor(paced) {
  const [fetching, floor] = [paced?.['floor-fetch'], paced?.floor];
  if (!fetching || !floor) return '';
  return ` A proxy that fetches on the JavaScript thread with Node's own client (D', the floor plus one fetch) adds +${fmt(fetching.p50Ms - floor.p50Ms, 2)} ms.`;
}

/** Instructions per request in the addon's own binary, over every thread (callgrind's per-object split). */
function addonInstructions(run) {
  return run.byObject?.find((o) => /proxy[-_.]sigv4|\.node$/.test(o.object) && o.object !== 'node')?.perRequest ?? null;
}

module.exports = { addonInstructions, handoffSection, reachabilitySection };
