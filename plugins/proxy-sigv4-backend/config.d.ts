/*
 * Configuration schema of the proxy-sigv4 backend plugin. Backstage reads this file (the
 * package's `configSchema`) to validate app-config and to decide what reaches the frontend:
 * nothing here is `frontend`, so it all stays in the backend; the values of a route's `headers`
 * are `secret`, so Backstage's logger redacts them.
 */
import type { HumanDuration } from '@backstage/types';

export interface Config {
  /**
   * Routes that the proxy-sigv4 backend plugin serves under `/api/proxy-sigv4`, in the format
   * of Segment's proxy-sigv4 plugin: each key starting with `/` is a route. Routes may also be
   * listed under `endpoints`, as in Backstage's proxy-backend.
   *
   * A request to `/api/proxy-sigv4/<route>/<rest>?<query>` is signed with AWS Signature
   * Version 4 and forwarded to `<target>/<rest>?<query>`; the longest matching route wins.
   *
   * Short form:    `'/my-api': 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod'`
   *
   * Expanded form: `'/my-api': { target: 'https://...', roleArn: 'arn:aws:iam::...' }`
   *
   * Absent: the plugin starts and serves no routes (every request answers 404, or 401 first to
   * callers without Backstage credentials).
   *
   * Changes are applied without a restart (new backend system): the next request uses the new
   * routes, requests under way finish on the old ones, and an invalid change is logged and
   * ignored. Closing or removing a route takes effect at once; opening a route to callers
   * without credentials (`credentials: dangerously-allow-unauthenticated`, or
   * `allowUnauthenticatedRequests: true`) takes effect only after a restart, because Backstage
   * registers auth policies at startup only: until then, the route keeps requiring credentials.
   */
  proxysigv4?: {
    /**
     * When true, the proxy answers requests that carry no Backstage credentials (the plugin
     * registers an `unauthenticated` auth policy for its whole router). Default: false, so only
     * requests with Backstage user or service credentials are proxied. A route's own
     * `credentials` option overrides it for that route. Paths that match no route follow this
     * option, so without it anonymous callers get 401 (not 404) for any path.
     *
     * Beware: with this set, anyone who can reach the backend can make signed AWS requests
     * with the backend's credentials. Turning it on takes effect only after a restart.
     */
    allowUnauthenticatedRequests?: boolean;

    /**
     * Which proxied requests get a `proxy-request` audit event (initiated, then succeeded or
     * failed, with the caller's principal): `all` (default), `mutations` (every method but GET,
     * HEAD and OPTIONS) or `none`. With less than `all`, the requests left out leave no audit
     * trail of who read what through the proxy, only the plugin's metrics and its debug line.
     * Requests for temporary credentials are always audited.
     */
    auditEvents?: 'all' | 'mutations' | 'none';

    /**
     * More routes, in the shape Backstage's proxy-backend uses (`proxy.endpoints`): each key is
     * a route path starting with `/`, each value a target URL or an expanded route, exactly as
     * for the routes beside this key. A route may be given here or beside, not both (a startup
     * error names it).
     *
     * Example: `endpoints: { '/orders': { target: 'https://sqs.eu-west-1.amazonaws.com' } }`
     */
    endpoints?: {
      [route: string]: string | ProxySigV4Route;
    };

    /**
     * How often credentials without an expiry (static keys from the environment or the shared
     * credentials file, `credential_process` output without `Expiration`) are read again, as a
     * duration string (`'15m'`, `'PT15M'`; at least 1 second). A key rotated on disk, or written by an agent
     * such as Vault's, is then used without a restart. The re-read runs in the background; a
     * failed one keeps the current keys and is retried with backoff. Credentials with an expiry
     * (STS, IRSA, ECS, IMDS, SSO) are refreshed ahead of it regardless. Default: 15 minutes, as
     * in the AWS SDKs.
     */
    credentialRereadInterval?: string;

    /**
     * The signer service other backend plugins use (`backstage-plugin-proxy-sigv4-node`).
     */
    signer?: {
      /**
       * The IAM roles other backend code may sign as, through STS AssumeRole from the default
       * credentials (`sign`, `presign`, `eksToken` with `roleArn`). A role not listed is
       * refused. Default: none; code can still sign with the default chain or a route's
       * credentials.
       */
      allowedRoles?: string[];
    };

    /**
     * Temporary AWS credentials for signed-in users at `POST /api/proxy-sigv4/.credentials`
     * (body `{ roleArn, durationSeconds? }`). Off when absent. Each request needs Backstage user
     * credentials (services only with `allowServicePrincipals`) and the permission
     * `proxy-sigv4.temporary-credentials.issue` for the role (its `resourceRef`); the answer is a
     * fresh STS AssumeRole session named after the user (session name and SourceIdentity), never
     * the backend's own keys. Needs the new backend system.
     */
    temporaryCredentials?: TemporaryCredentialsConfig;

    /**
     * One route. The key is the route path (starting with `/`); the value is either the target
     * URL (short form: http or https, signed with the default credentials) or an object
     * (expanded form). `boolean | undefined` and the object of routes are in the union only
     * because TypeScript requires the index signature to admit `allowUnauthenticatedRequests`,
     * `endpoints`, `credentialRereadInterval`, `auditEvents`, `signer` and `temporaryCredentials`; a route is
     * never a boolean, a duration, an object of routes or those options' objects. (The duration is a string here: an object form in this union would
     * hide the routes' secret header values from Backstage's schema.)
     */
    [route: string]:
      | boolean
      | undefined
      | string
      | ProxySigV4Route
      | { [route: string]: string | ProxySigV4Route }
      | { allowedRoles?: string[] }
      | TemporaryCredentialsConfig;
  };
}

