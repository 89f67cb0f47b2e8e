/** The services the bootstrap action calls, by the names SigV4 signs them for. */
export type BootstrapService = 's3' | 'dynamodb';

/** The variables the AWS SDKs read for a service's endpoint (`AWS_ENDPOINT_URL_<SERVICE ID>`). */
const ENDPOINT_VARIABLES: Record<BootstrapService, string> = {
  s3: 'AWS_ENDPOINT_URL_S3',
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
};

/** The DNS suffix of AWS's partition for `region` (China's has its own). */
function dnsSuffix(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/**
 * The endpoint override the AWS SDKs would use for `service` (for LocalStack, moto, a VPC
 * endpoint), without a trailing slash, or undefined for AWS's own regional endpoint.
 */
function endpointOverride(service: BootstrapService, env: NodeJS.ProcessEnv): string | undefined {
  const value = env[ENDPOINT_VARIABLES[service]] || env.AWS_ENDPOINT_URL;
  return value ? value.replace(/\/+$/, '') : undefined;
}

/**
 * The URL of bucket `bucket` in `region`, to which a subresource query (`?versioning`) is
 * appended: virtual-hosted on AWS (path style for a name with a dot, which a virtual host's
 * certificate does not cover), path style on an override.
 */
export function bucketUrl(bucket: string, region: string, env: NodeJS.ProcessEnv = process.env): string {
  const override = endpointOverride('s3', env);
  if (override) return `${override}/${bucket}`;
  const host = `s3.${region}.${dnsSuffix(region)}`;
  return bucket.includes('.') ? `https://${host}/${bucket}` : `https://${bucket}.${host}/`;
}

/** DynamoDB's endpoint in `region`. */
export function dynamoDbUrl(region: string, env: NodeJS.ProcessEnv = process.env): string {
  return endpointOverride('dynamodb', env) ?? `https://dynamodb.${region}.${dnsSuffix(region)}`;
}

/** The ARN partition of `region`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}
