// NODE_EXTRA_CA_CERTS and AWS_CA_BUNDLE: the addon reads them once per process, on the first
// proxy it builds, so this file (node --test runs each file in its own process) sets them before
// any backend starts. Each names a different private CA; routes without caFile reach an HTTPS
// upstream of either CA, and an AssumeRole route gets its credentials from an HTTPS STS whose
// certificate only the AWS_CA_BUNDLE CA vouches for (the AWS SDK's client trusts them too).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, makeTestCa, routeTo, startProxyBackend, startUpstream } from './testing/harness';
import type { TestCa, TestProxyBackend, VerifyingUpstream } from './testing/harness';

const OPEN = { credentials: 'dangerously-allow-unauthenticated' };
const ROLE_ARN = 'arn:aws:iam::123456789012:role/backstage-behind-tls-proxy';
const SESSION_TOKEN = 'session-token-from-the-https-sts';

/** An STS answering every AssumeRole with the test keys and SESSION_TOKEN, over HTTPS. */
async function startHttpsSts(tls: { key: Buffer; cert: Buffer }) {
  let calls = 0;
  const server = https.createServer(tls, (req, res) => {
    req.resume();
    req.once('end', () => {
      calls++;
      const expiration = new Date(Date.now() + 3_600_000).toISOString();
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<AssumeRoleResponse><AssumeRoleResult><Credentials>' +
          `<AccessKeyId>${ACCESS_KEY_ID}</AccessKeyId><SecretAccessKey>${SECRET_ACCESS_KEY}</SecretAccessKey>` +
          `<SessionToken>${SESSION_TOKEN}</SessionToken><Expiration>${expiration}</Expiration>` +
          '</Credentials><AssumedRoleUser><AssumedRoleId>AROATEST:s</AssumedRoleId>' +
          '<Arn>arn:aws:sts::123456789012:assumed-role/backstage-behind-tls-proxy/s</Arn></AssumedRoleUser>' +
          '</AssumeRoleResult><ResponseMetadata><RequestId>0f7e3c1a-test</RequestId></ResponseMetadata></AssumeRoleResponse>',
      );
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

describe('CA bundles named by NODE_EXTRA_CA_CERTS and AWS_CA_BUNDLE', { timeout: 60_000 }, () => {
  let awsCa: TestCa;
  let nodeCa: TestCa;
  let awsUpstream: VerifyingUpstream;
  let nodeUpstream: VerifyingUpstream;
  let sts: Awaited<ReturnType<typeof startHttpsSts>>;
  let backend: TestProxyBackend;

  before(async () => {
    awsCa = makeTestCa('AWS_CA_BUNDLE test CA');
    nodeCa = makeTestCa('NODE_EXTRA_CA_CERTS test CA');
    process.env.AWS_CA_BUNDLE = awsCa.caFile;
    process.env.NODE_EXTRA_CA_CERTS = nodeCa.caFile;
    awsUpstream = await startUpstream({ tls: awsCa.issue('IP:127.0.0.1') });
    nodeUpstream = await startUpstream({ tls: nodeCa.issue('IP:127.0.0.1') });
    sts = await startHttpsSts(awsCa.issue('IP:127.0.0.1'));
    // Read when the addon first loads the AWS SDK config, on the AssumeRole below.
    process.env.AWS_ENDPOINT_URL_STS = sts.url;
    backend = await startProxyBackend({
      proxysigv4: {
        '/aws-ca': { ...routeTo(awsUpstream), ...OPEN },
        '/node-ca': { ...routeTo(nodeUpstream), ...OPEN },
        '/role': { ...routeTo(awsUpstream), ...OPEN, roleArn: ROLE_ARN },
      },
    });
  });
  after(async () => {
    await backend?.stop();
    await awsUpstream?.close();
    await nodeUpstream?.close();
    await sts?.close();
    awsCa?.cleanup();
    nodeCa?.cleanup();
  });

  for (const [variable, route, upstream] of [
    ['AWS_CA_BUNDLE', '/aws-ca', () => awsUpstream],
    ['NODE_EXTRA_CA_CERTS', '/node-ca', () => nodeUpstream],
  ] as const) {
    it(`serves a route without caFile when ${variable} names the upstream's CA`, async () => {
      upstream().reset();
      const res = await fetch(`${backend.baseUrl}${route}/items`);
      assert.equal(res.status, 200, await res.clone().text());
      const [record] = upstream().requests;
      assert.equal(record?.url, '/base/items');
      assert.equal(record.signature.valid, true, record.signature.reason);
    });
  }

  it('gets AssumeRole credentials from an HTTPS STS trusted through AWS_CA_BUNDLE', async () => {
    awsUpstream.reset();
    const res = await fetch(`${backend.baseUrl}/role/items`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(sts.calls(), 1);
    const [record] = awsUpstream.requests;
    assert.equal(record?.signature.valid, true, record?.signature.reason);
    assert.equal(record.headers['x-amz-security-token'], SESSION_TOKEN, 'signed with the credentials STS issued');
  });
});
