/** How long the EKS API server accepts a token: 15 minutes from signing; callers renew a minute early, as `aws eks get-token` says. */
const TOKEN_LIFETIME_MS = 14 * 60 * 1000;
/** The presigned URL's own X-Amz-Expires, as aws-cli and aws-iam-authenticator sign it. */
export const EKS_PRESIGN_SECONDS = 60;
/** The header that binds the token to one cluster. */
export const CLUSTER_HEADER = 'x-k8s-aws-id';

/** STS GetCallerIdentity in `region` (China's partition has its own DNS suffix). */
export function getCallerIdentityUrl(region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sts.${region}.${suffix}/?Action=GetCallerIdentity&Version=2011-06-15`;
}

/** The bearer token for a presigned GetCallerIdentity URL signed at `signedAt`. */
export function eksTokenOf(presignedUrl: string, signedAt: Date): { token: string; expiresAt: Date } {
  return {
    token: `k8s-aws-v1.${Buffer.from(presignedUrl).toString('base64url')}`,
    expiresAt: new Date(signedAt.getTime() + TOKEN_LIFETIME_MS),
  };
}