/** See `proxysigv4.temporaryCredentials`. */
interface TemporaryCredentialsConfig {
  /** Service principals may ask too. Default: false (users only). */
  allowServicePrincipals?: boolean;
  /** Requests one caller may make in any minute, per backend instance (1-600). Default: 10. */
  requestsPerMinute?: number;
  /** The roles callers may ask for; any other is refused (403 ROLE_NOT_ALLOWED). */
  roles: Array<{
    /** The IAM role, assumed from the backend's default credentials. Its trust policy must allow `sts:SetSourceIdentity`. */
    roleArn: string;
    /** The longest session handed out, 15m to 1h (a duration string). Default: 15m. */
    maxDuration?: string;
    /** An IAM policy document (JSON text or object) that scopes every session below the role's own policies. */
    sessionPolicy?: string | object;
    /** Managed policy ARNs that scope every session likewise. */
    policyArns?: string[];
  }>;
}

/** The expanded form of a route. */
interface ProxySigV4Route {
  /**
   * The upstream base URL (http or https). The part of the request path after the route is
   * appended to its path; the query string is kept. The proxy connects to this host; see
   * `hostHeader` to sign for another name.
   */
  target: string;
  /**
   * The Host the request is signed for and sent with, when it differs from the target's:
   * connect to an interface VPC endpoint, a private API Gateway's `vpce-...` name, a load
   * balancer or an IP while the API answers to this name, e.g.
   * `abc123.execute-api.eu-west-1.amazonaws.com` or `api.example.com`. A host name, optionally
   * with a port. Service and region are inferred from it first, then from the target.
   * Default: the target's host.
   */
  hostHeader?: string;
  /**
   * A named profile of the AWS shared config and credentials files (`~/.aws/config`,
   * `~/.aws/credentials`, or `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`) to take this
   * route's credentials from, instead of the default chain. With `roleArn`, the profile's
   * credentials are the ones that assume the role. Letters, digits, `-`, `_`, `.`.
   */
  profile?: string;
  /**
   * ARN of an IAM role to assume (STS AssumeRole) for this route; the temporary credentials are
   * cached and refreshed before they expire. Absent: the AWS default credential chain of the
   * backend process (or `profile`) is used.
   */
  roleArn?: string;
  /**
   * Session name for the assumed role (shows in CloudTrail).
   * Default: `tempAssumeRoleSession`. Only used with `roleArn`.
   */
  roleSessionName?: string;
  /**
   * The external ID the role's trust policy requires (`sts:ExternalId`), typically for a role
   * in another organisation's account. 2-1224 characters of letters, digits and `+=,.@:/-_`.
   * Only used with `roleArn`.
   */
  externalId?: string;
  /**
   * How long the assumed role's credentials last, as a Backstage duration (`'1h'`, `'PT1H'`,
   * `{ hours: 1 }`); they are refreshed before they expire. STS allows 15 minutes up to the
   * role's maximum session duration. Default: STS's default (1 hour). Only used with `roleArn`.
   */
  sessionDuration?: string | HumanDuration;
  /**
   * The region whose STS endpoint assumes the role, e.g. to keep STS calls in the route's
   * partition or near the backend. Default: `AWS_REGION` of the backend, else the route's
   * region. `AWS_ENDPOINT_URL_STS` still wins when set. Only used with `roleArn`.
   */
  stsRegion?: string;
  /**
   * The SigV4 signing name of the service, e.g. `execute-api`, `es`, `lambda`, `s3`,
   * `dynamodb`. Default: inferred from the host name (`hostHeader`, else the target's) for
   * AWS endpoints; required for any other host (custom domains, IPs, loopback).
   */
  service?: string;
  /**
   * The AWS region to sign for, e.g. `eu-west-1`. Default: inferred from the host name, as
   * `service`; required for any other host.
   */
  region?: string;

  /**
   * `sigv4a` signs with SigV4A (an ECDSA P-256 signature valid in a set of regions) instead of
   * SigV4, for multi-region endpoints such as S3 Multi-Region Access Points
   * (`https://<alias>.mrap.accesspoint.s3-global.amazonaws.com`, with `service: s3`).
   * Default: `sigv4`.
   */
  signingAlgorithm?: 'sigv4' | 'sigv4a';

