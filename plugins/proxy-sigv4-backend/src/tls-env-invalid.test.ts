// An AWS_CA_BUNDLE that cannot be used stops the backend at startup with an error that names
// the variable and the path, and never quotes the file. The variable is read once per process,
// so this file (its own process under node --test) sets it before any backend starts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProxyBackend } from './testing/harness';

describe('an AWS_CA_BUNDLE that cannot be used', { timeout: 60_000 }, () => {
  let dir: string;
  let bundle: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-sigv4-bad-bundle-'));
    bundle = path.join(dir, 'bundle.pem');
    fs.writeFileSync(bundle, 'not-a-certificate-but-a-s3cr3t\n');
    process.env.AWS_CA_BUNDLE = bundle;
    delete process.env.NODE_EXTRA_CA_CERTS;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fails startup naming the variable and the path', async () => {
    await assert.rejects(
      startProxyBackend({
        proxysigv4: { '/r': { target: 'https://127.0.0.1:9/base', service: 'execute-api', region: 'us-east-1' } },
      }),
      (error: Error) => {
        assert.match(error.message, /Plugin 'proxy-sigv4' startup failed/);
        assert.ok(
          error.message.includes(`environment variable AWS_CA_BUNDLE: '${bundle}' holds no PEM certificates`),
          error.message,
        );
        assert.doesNotMatch(error.message, /s3cr3t/);
        return true;
      },
    );
  });
});
