import crypto from 'node:crypto';
import type { AwsSigV4Service } from 'backstage-plugin-proxy-sigv4-node';
import { bucketUrl, partitionOf } from './endpoints';
import { AwsCallError, awsErrorCode, signedCall } from './signed-call';
import type { CallResult, Signing } from './signed-call';

const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface StateBucketRequest {
  bucket: string;
  region: string;
  roleArn?: string;
  /** Tags set when the bucket is created; an existing bucket's tags are left as they are. */
  tags?: Record<string, string>;
}

export interface StateBucket {
  arn: string;
  created: boolean;
  /** What was changed, e.g. `versioning enabled`; empty when the bucket was already as wanted. */
  changes: string[];
}

/**
 * An S3 bucket fit for Terraform state, made idempotently: created when missing, then versioning
 * on, default encryption (SSE-S3) and every public access block set, each written only when it
 * is not so already. A bucket that exists but is not this identity's is an error, never reused.
 */
export async function ensureStateBucket(aws: AwsSigV4Service, request: StateBucketRequest, signal?: AbortSignal): Promise<StateBucket> {
  const signing: Signing = { service: 's3', region: request.region, roleArn: request.roleArn };
  const base = bucketUrl(request.bucket, request.region);
  const call = (method: string, subresource: string, body?: string) =>
    signedCall(aws, { method, url: `${base}${subresource}`, body, headers: body ? md5Header(body) : undefined }, signing, signal);
  const changes: string[] = [];

  const head = await call('HEAD', '');
  const created = head.status === 404;
  if (created) {
    const put = await call('PUT', '', createBucketBody(request.region));
    if (put.status !== 200) throw new AwsCallError(`CreateBucket ${request.bucket}`, put);
    changes.push('bucket created');
    if (request.tags && Object.keys(request.tags).length > 0) {
      await expectOk(`PutBucketTagging ${request.bucket}`, call('PUT', '?tagging', taggingBody(request.tags)));
      changes.push('tags set');
    }
  } else if (head.status === 301) {
    throw new Error(`bucket ${request.bucket} exists in another region than ${request.region}`);
  } else if (head.status !== 200) {
    throw new Error(`bucket ${request.bucket} exists but this identity cannot use it (HTTP ${head.status})`);
  }

  const versioning = await expectOk(`GetBucketVersioning ${request.bucket}`, call('GET', '?versioning'));
  if (!/<Status>Enabled<\/Status>/.test(versioning.text)) {
    await expectOk(`PutBucketVersioning ${request.bucket}`, call('PUT', '?versioning', xml('VersioningConfiguration', '<Status>Enabled</Status>')));
    changes.push('versioning enabled');
  }

  const encryption = await call('GET', '?encryption');
  if (encryption.status === 404 || awsErrorCode(encryption) === 'ServerSideEncryptionConfigurationNotFoundError') {
    const rule = '<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>';
    await expectOk(`PutBucketEncryption ${request.bucket}`, call('PUT', '?encryption', xml('ServerSideEncryptionConfiguration', rule)));
    changes.push('default encryption set');
  } else if (encryption.status !== 200) {
    throw new AwsCallError(`GetBucketEncryption ${request.bucket}`, encryption);
  }

  const publicAccess = await call('GET', '?publicAccessBlock');
  if (publicAccess.status === 404 || /<(\w+)>false<\/\1>/.test(publicAccess.text)) {
    const blocks = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'].map((name) => `<${name}>true</${name}>`);
    await expectOk(`PutPublicAccessBlock ${request.bucket}`, call('PUT', '?publicAccessBlock', xml('PublicAccessBlockConfiguration', blocks.join(''))));
    changes.push('public access blocked');
  } else if (publicAccess.status !== 200) {
    throw new AwsCallError(`GetPublicAccessBlock ${request.bucket}`, publicAccess);
  }

  return { arn: `arn:${partitionOf(request.region)}:s3:::${request.bucket}`, created, changes };
}

async function expectOk(operation: string, pending: Promise<CallResult>): Promise<CallResult> {
  const result = await pending;
  if (result.status < 200 || result.status > 299) throw new AwsCallError(operation, result);
  return result;
}

/** us-east-1 takes no LocationConstraint; every other region needs its own. */
function createBucketBody(region: string): string | undefined {
  if (region === 'us-east-1') return undefined;
  return xml('CreateBucketConfiguration', `<LocationConstraint>${region}</LocationConstraint>`);
}

function taggingBody(tags: Record<string, string>): string {
  const tagSet = Object.entries(tags).map(([key, value]) => `<Tag><Key>${escapeXml(key)}</Key><Value>${escapeXml(value)}</Value></Tag>`);
  return xml('Tagging', `<TagSet>${tagSet.join('')}</TagSet>`);
}

function xml(root: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="${S3_XMLNS}">${inner}</${root}>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** S3 requires Content-MD5 on its configuration PUTs (encryption, public access block, tagging). */
function md5Header(body: string): Record<string, string> {
  return { 'content-md5': crypto.createHash('md5').update(body).digest('base64') };
}
