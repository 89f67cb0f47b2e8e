'use strict';
// A moto server that checks signatures: an IAM user and access key are made with the four
// unauthenticated calls moto allows, after which any request not signed by that key (or signed
// wrongly) is refused with 403.

const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startMoto, REPO_ROOT } = require('./moto');

const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');

/** @returns {Promise<{ url: string, accessKeyId: string, secretAccessKey: string, stop(): Promise<void> }>} */
async function startEnforcingMoto() {
  const moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '4' } });
  try {
    const output = execFileSync(PYTHON, [path.join(__dirname, 'moto-iam.py'), moto.url], { encoding: 'utf8', timeout: 60_000 });
    return { url: moto.url, ...JSON.parse(output), stop: () => moto.stop() };
  } catch (error) {
    await moto.stop();
    throw error;
  }
}

module.exports = { startEnforcingMoto };
