'use strict';
// Medians, ratios and Markdown for the report's sections (report.js, limits.js).

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const max = (values) => (values.length ? Math.max(...values) : null);
const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ratio = (a, b) => (a === null || b === null || !b ? null : a / b);
const fmtRatio = (r) => (r === null ? '–' : `${r.toFixed(2)}×`);

/**
 * Medians of paced-load runs grouped by `key` (`subject`, `mode`...): `{ [name]: { rounds, rps,
 * p50Ms, p99Ms, errors } }`, errors summed.
 */
function latencyMedians(runs = [], key) {
  const byName = {};
  for (const run of runs) (byName[run[key]] ??= []).push(run);
  return Object.fromEntries(Object.entries(byName).map(([name, rs]) => [name, {
    rounds: rs.length,
    rps: median(rs.map((r) => r.rps)),
    p50Ms: median(rs.map((r) => r.p50Ms)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
    errors: rs.reduce((sum, r) => sum + r.errors, 0),
  }]));
}

/** A Markdown table; `align` has one letter per column, l or r (default: first l, the rest r). */
function table(header, rows, align = `l${'r'.repeat(header.length - 1)}`) {
  const rule = header.map((h, i) => (align[i] === 'r' ? '---:' : '---')).join('|');
  return [`| ${header.join(' | ')} |`, `|${rule}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

module.exports = { median, max, fmt, ratio, fmtRatio, latencyMedians, table };
