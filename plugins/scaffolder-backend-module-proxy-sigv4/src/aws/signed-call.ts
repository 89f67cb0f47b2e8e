import type { AwsSigV4Service, SignOptions } from 'backstage-plugin-proxy-sigv4-node';

/** How to sign: for which service and region, as the default chain or an allowed role. */
export type Signing = Pick<SignOptions, 'service' | 'region' | 'roleArn'>;

export interface SignedCall {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
}

/** One request signed by the service and sent; the answer read whole (AWS control-plane answers are small). */
export async function signedCall(aws: AwsSigV4Service, call: SignedCall, signing: Signing, signal?: AbortSignal): Promise<CallResult> {
  const signed = await aws.sign({ method: call.method, url: call.url, headers: call.headers, body: call.body }, signing);
  // fetch sets host from the URL; the signed one is the same.
  const { host: _host, ...headers } = signed;
  const response = await fetch(call.url, { method: call.method, headers, body: call.body, signal });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/**
 * AWS's error code in an answer: S3's XML `<Code>`, or the JSON protocols' `__type`
 * (`com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` -> `ResourceNotFoundException`).
 */
export function awsErrorCode(result: CallResult): string | undefined {
  const xml = /<Code>([^<]+)<\/Code>/.exec(result.text);
  if (xml) return xml[1];
  try {
    const type = (JSON.parse(result.text) as { __type?: unknown }).__type;
    return typeof type === 'string' ? type.split('#').pop() : undefined;
  } catch {
    return undefined;
  }
}

/** An error for an answer AWS refused: the operation, status and AWS's error code, never the request. */
export class AwsCallError extends Error {
  constructor(operation: string, result: CallResult) {
    super(`${operation} failed: HTTP ${result.status}${codeSuffix(result)}`);
    this.name = 'AwsCallError';
  }
}

function codeSuffix(result: CallResult): string {
  const code = awsErrorCode(result);
  return code ? ` ${code}` : '';
}
