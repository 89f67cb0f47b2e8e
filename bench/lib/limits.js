'use strict';
// What the goals leave for a proxy's own work, from the same run: Backstage's floor (D) plus the
// audit event (A − A') is what any proxy that records audit events pays before it does anything,
// and a hand-off to another thread and back (the hand-off phase) is what any design that
// exchanges with the upstream off the JavaScript thread pays in latency.

const { median, fmt, ratio, fmtRatio, table } = require('./format');

/** Medians per hand-off mode: `{ direct, addon, 'node-worker' }`, each `{ rounds, rps, p50Ms, p99Ms, errors }`. */
function summariseHandoff(handoff) {
  const byMode = {};
  for (const run of handoff?.runs ?? []) (byMode[run.mode] ??= []).push(run);
  return Object.fromEntries(Object.entries(byMode).map(([mode, runs]) => [mode, {
    rounds: runs.length,
    rps: median(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  }]));
}

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
 * Backstage and the audit event (or the hand-off) already take of it, and what is left.
 */
function reachabilitySection(summary) {
  const s10 = summary.small[10] ?? {};
  const { ours: a, 'ours-unaudited': a1, segment: b, floor: d } = s10;
  const lines = [];
  const verdict = (budget, taken, own, unit, digits = 0) => (taken > budget
    ? `**no proxy that records an audit event per request can meet it here**: ${fmt(taken, digits)} ${unit} > ${fmt(budget, digits)} before the proxy does any work`
    : `leaves ${fmt(budget - taken, digits)} ${unit} for the proxy's own work; ours takes ${fmt(own, digits)}`);

  if (a?.cpuMainUs && a1?.cpuMainUs && b?.cpuMainUs && d?.cpuMainUs) {
    const busy = [a, a1, b, d].map((s) => (s.rps * s.cpuMainUs) / 1e4);
    const audit = a.cpuMainUs - a1.cpuMainUs;
    lines.push(`- **3× Segment's req/s.** In every backend the JavaScript thread was busy ${fmt(Math.min(...busy))}–${fmt(Math.max(...busy))}% of each run ` +
      "(req/s × its CPU time per request), so req/s is the inverse of that time. 3× Segment's req/s allows " +
      `${fmt(b.cpuMainUs / 3)} µs per request (Segment's ${fmt(b.cpuMainUs)} ÷ 3). The floor takes ${fmt(d.cpuMainUs)} and the audit event ` +
      `(A − A') ${fmt(audit)}: ${verdict(b.cpuMainUs / 3, d.cpuMainUs + audit, a1.cpuMainUs - d.cpuMainUs, 'µs')}.`);
  }
  if (a?.cpuProcessUs && a1?.cpuProcessUs && d?.cpuProcessUs) {
    const audit = a.cpuProcessUs - a1.cpuProcessUs;
    lines.push(`- **CPU per request ≤ 1.25× the floor's.** The budget is ${fmt(1.25 * d.cpuProcessUs)} µs over all threads. The floor takes ` +
      `${fmt(d.cpuProcessUs)} and the audit event ${fmt(audit)}: ${verdict(1.25 * d.cpuProcessUs, d.cpuProcessUs + audit, a1.cpuProcessUs - d.cpuProcessUs, 'µs')}.`);
  }
  const ir = summary.instructions ?? {};
  if (ir.ours && ir['ours-unaudited'] && ir.floor) {
    const [ia, ia1, id] = [ir.ours.perRequest, ir['ours-unaudited'].perRequest, ir.floor.perRequest];
    lines.push(`- **Instructions ≤ 1.25× the floor's.** The budget is ${fmt(1.25 * id)}. The floor takes ${fmt(id)} and the audit event ` +
      `${fmt(ia - ia1)} (${fmtRatio(ratio(ia - ia1, id))} of the floor): ${verdict(1.25 * id, id + ia - ia1, ia1 - id, 'instructions')}, ` +
      'for signing, the exchange with the upstream and the JavaScript around it.');
  }
  const handoff = summary.handoff ?? {};
  const upstream = summary.paced?.upstream;
  if (handoff.addon && handoff.direct && upstream) {
    const hop = handoff.addon.p50Ms - handoff.direct.p50Ms;
    lines.push(`- **Paced p50 ≤ the floor's + 0.3 ms.** The round trip to the upstream alone (E) is ${fmt(upstream.p50Ms, 2)} ms, and one ` +
      `hand-off to the addon's worker and back ${fmt(hop, 2)} ms (see "One hand-off between threads"): ${fmt(upstream.p50Ms + hop, 2)} ms of the 0.3 ` +
      `before any work${upstream.p50Ms + hop > 0.3 ? ', so no design that exchanges with the upstream off the JavaScript thread meets it on this machine' : ''}. ` +
      'Doing the exchange on the JavaScript thread instead would save the hand-off but move the worker\'s CPU time onto the thread that limits req/s.');
  }
  if (lines.length === 0) return [];
  return ['### What the goals leave for the proxy', '', 'From the figures below, same run. The floor (D) answers without any upstream; A − A\' is what the audit event costs.', '', ...lines, ''];
}

module.exports = { summariseHandoff, handoffSection, reachabilitySection };
