// A config reload releases what only the removed routes used: an AssumeRole route's credential
// cache and a connection pool of its own (another connect timeout) are gone once the old route
// table is collected, while the routes that stay keep theirs and go on serving.
//
// A file of its own on purpose: it counts the process's live caches and pools.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { liveResources } from 'proxy-sigv4-native';
import type { LiveResources } from 'proxy-sigv4-native';
import { bearer, routeTo, startProxyBackend, startUpstream, USER_TOKEN } from './testing/harness';
import type { ReloadableProxyBackend, VerifyingUpstream } from './testing/harness';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Collects garbage until `done` holds for the live resources, for at most 40 rounds. */
async function collectUntil(done: (live: LiveResources) => boolean): Promise<LiveResources> {
  for (let round = 0; round < 40; round++) {
    gc();
    await sleep(50);
    if (done(liveResources())) break;
  }
  return liveResources();
}

describe('a reload drops the credential caches and pools no route uses any more', { timeout: 60_000 }, () => {
  let upstream: VerifyingUpstream;
  let backend: ReloadableProxyBackend;

  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
  });

  it("releases the removed routes' own cache and pool, and keeps the rest serving", async () => {
    const before = liveResources();
    const stays = routeTo(upstream, '/stays');
    backend = await startProxyBackend({
      proxysigv4: {
        '/stays': stays,
        '/role': { ...routeTo(upstream, '/role'), roleArn: 'arn:aws:iam::123456789012:role/removed' },
        '/slow': { ...routeTo(upstream, '/slow'), connectTimeout: '3s' },
      },
    });
    const started = liveResources();
    assert.deepEqual(started, {
      credentialCaches: before.credentialCaches + 2, // the default chain and the role
      connectionPools: before.connectionPools + 2, // the default connect timeout and 3 s
    });

    backend.updateConfig({ proxysigv4: { '/stays': stays } });
    const after = await collectUntil((live) => live.credentialCaches < started.credentialCaches);
    assert.deepEqual(after, {
      credentialCaches: started.credentialCaches - 1,
      connectionPools: started.connectionPools - 1,
    });

    upstream.reset();
    const res = await fetch(`${backend.baseUrl}/stays/x`, { headers: bearer(USER_TOKEN) });
    assert.equal(res.status, 200, await res.text());
    assert.equal(upstream.requests[0].signature.valid, true, upstream.requests[0].signature.reason);
  });
});
