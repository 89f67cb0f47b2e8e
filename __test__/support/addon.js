'use strict';
// Loads the built addon and drives it the way the Backstage plugin does, so tests read as
// "send this, the upstream saw that".

const path = require('node:path');

const addon = require(path.join(__dirname, '..', '..'));

/** Demo credentials that only the verifying upstream knows. */
const DEMO_CREDENTIALS = {
  accessKeyId: 'AKIDPROXYSIGV4TEST',
  secretAccessKey: 'proxy-sigv4-test-secret-0123456789abcdef',
};

/** Points the default credential chain at static credentials and nothing else (no IMDS wait). */
function useEnvironmentCredentials({ sessionToken } = {}) {
  process.env.AWS_ACCESS_KEY_ID = DEMO_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = DEMO_CREDENTIALS.secretAccessKey;
  if (sessionToken) process.env.AWS_SESSION_TOKEN = sessionToken;
  else delete process.env.AWS_SESSION_TOKEN;
  isolateFromMachine();
}

/** Keeps the chain away from this machine's own AWS files and metadata service. */
function isolateFromMachine() {
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_WEB_IDENTITY_TOKEN_FILE;
  delete process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  delete process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
}

/** Sends one request through `proxy` and reads the whole answer. */
async function exchange(proxy, { method = 'GET', url, headers = {}, body } = {}) {
  const rawHeaders = Object.entries(headers).flat();
  const response = await proxy.handle({ method, url, headers: rawHeaders, body });
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
