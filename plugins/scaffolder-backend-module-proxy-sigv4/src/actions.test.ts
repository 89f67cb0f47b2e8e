// The actions in a real scaffolder backend, run by a template as a user starts it, against moto
// with signature checks on; what moto then holds is read with boto3, not with our signer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '@backstage/types';
import { createMotoRole, motoSkip, motoState, startMotoAsDefaultChain, startScaffolderBackend } from './testing/harness';
import type { EnforcingMoto, ScaffolderBackend, TaskEvent } from './testing/harness';

const BUCKET = 'acme-dev-tfstate';
const TABLE = `${BUCKET}-locks`;
const ROLE_NAME = 'backstage-bootstrap';

/** The template an account bootstrap would be: state bucket and table, then two signed requests. */
function bootstrapTemplate(s3Endpoint: string): JsonObject {
  return {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: { name: 'aws-bootstrap', namespace: 'default' },
    spec: {
      type: 'service',
      parameters: [{ properties: { roleArn: { type: 'string' } } }],
      steps: [
        {
          id: 'state',
          name: 'Terraform state',
          action: 'aws:bootstrap:terraform-state',
          input: { bucketName: BUCKET, region: 'us-east-1', roleArn: '${{ parameters.roleArn }}', tags: { team: 'platform' } },
        },
        {
          id: 'describe',
          name: 'The lock table, through a route',
          action: 'aws:sigv4:request',
          input: {
            route: '/dynamodb',
            method: 'POST',
            headers: { 'x-amz-target': 'DynamoDB_20120810.DescribeTable', 'content-type': 'application/x-amz-json-1.0' },
            body: { TableName: '${{ steps.state.output.tableName }}' },
          },
        },
        {
          id: 'versioning',
          name: "The bucket's versioning, as the role",
          action: 'aws:sigv4:request',
          input: { url: `${s3Endpoint}/${BUCKET}?versioning`, service: 's3', region: 'us-east-1', roleArn: '${{ parameters.roleArn }}' },
        },
      ],
      output: {
        bucketArn: '${{ steps.state.output.bucketArn }}',
        tableArn: '${{ steps.state.output.tableArn }}',
        bucketCreated: '${{ steps.state.output.bucketCreated }}',
        tableCreated: '${{ steps.state.output.tableCreated }}',
        changes: '${{ steps.state.output.changes }}',
        backendConfig: '${{ steps.state.output.backendConfig }}',
        tableStatus: '${{ steps.describe.output.body.Table.TableStatus }}',
        versioning: '${{ steps.versioning.output.body }}',
      },
    },
  };
}

function completion(events: TaskEvent[]): JsonObject {
  const done = events.find((event) => event.type === 'completion');
  assert.ok(done, 'the task has a completion event');
  return done.body.output ?? {};
}

function logText(events: TaskEvent[]): string {
  return events.map((event) => event.body.message ?? '').join('\n');
}

describe('scaffolder actions in a real scaffolder backend, against moto', { timeout: 180_000, skip: motoSkip }, () => {
  let moto: EnforcingMoto;
  let roleArn: string;
  let scaffolder: ScaffolderBackend;

  before(async () => {
    moto = await startMotoAsDefaultChain();
    roleArn = createMotoRole(moto, ROLE_NAME);
    // Where the AWS SDKs would send S3 and DynamoDB calls: moto, as for LocalStack.
    process.env.AWS_ENDPOINT_URL_S3 = moto.url;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = moto.url;
    scaffolder = await startScaffolderBackend(
      {
        proxysigv4: {
          '/dynamodb': { target: moto.url, service: 'dynamodb', region: 'us-east-1' },
          signer: { allowedRoles: [roleArn] },
        },
      },
      [bootstrapTemplate(moto.url)],
    );
  });
  after(async () => {
    await scaffolder?.stop();
    await moto?.stop();
  });

  it("lists both actions among the scaffolder's", async () => {
    const ids = await scaffolder.actionIds();
    assert.ok(ids.includes('aws:sigv4:request'), ids.join(', '));
    assert.ok(ids.includes('aws:bootstrap:terraform-state'), ids.join(', '));
  });

  it('bootstraps the state bucket and lock table; a second run changes nothing; no credential in the log', async () => {
    assert.deepEqual(motoState(moto, BUCKET, TABLE), { bucket: null, table: null });

    const first = await scaffolder.runTemplate('aws-bootstrap', { roleArn });
    assert.equal(first.status, 'completed', logText(first.events));
    const output = completion(first.events);
    assert.equal(output.bucketArn, `arn:aws:s3:::${BUCKET}`);
    assert.match(String(output.tableArn), new RegExp(`:table/${TABLE}$`));
    assert.deepEqual([output.bucketCreated, output.tableCreated], [true, true]);
    assert.deepEqual(output.changes, ['bucket created', 'tags set', 'versioning enabled', 'default encryption set', 'public access blocked', 'table created']);
    assert.deepEqual(output.backendConfig, { bucket: BUCKET, dynamodb_table: TABLE, region: 'us-east-1', encrypt: true });
    assert.equal(output.tableStatus, 'ACTIVE');
    assert.match(String(output.versioning), /<Status>Enabled<\/Status>/);

    const state = motoState(moto, BUCKET, TABLE);
    assert.deepEqual(state.bucket, {
      versioning: 'Enabled',
      encryption: ['AES256'],
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      tags: { team: 'platform' },
    });
    const table = state.table as JsonObject;
    assert.deepEqual(table.keySchema, [{ AttributeName: 'LockID', KeyType: 'HASH' }]);
    assert.deepEqual(table.attributes, [{ AttributeName: 'LockID', AttributeType: 'S' }]);
    assert.equal(table.billing, 'PAY_PER_REQUEST');

    const second = await scaffolder.runTemplate('aws-bootstrap', { roleArn });
    assert.equal(second.status, 'completed', logText(second.events));
    const again = completion(second.events);
    assert.deepEqual([again.bucketCreated, again.tableCreated, again.changes], [false, false, []]);
    assert.deepEqual(motoState(moto, BUCKET, TABLE), state, 'the second run changed nothing');

    const log = logText([...first.events, ...second.events]);
    assert.match(log, /bucket acme-dev-tfstate: bucket created/);
    for (const secret of [moto.accessKeyId, moto.secretAccessKey, 'AWS4-HMAC-SHA256', 'Signature=', 'X-Amz-Security-Token', 'x-amz-security-token']) {
      assert.ok(!log.includes(secret), `the task log holds ${secret}`);
    }
    assert.doesNotMatch(log, /FQoGZXIvYXdz|ASIA[A-Z0-9]{12}/, 'no session token or temporary key in the task log');
    assert.doesNotMatch(JSON.stringify(output), /FQoGZXIvYXdz|ASIA[A-Z0-9]{12}|AWS4-HMAC-SHA256/, 'no credential in the output');
  });

  it('fails the step for a role config does not allow, naming neither the role nor its account', async () => {
    const run = await scaffolder.runTemplate('aws-bootstrap', { roleArn: 'arn:aws:iam::210987654321:role/admin' });
    assert.equal(run.status, 'failed');
    const log = logText(run.events);
    assert.match(log, /roleArn is not in proxysigv4\.signer\.allowedRoles/);
    assert.doesNotMatch(log, /210987654321/);
  });
});
