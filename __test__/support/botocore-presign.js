'use strict';
// botocore's presigner at a fixed time (botocore-presign.py), the oracle for presigned URLs and
// EKS tokens. Needs <repo>/.venv from scripts/setup-python.sh.

const path = require('node:path');
const { spawnSync } = require('node:child_process');

const PYTHON = path.join(__dirname, '..', '..', '.venv', 'bin', 'python');

/**
 * @param {{ kind: 'url' | 'eks', credentials: { accessKeyId: string, secretAccessKey: string,
 *   sessionToken?: string }, time: Date } & Record<string, unknown>} spec
 *   url: method, url, headers, service, region, expires; eks: cluster, region.
 * @returns {string} the presigned URL, or the EKS token
 */
function botocorePresign({ credentials, time, ...spec }) {
  const input = {
    ...spec,
    access_key_id: credentials.accessKeyId,
    secret_access_key: credentials.secretAccessKey,
    session_token: credentials.sessionToken,
    time: time.getTime() / 1000,
  };
  const out = spawnSync(PYTHON, [path.join(__dirname, 'botocore-presign.py')], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    timeout: 30_000,
    env: withoutEndpointOverrides({ ...process.env, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' }),
  });
  if (out.status !== 0) throw new Error(`botocore-presign.py failed: ${out.stderr || out.error}`);
  return out.stdout;
}

/** The environment without AWS_ENDPOINT_URL*: the oracle presigns for AWS's own endpoints. */
function withoutEndpointOverrides(env) {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_ENDPOINT_URL')));
}

module.exports = { botocorePresign };
