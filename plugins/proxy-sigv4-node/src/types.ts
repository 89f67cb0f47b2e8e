/** Whose credentials sign: at most one of `route` and `roleArn`; neither means the default chain. */
export interface CredentialChoice {
  /** A `proxysigv4` route key (e.g. `/service-a`): sign with that route's credentials. */
  route?: string;
  /** An IAM role listed in `proxysigv4.signer.allowedRoles`, assumed from the default chain. */
  roleArn?: string;
  /** The AssumeRole session name; default `backstage-<pluginId>`, so CloudTrail names the plugin. */
  roleSessionName?: string;
}

/** What to sign for; each is inferred from the URL's host when omitted. */
export interface SigningScope {
  service?: string;
  region?: string;
}

/** SigV4A instead of SigV4, for multi-region endpoints such as S3 Multi-Region Access Points. */
export interface MultiRegionSigning {
  /** Sign with SigV4A for this region set: `*`, or regions joined by commas. */
  regionSet?: string;
}

/** A request to sign as it will be sent. */
export interface SignableRequest {
  /** Default `GET`. */
  method?: string;
  /** Absolute and percent-encoded as it will be sent. */
  url: string;
  /** Headers that will be sent; all are signed. */
  headers?: Record<string, string>;
  /** The exact body bytes that will be sent. */
  body?: string | Uint8Array;
}

export interface SignOptions extends CredentialChoice, SigningScope, MultiRegionSigning {}

/** A request someone will make later with the presigned URL; its headers must be sent then. */
export interface PresignableRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
}

export interface PresignOptions extends CredentialChoice, SigningScope {
  /** Seconds the URL is valid: 1 to 604800 (7 days, AWS's limit); temporary credentials end it sooner. */
  expiresIn: number;
  /** The signing time; now when omitted. */
  signingDate?: Date;
}

/** The body of a request through a route: whole bytes, or a stream (for `unsignedPayload` routes). */
export type RouteRequestBody = string | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array>;

export interface RouteRequestInit {
  /** Default `GET`; the route's `methods` apply. */
  method?: string;
  headers?: Record<string, string> | [string, string][] | Headers;
  body?: RouteRequestBody;
  /** Aborting drops the upstream exchange. */
  signal?: AbortSignal;
}

export interface EksTokenOptions extends CredentialChoice {
  /** The region of the STS endpoint that signs the token; default `AWS_REGION`, else `us-east-1`. */
  region?: string;
  signingDate?: Date;
}

export interface EksToken {
  /** `k8s-aws-v1.<base64url of a presigned STS GetCallerIdentity URL>`: a bearer token. */
  token: string;
  /** When to get a new one: 14 minutes after signing, as `aws eks get-token` reports. */
  expiresAt: Date;
}

/**
 * AWS Signature Version 4 for backend code, on the proxy-sigv4 addon's credential caches,
 * AssumeRole sessions and pooled client. Failures reject with an error whose `code` is stable
 * (`INVALID_ARGUMENT`, `BAD_HEADER`, `CREDENTIALS_UNAVAILABLE`, ...); a role that config does not
 * allow rejects with a `NotAllowedError`.
 */
export interface AwsSigV4Service {
  /** Every header to send: the given ones, `host`, `x-amz-date`, `authorization` (and the token). */
  sign(request: SignableRequest, options?: SignOptions): Promise<Record<string, string>>;
  /** The URL with the signature in its query (S3 GET/PUT links and the like). */
  presign(request: PresignableRequest, options: PresignOptions): Promise<string>;
  /**
   * A request through the `proxysigv4` route `route` (its key, e.g. `/service-a`) to `path`
   * below it (`/rest?query`), signed and sent with the route's policy: methods, headers, body
   * limit, timeouts. The upstream's answer streams back as a `Response`; the proxy's own
   * refusals and failures are a `Response` too, with Backstage's error JSON
   * (`ResponseError.fromResponse` reads it).
   */
  fetch(route: string, path: string, init?: RouteRequestInit): Promise<Response>;
  /** A token the EKS API server accepts for the identity chosen (IAM access entries / aws-auth). */
  eksToken(cluster: string, options?: EksTokenOptions): Promise<EksToken>;
}