  /** With `signingAlgorithm: sigv4a`: the regions the signature is valid in. Default: `'*'` (all). */
  regionSet?: string | string[];
  /**
   * The HTTP methods the route forwards. Any other method is answered 405 with an `Allow`
   * header and never reaches the upstream. TRACE (which makes a server echo the signed request)
   * and extension methods such as PROPFIND pass only when listed here; CONNECT never does.
   * Default: GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS.
   */
  allowedMethods?: string[];
  /**
   * Extra request headers to forward, beyond the built-in allowlist (accept, content-type,
   * if-match, range, x-amz-target, ...). Like those, they are not signed unless named
   * `x-amz-*`. Headers the proxy sets or strips (authorization, cookie, host, x-amz-date,
   * x-amz-security-token, hop-by-hop headers...) are refused at startup. Default: none.
   *
   * There is no list for response headers: see `responseHeaders` for what passes back.
   */
  allowedHeaders?: string[];
  /**
   * Static headers added to every request of the route and signed, e.g. an API key. They
   * replace a client header of the same name. Headers the proxy sets or strips are refused at
   * startup. Default: none.
   */
  headers?: {
    /** @visibility secret */
    [name: string]: string;
  };
  /**
   * Who may call the route: `require` (Backstage user or service credentials) or
   * `dangerously-allow-unauthenticated` (anyone who can reach the backend makes signed
   * requests with the route's AWS credentials). Default: `require`, or anyone when
   * `allowUnauthenticatedRequests` is true. Opening a route takes effect only after a restart.
   */
  credentials?: 'require' | 'dangerously-allow-unauthenticated';
  /**
   * How long to wait for the upstream's response headers (504 after that), as a Backstage
   * duration: `'30s'`, `'PT30S'` or `{ seconds: 30 }`. While a streamed upload is being sent
   * it counts from the last chunk, so a long upload that keeps moving is not cut. The response
   * body may stream for longer. Default: 30 seconds.
   */
  timeout?: string | HumanDuration;
  /**
   * How long to wait for the TCP connection to the upstream (504 after that), as a Backstage
   * duration. Default: 10 seconds.
   */
  connectTimeout?: string | HumanDuration;
  /**
   * Path of a PEM file of CA certificates this route trusts beyond the bundled Mozilla roots,
   * the system store and the bundles named by `NODE_EXTRA_CA_CERTS` / `AWS_CA_BUNDLE`: for an
   * upstream behind a private CA. Read at startup (and on a config change); a missing file or
   * one without certificates stops the backend. Certificates are still checked against the
   * target's host. Only for https targets. Relative paths are from the backend's working
   * directory. Default: none.
   */
  caFile?: string;
  /**
   * How long a request waits for AWS credentials when none are cached (an STS AssumeRole, a
   * container or instance metadata call), as a Backstage duration; after that it is answered
   * 503 `CREDENTIALS_UNAVAILABLE` and the fetch counts as failed (retried with backoff by later
   * requests). Default: the route's `timeout`.
   */
  credentialTimeout?: string | HumanDuration;
  /**
   * The largest request body the route accepts, in bytes; larger bodies are answered 413
   * before they are read to the end. Bodies are held in memory to be signed, unless
   * `unsignedPayload` is set. Default: 10485760 (10 MiB).
   */
  maxRequestBodyBytes?: number;
  /**
   * When true, the body is not part of the signature: requests are signed with
   * `x-amz-content-sha256: UNSIGNED-PAYLOAD` and bodies stream to the upstream as they arrive,
   * never held, so `maxRequestBodyBytes` can be large (e.g. S3 uploads of gigabytes). Such
   * bodies need a `content-length` (411 without one). The signature then no longer covers the
   * body (use an https target), and only services that accept unsigned payloads can be called
   * this way: Amazon S3 documents it (PutObject, UploadPart); services that require the payload
   * hash in the signature refuse such requests. Default: false.
   */
  unsignedPayload?: boolean;
  /**
   * What passes back of the upstream's response headers. By default every header does except
   * hop-by-hop headers, Set-Cookie, a `Location` to another host than the target's, and the
   * headers that set browser policy for the whole Backstage origin or page
   * (`Content-Security-Policy*`, `Strict-Transport-Security`, `Access-Control-*`,
   * `Clear-Site-Data`, `Alt-Svc`, `Refresh`, `NEL`, `Report-To`, `X-Frame-Options`, ...); and
   * proxied responses get `Content-Security-Policy: sandbox` (beside Backstage's own CSP) and
   * `X-Content-Type-Options: nosniff`.
   */
  responseHeaders?: {
    /**
     * Pass the upstream's origin-policy headers and add no sandbox: only for an upstream
     * trusted to serve pages and scripts on the Backstage origin. Default: false.
     */
    passOriginPolicy?: boolean;
  };
}
