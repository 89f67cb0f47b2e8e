// An STS that accepts connections and never answers: a request on an AssumeRole route answers
// 503 CREDENTIALS_UNAVAILABLE within its route's `timeout` (or `credentialTimeout`) plus 1 s,
// requests behind it do not queue past their own bound, and a later request asks STS again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { USER_TOKEN, bearer, errorBody, routeTo, startProxyBackend, startUpstream, waitFor } from './testing/harness';
import type { TestProxyBackend, VerifyingUpstream } from './testing/harness';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/backstage-silent-sts';

describe('an STS that never answers', { timeout: 60_000 }, () => {
  let sts: net.Server;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  let upstream: VerifyingUpstream;
  let backend: TestProxyBackend;

  before(async () => {
    sts = net.createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.resume(); // read the request, answer nothing
    });
    await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
    // Read when the addon first loads the AWS SDK config, on the first AssumeRole below.
    process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
    upstream = await startUpstream();
    backend = await startProxyBackend({
      proxysigv4: {
        '/role': { ...routeTo(upstream), roleArn: ROLE_ARN, timeout: '2s' },
        '/quick': { ...routeTo(upstream), roleArn: ROLE_ARN, roleSessionName: 'quick', timeout: '20s', credentialTimeout: '1s' },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await upstream?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => sts?.close(resolve));
  });

  /** GETs `route` and returns the status, the error body and how long the answer took. */
  async function timedGet(route: string) {
    const started = Date.now();
    const res = await fetch(`${backend.baseUrl}${route}/item`, { headers: bearer(USER_TOKEN) });
    const body = await errorBody(res);
    return { status: res.status, body, ms: Date.now() - started };
  }

  it("answers 503 within the route's timeout + 1 s, and the next request asks STS again", async () => {
    const first = await timedGet('/role');
    assert.equal(first.status, 503);
    assert.equal(first.body.error.code, 'CREDENTIALS_UNAVAILABLE');
    assert.equal(first.body.error.name, 'ServiceUnavailableError');
    assert.match(first.body.error.message, /did not answer within 2 s/);
    assert.ok(first.ms < 3_000, `answered after ${first.ms} ms`);
    const afterFirst = connections;
    assert.ok(afterFirst >= 1, 'STS was asked');

    // Past the first retry delay (1 s), the next request is a new attempt, bounded the same way.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const second = await timedGet('/role');
    assert.equal(second.status, 503);
    assert.ok(second.ms < 3_000, `answered after ${second.ms} ms`);
    await waitFor('STS saw the retry', () => connections > afterFirst);
  });

  it('concurrent requests each answer within their own bound, not queued behind each other', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // past the retry delay again
    const answers = await Promise.all([timedGet('/role'), timedGet('/role'), timedGet('/role')]);
    for (const answer of answers) {
      assert.equal(answer.status, 503);
      assert.ok(answer.ms < 3_000, `answered after ${answer.ms} ms`);
    }
  });

  it('credentialTimeout bounds the wait on its own, below a longer route timeout', async () => {
    const answer = await timedGet('/quick');
    assert.equal(answer.status, 503);
    assert.match(answer.body.error.message, /did not answer within 1 s/);
    assert.ok(answer.ms < 2_000, `answered after ${answer.ms} ms`);
    assert.equal(upstream.requests.length, 0, 'nothing was sent unsigned');
  });
});
