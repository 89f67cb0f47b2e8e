'use strict';
// Where a small GET's time goes on the JavaScript thread, by component: V8's CPU profile of each
// subject's backend over a fixed number of requests after a warm-up, its self time grouped by the
// code it ran in, per request. Native code called from JavaScript (the addon's napi calls, Node's
// bindings) counts for the JavaScript function that called it. Writes bench/PROFILE.md and
// bench/profile.json; bench/setup.sh installs what it needs.
//   node bench/profile.js [--requests 20000] [--subjects ours,ours-unaudited,floor]

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { startNodeProcess, stopProcess } = require('./lib/processes');
const { AUTH, SMALL_PATH, startBackend, stopBackend, urlOf } = require('./lib/backends');
const { sendRequests } = require('./lib/fixed-load');
const { chooseAddon } = require('./lib/addon');
const { LABELS } = require('./lib/report');

const BENCH = __dirname;
const CONNECTIONS = 10;

/** Components, first match wins: [name, test on the frame's URL or function name]. */
const COMPONENTS = [
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['ours: plugin code and the addon calls it makes', (f) => f.url.includes('/plugins/proxy-sigv4-backend/')],
  ["Backstage's auditor", (f) => f.url.includes('/entrypoints/auditor/')],
  ['logging (winston)', (f) => /node_modules\/(winston|logform|winston-transport|readable-stream|triple-beam|@colors|safe-stable-stringify)\//.test(f.url)],
  ["Backstage's auth (credentials, tokens)", (f) => /\/entrypoints\/(httpAuth|auth)\/|node_modules\/jose\//.test(f.url)],
  ['express and middleware (helmet, compression...)', (f) => /node_modules\/(express|router|helmet|compression|on-headers|on-finished|finalhandler|qs|cookie|proxy-addr|forwarded|accepts|negotiator|vary|parseurl|cors|type-is|mime|depd|debug|ms)\//.test(f.url)],
  ['Backstage, other', (f) => f.url.includes('node_modules/@backstage/')],
  ['Node (http, streams, events, timers)', (f) => f.url.startsWith('node:')],
  ['native, unattributed (V8, libuv, system calls)', (f) => f.url === '' && f.functionName !== '(idle)'],
  ['other', () => true],
];

function parseOptions(argv) {
  const options = { requests: 20_000, subjects: ['ours', 'ours-unaudited', 'floor'] };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--requests') options.requests = Math.max(1000, Number(argv[i + 1]));
    else if (argv[i] === '--subjects') options.subjects = argv[i + 1].split(',');
    else throw new Error(`unknown option ${argv[i]} (see the top of bench/profile.js)`);
  }
  return options;
}

/** Self time per component, in µs per request, from a .cpuprofile. */
function byComponent(profile, requests) {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const totals = new Map(COMPONENTS.map(([name]) => [name, 0]));
  for (let i = 0; i < profile.samples.length; i += 1) {
    const frame = frames.get(profile.samples[i]);
    if (frame.functionName === '(idle)') continue;
    const [name] = COMPONENTS.find(([, test]) => test(frame));
    totals.set(name, totals.get(name) + (profile.timeDeltas[i] ?? 0));
  }
  const perRequest = Object.fromEntries([...totals].map(([name, us]) => [name, Number((us / requests).toFixed(1))]));
  const busy = Number(([...totals.values()].reduce((a, b) => a + b, 0) / requests).toFixed(1));
  return { perRequest, busy };
}

async function profileSubject(subject, upstream, addon, requests) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-sigv4-profile-')), 'cpu.json');
  const backend = await startBackend(subject, upstream, addon, { cpuProfileFile: file });
  try {
    const load = { url: urlOf(backend, SMALL_PATH), headers: AUTH, connections: CONNECTIONS, timeoutMs: 10 * 60_000 };
    await sendRequests({ ...load, count: requests });
    process.kill(backend.pid, 'SIGUSR2');
    await sleep(200);
    const result = await sendRequests({ ...load, count: requests });
    if (result.failed > 0) throw new Error(`${subject}: ${result.failed} requests failed`);
    process.kill(backend.pid, 'SIGUSR2');
    const deadline = Date.now() + 30_000;
    while (!fs.existsSync(file) && Date.now() < deadline) await sleep(100);
    return byComponent(JSON.parse(fs.readFileSync(file, 'utf8')), requests);
  } finally {
    await stopBackend(backend);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

function markdown(results) {
  const subjects = Object.keys(results.subjects);
  const floor = results.subjects.floor;
  const rows = COMPONENTS.map(([name]) => [
    name,
    ...subjects.map((s) => results.subjects[s].perRequest[name].toFixed(1)),
    ...(floor && results.subjects.ours ? [(results.subjects.ours.perRequest[name] - floor.perRequest[name]).toFixed(1)] : []),
  ]);
  rows.push([
    '**busy in all**',
    ...subjects.map((s) => `**${results.subjects[s].busy.toFixed(1)}**`),
    ...(floor && results.subjects.ours ? [`**${(results.subjects.ours.busy - floor.busy).toFixed(1)}**`] : []),
  ]);
  const header = ['component', ...subjects.map((s) => `${LABELS[s]}, µs/req`), ...(floor && results.subjects.ours ? ['A − D'] : [])];
  return [
    '# Where the JavaScript thread spends a small GET',
    '',
    'Generated by `node bench/profile.js`; do not edit by hand.',
    '',
    `- ${results.date}, ${results.machine}; addon ${results.addon}; commit ${results.commit}`,
    `- Each subject in its own Backstage backend (as in \`bench/run.js\`), ${results.requests.toLocaleString('en-US')} small GETs at ${CONNECTIONS} connections to warm up,`,
    `  then V8's CPU profiler (100 µs sampling) over ${results.requests.toLocaleString('en-US')} more; self time per request, idle excluded.`,
    '- Native code called from JavaScript counts for its JavaScript caller: the addon\'s napi calls are in',
    '  "ours: plugin code", Node\'s socket writes in "Node". The profiler slows the thread down, and each',
    '  subject runs once, one after the other, on a shared machine: totals move by 10-20% from run to run,',
    '  the shares within a subject much less. `bench/RESULTS.md` has the unprofiled CPU times and the',
    '  instruction counts, which are the figures to compare subjects by.',
    '',
    `| ${header.join(' | ')} |`,
    `|---|${header.slice(1).map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const addon = chooseAddon();
  const upstream = await startNodeProcess(path.join(BENCH, 'lib/fast-upstream-process.js'));
  const results = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}`,
    addon: `${addon.profile} (${addon.file})`,
    commit: require('node:child_process').execFileSync('git', ['-C', path.join(BENCH, '..'), 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
    requests: options.requests,
    subjects: {},
  };
  try {
    for (const subject of options.subjects) {
      results.subjects[subject] = await profileSubject(subject, upstream, addon, options.requests);
      process.stderr.write(`[profile] ${subject}: ${JSON.stringify(results.subjects[subject])}\n`);
    }
  } finally {
    await stopProcess(upstream.child);
  }
  fs.writeFileSync(path.join(BENCH, 'profile.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(BENCH, 'PROFILE.md'), markdown(results));
  process.stdout.write(markdown(results));
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
