// The requests run.sh makes against a running backend, as a client would, with their checks.
//   node check.mjs --base http://127.0.0.1:PORT --token TOKEN --bad-token WRONG \
//                  --upstream-log RECORD_LOG --label NAME --out RESULT.json
// node:http, not fetch: fetch's URL parser turns /%2e%2e/ into /../ and resolves it before
// sending, so the path-traversal probe would never reach the backend as written.
import http from 'node:http';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    token: { type: 'string' },
    'bad-token': { type: 'string' },
    'upstream-log': { type: 'string' },
    label: { type: 'string', default: 'backend' },
    out: { type: 'string' },
  },
});
const base = new URL(opt.base);
const TIMEOUT_MS = 30_000;

function request(path, token) {
  return new Promise((resolve, reject) => {
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(
      { host: base.hostname, port: base.port, method: 'GET', path, headers, timeout: TIMEOUT_MS },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function upstreamRecords() {
  try {
    return fs.readFileSync(opt['upstream-log'], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
}

const results = [];
async function probe({ name, path, token, authLabel, expect }) {
  const before = upstreamRecords().length;
  let res;
  let problems = [];
  try {
    res = await request(path, token);
  } catch (e) {
    problems.push(`request failed: ${e.message}`);
  }
  const reached = upstreamRecords().slice(before);
  if (res) problems = problems.concat(expect(res, reached));
  const result = {
    label: opt.label,
    name,
    request: `GET ${path} (${authLabel})`,
    status: res?.status,
    answer: res ? summarize(res) : undefined,
    upstream: reached.map((r) => `${r.method} ${r.url} signatureValid=${r.signatureValid}${r.reason ? ` (${r.reason})` : ''}`),
    ok: problems.length === 0,
    problems,
  };
  results.push(result);
  const mark = result.ok ? 'ok  ' : 'FAIL';
  console.log(`[${opt.label}] ${mark} ${result.request} -> ${result.status ?? 'no answer'} ${result.answer ?? ''}`);
  for (const u of result.upstream) console.log(`[${opt.label}]        upstream saw: ${u}`);
  for (const p of problems) console.log(`[${opt.label}]        problem: ${p}`);
}

function summarize(res) {
  if (res.json?.error) {
    // Backstage's dev mode adds the error's stack; shown as a marker only.
    const { stack, ...error } = res.json.error;
    const shown = JSON.stringify({ error, request: res.json.request, response: res.json.response });
    return stack === undefined ? shown : `${shown} (+ error.stack, dev mode)`;
  }
  if (res.json) return JSON.stringify(res.json);
  return res.text.slice(0, 200);
}

const nothingForwarded = (reached) => (reached.length ? [`the upstream received ${reached.length} request(s); none expected`] : []);

await probe({
  name: 'signed request',
  path: '/api/proxy-sigv4/demo/hello',
  token: opt.token,
  authLabel: 'with token',
  expect: (res, reached) => {
    const p = [];
    if (res.status !== 200) p.push(`status ${res.status}, want 200`);
    if (res.json?.signatureValid !== true) p.push(`echo signatureValid=${res.json?.signatureValid}, want true`);
    if (res.json?.url !== '/base/hello') p.push(`upstream saw url ${res.json?.url}, want /base/hello`);
    if (reached.length !== 1) p.push(`the upstream recorded ${reached.length} requests, want 1`);
    else {
      const r = reached[0];
      if (!r.signatureValid) p.push(`upstream record: signature invalid (${r.reason})`);
      if (r.service !== 'execute-api' || r.region !== 'us-east-1') p.push(`signed for ${r.service}/${r.region}, want execute-api/us-east-1`);
    }
    return p;
  },
});

await probe({
  name: 'no credentials',
  path: '/api/proxy-sigv4/demo/hello',
  token: undefined,
  authLabel: 'no token',
  expect: (res, reached) => [...(res.status !== 401 ? [`status ${res.status}, want 401`] : []), ...nothingForwarded(reached)],
});

if (opt['bad-token']) {
  await probe({
    name: 'wrong token',
    path: '/api/proxy-sigv4/demo/hello',
    token: opt['bad-token'],
    authLabel: 'wrong token',
    expect: (res, reached) => [...(res.status !== 401 ? [`status ${res.status}, want 401`] : []), ...nothingForwarded(reached)],
  });
}

await probe({
  name: 'path traversal',
  path: '/api/proxy-sigv4/demo/%2e%2e/x',
  token: opt.token,
  authLabel: 'with token',
  expect: (res, reached) => {
    const p = [];
    const b = res.json;
    if (res.status !== 400) p.push(`status ${res.status}, want 400`);
    if (typeof b?.error?.name !== 'string' || typeof b?.error?.message !== 'string') p.push('no error.name / error.message in the body');
    if (b?.error?.code !== 'BAD_PATH') p.push(`error.code ${b?.error?.code}, want BAD_PATH`);
    if (typeof b?.request?.method !== 'string' || typeof b?.request?.url !== 'string') p.push('no request { method, url } in the body');
    if (b?.response?.statusCode !== 400) p.push(`response.statusCode ${b?.response?.statusCode}, want 400`);
    if (b?.error?.stack !== undefined) p.push('the error body carries a stack');
    return [...p, ...nothingForwarded(reached)];
  },
});

if (opt.out) fs.writeFileSync(opt.out, JSON.stringify(results, null, 2));
const failed = results.filter((r) => !r.ok).length;
console.log(`[${opt.label}] ${results.length - failed}/${results.length} checks passed`);
process.exit(failed ? 1 : 0);
