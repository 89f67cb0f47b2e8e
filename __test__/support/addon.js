'use strict';
// Loads the built addon and drives it the way the Backstage plugin does, so tests read as
// "send this, the upstream saw that".

const path = require('node:path');

const addon = require(path.join(__dirname, '..', '..', 'packages', 'native'));
const { useStaticCredentials, isolateFromMachine } = require('./aws-env');

/** Demo credentials that only the verifying upstream knows. */
const DEMO_CREDENTIALS = {
  accessKeyId: 'AKIDPROXYSIGV4TEST',
  secretAccessKey: 'proxy-sigv4-test-secret-0123456789abcdef',
};

/** Signs with DEMO_CREDENTIALS (and `sessionToken`, if given), nothing from the machine. */
function useEnvironmentCredentials({ sessionToken } = {}) {
  useStaticCredentials({ ...DEMO_CREDENTIALS, sessionToken });
}

/** Sends one request through `proxy` (on the route it chooses for `url`) and reads the whole answer. */
async function exchange(proxy, { method = 'GET', url, headers = {}, body } = {}) {
  const rawHeaders = Object.entries(headers).flat();
  const response = await proxy.handle(proxy.routeIndex(url), { method, url, headers: rawHeaders, body });
  return {
    status: response.status,
    headers: headerObject(response.headers),
    error: response.error,
    body: await readBody(response),
  };
}

/** The whole body: in one piece for a small declared length, else read from the stream. */
async function readBody(response) {
  const complete = response.takeCompleteBody();
  if (complete) return complete;
  const stream = response.takeBody();
  const chunks = [];
  if (stream) for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Flat [name, value, ...] to { name: value } (repeats joined as Node joins them). */
function headerObject(flat) {
  const out = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    out[name] = name in out ? `${out[name]}, ${flat[i + 1]}` : flat[i + 1];
  }
  return out;
}

module.exports = { addon, DEMO_CREDENTIALS, useEnvironmentCredentials, isolateFromMachine, exchange };
