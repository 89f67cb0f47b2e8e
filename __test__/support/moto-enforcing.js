'use strict';
// A moto server that checks signatures: an IAM user and access key are made with the four
// unauthenticated calls moto allows, after which any request not signed by that key (or signed
// wrongly) is refused with 403.

const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startMoto, REPO_ROOT } = require('./moto');
const { useStaticCredentials } = require('./aws-env');

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

/**
 * Starts moto with signature checks and makes its key the default credential chain's, with its
 * STS as the one AssumeRole calls. Call before anything signs: the addon reads the chain once.
 */
async function startMotoAsDefaultChain() {
  const moto = await startEnforcingMoto();
  useStaticCredentials(moto);
  process.env.AWS_ENDPOINT_URL_STS = moto.url;
  return moto;
}

/** Creates role `name` in `moto`, allowed everything, and returns its ARN. */
function createMotoRole(moto, name) {
  const args = [path.join(__dirname, 'moto-role.py'), moto.url, moto.accessKeyId, moto.secretAccessKey, name];
  return execFileSync(PYTHON, args, { encoding: 'utf8', timeout: 60_000 }).trim();
}

module.exports = { startEnforcingMoto, startMotoAsDefaultChain, createMotoRole };
