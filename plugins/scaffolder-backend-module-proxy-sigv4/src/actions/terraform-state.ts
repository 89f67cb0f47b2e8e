import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import type { AwsSigV4Service } from 'backstage-plugin-proxy-sigv4-node';
import { ensureLockTable } from '../aws/lock-table';
import { ensureStateBucket } from '../aws/state-bucket';

/** S3's bucket naming rules (general purpose buckets), checked before any call. */
const BUCKET_NAME = '^(?!xn--)(?!sthree-)(?!.*-s3alias$)(?!.*--ol-s3$)(?!.*\\.\\.)(?!\\d+\\.\\d+\\.\\d+\\.\\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$';
const TABLE_NAME = '^[a-zA-Z0-9_.-]{3,255}$';

/**
 * `aws:bootstrap:terraform-state`: the S3 bucket and DynamoDB lock table of a Terraform S3
 * backend, in the account of the default chain or of an allowed role, made idempotently: a
 * second run finds both as wanted and changes nothing. Outputs what a `backend "s3"` block needs.
 */
export function createTerraformStateAction(aws: AwsSigV4Service) {
  return createTemplateAction({
    id: 'aws:bootstrap:terraform-state',
    description:
      'Creates, if missing, the S3 bucket (versioned, encrypted, not public) and DynamoDB lock table of a Terraform S3 backend',
    examples: [
      {
        description: "Bootstrap a new account's Terraform state through its deploy role",
        example: [
          'steps:',
          '  - id: state',
          '    action: aws:bootstrap:terraform-state',
          '    input:',
          '      bucketName: acme-${{ parameters.account }}-tfstate',
          '      region: eu-west-1',
          '      roleArn: arn:aws:iam::${{ parameters.account }}:role/backstage-bootstrap',
        ].join('\n'),
      },
    ],
    schema: {
      input: (z) =>
        z.object({
          bucketName: z.string().regex(new RegExp(BUCKET_NAME)).describe('The state bucket, by S3 naming rules'),
          tableName: z.string().regex(new RegExp(TABLE_NAME)).optional().describe('The lock table; default <bucketName>-locks'),
          region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/).describe('The region of both, e.g. eu-west-1'),
          roleArn: z.string().optional().describe('Act as this role (it must be in proxysigv4.signer.allowedRoles)'),
          tags: z.record(z.string()).optional().describe('Tags for a bucket and table this creates'),
        }),
      output: (z) =>
        z.object({
          bucketName: z.string(),
          bucketArn: z.string(),
          tableName: z.string(),
          tableArn: z.string(),
          region: z.string(),
          bucketCreated: z.boolean(),
          tableCreated: z.boolean(),
          changes: z.array(z.string()).describe('What this run changed; empty when everything was as wanted'),
          backendConfig: z.record(z.any()).describe('The settings of a Terraform backend "s3" block'),
        }),
    },
    async handler(ctx) {
      const { bucketName, region, roleArn, tags } = ctx.input;
      const tableName = ctx.input.tableName ?? `${bucketName}-locks`;
      const bucket = await ensureStateBucket(aws, { bucket: bucketName, region, roleArn, tags }, ctx.signal);
      ctx.logger.info(`bucket ${bucketName}: ${bucket.changes.length ? bucket.changes.join(', ') : 'already as wanted'}`);
      const table = await ensureLockTable(aws, { table: tableName, region, roleArn, tags }, ctx.signal);
      ctx.logger.info(`table ${tableName}: ${table.created ? 'created' : 'already as wanted'}`);

      ctx.output('bucketName', bucketName);
      ctx.output('bucketArn', bucket.arn);
      ctx.output('tableName', tableName);
      ctx.output('tableArn', table.arn);
      ctx.output('region', region);
      ctx.output('bucketCreated', bucket.created);
      ctx.output('tableCreated', table.created);
      ctx.output('changes', [...bucket.changes, ...(table.created ? ['table created'] : [])]);
      ctx.output('backendConfig', { bucket: bucketName, dynamodb_table: tableName, region, encrypt: true });
    },
  });
}
