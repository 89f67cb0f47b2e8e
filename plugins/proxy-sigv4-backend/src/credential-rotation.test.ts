// Keys rotated on disk are picked up without a restart: the shared credentials file is
// rewritten while the backend runs, and the new key signs within `credentialRereadInterval`,
// for a route with a `profile` and for the default chain (AWS_PROFILE). A file that turns
// unreadable keeps the last good key in use.
//
// A file of its own on purpose: the addon reads the default credential chain once per process,
// and here the chain must read the test's credentials file, not the harness's environment keys.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bearer, REPO_ROOT, routeTo, startProxyBackend, USER_TOKEN } from './testing/harness';
import type { TestProxyBackend, VerifyingUpstream } from './testing/harness';

const OLD = { id: 'AKIDROTATIONOLDKEY01', secret: 'rotation-old-secret-0123456789' };
const NEW = { id: 'AKIDROTATIONNEWKEY02', secret: 'rotation-new-secret-9876543210' };
const INTERVAL_MS = 1_000;

function credentialsFile(key: { id: string; secret: string }): string {
  return `[rotating]\naws_access_key_id = ${key.id}\naws_secret_access_key = ${key.secret}\n`;
}

describe('keys without an expiry are read again while the backend runs', { timeout: 60_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-sigv4-rotation-'));
  const file = path.join(dir, 'credentials');
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    fs.writeFileSync(file, credentialsFile(OLD));
    // Before the first proxied request, when the addon reads the chain: no environment keys,
    // so the default chain goes to the profile in the file.
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SHARED_CREDENTIALS_FILE = file;
    process.env.AWS_PROFILE = 'rotating';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startVerifyingUpstream } = require(path.join(REPO_ROOT, '__test__', 'support', 'verifying-upstream.js'));
    upstream = await startVerifyingUpstream({
      keys: new Map([
        [OLD.id, OLD.secret],
        [NEW.id, NEW.secret],
      ]),
      strict: true,
    });
    backend = await startProxyBackend({
      proxysigv4: {
        credentialRereadInterval: `${INTERVAL_MS}ms`,
        '/by-profile': { ...routeTo(upstream), profile: 'rotating' },
        '/default-chain': routeTo(upstream),
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The key that signed one request through `route`, which the upstream accepted. */
  async function signingKey(route: string): Promise<string | undefined> {
    upstream.reset();
    const res = await fetch(`${backend.baseUrl}${route}/x`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 200, await res.text());
    const [seen] = upstream.requests;
    assert.equal(seen.signature.valid, true, seen.signature.reason);
    return seen.signature.accessKeyId;
  }

  /** Polls `route` until it signs with `key`, for at most `withinMs`; every request must pass. */
  async function waitForKey(route: string, key: string, withinMs: number): Promise<number> {
    const started = Date.now();
    for (let attempt = 0; attempt < 100 && Date.now() - started < withinMs; attempt++) {
      if ((await signingKey(route)) === key) return Date.now() - started;
      await sleep(100);
    }
    assert.fail(`${route} did not sign with ${key} within ${withinMs} ms`);
  }

  for (const route of ['/by-profile', '/default-chain']) {
    it(`${route}: a key rewritten in the credentials file signs within the interval`, async () => {
      fs.writeFileSync(file, credentialsFile(OLD));
      await waitForKey(route, OLD.id, 3 * INTERVAL_MS);
      fs.writeFileSync(file, credentialsFile(NEW));
      // The re-read is due one interval after the last fetch and runs behind a request.
      await waitForKey(route, NEW.id, 2 * INTERVAL_MS + 1_000);
    });
  }

  it('a credentials file that turns unreadable keeps the last good key in use', async () => {
    fs.writeFileSync(file, credentialsFile(NEW));
    await waitForKey('/by-profile', NEW.id, 3 * INTERVAL_MS);
    fs.writeFileSync(file, '[rotating]\nthis is not a credentials file\n');
    const until = Date.now() + 3 * INTERVAL_MS;
    while (Date.now() < until) {
      assert.equal(await signingKey('/by-profile'), NEW.id);
      await sleep(200);
    }
  });
});
