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
   * of Segment's proxy-sigv4 plugin: each key starting with `/` is a route.
   *
   * A request to `/api/proxy-sigv4/<route>/<rest>?<query>` is signed with AWS Signature
   * Version 4 and forwarded to `<target>/<rest>?<query>`; the longest matching route wins.
   *
   * Short form:    `'/my-api': 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod'`
   *
   * Expanded form: `'/my-api': { target: 'https://...', roleArn: 'arn:aws:iam::...' }`
   *
   * Absent: the plugin starts and serves no routes (every request answers 404).
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
     * with the backend's credentials.
     */
    allowUnauthenticatedRequests?: boolean;

    /**
     * One route. The key is the route path (starting with `/`); the value is either the target
     * URL (short form: http or https, signed with the default credentials) or an object
     * (expanded form). `boolean | undefined` is in the union only because TypeScript requires
     * the index signature to admit `allowUnauthenticatedRequests`; a route must not be a boolean.
     */
    [route: string]:
      | boolean
      | undefined
      | string
      | {
          /**
           * The upstream base URL (http or https). The part of the request path after the
           * route is appended to its path; the query string is kept.
           */
          target: string;
          /**
           * ARN of an IAM role to assume (STS AssumeRole) for this route; the temporary
           * credentials are cached and refreshed before they expire. Absent: the AWS default
           * credential chain of the backend process is used.
           */
          roleArn?: string;
          /**
           * Session name for the assumed role (shows in CloudTrail).
           * Default: `tempAssumeRoleSession`. Only used with `roleArn`.
           */
          roleSessionName?: string;
          /**
           * The SigV4 signing name of the service, e.g. `execute-api`, `es`, `lambda`, `s3`.
           * Default: inferred from the target host name (`*.amazonaws.com`); required for
           * any other host.
           */
          service?: string;
          /**
           * The AWS region to sign for, e.g. `eu-west-1`. Default: inferred from the target
           * host name; required for any other host.
           */
          region?: string;
          /**
           * The HTTP methods the route forwards, from GET, HEAD, POST, PUT, PATCH, DELETE and
           * OPTIONS. Any other method is answered 405 with an `Allow` header and never reaches
           * the upstream. Default: every method.
           */
          allowedMethods?: string[];
          /**
           * Extra request headers to forward, beyond the built-in allowlist (accept,
           * content-type, if-match, range, x-amz-target, ...). Like those, they are not signed
           * unless named `x-amz-*`. Headers the proxy sets or strips (authorization, cookie,
           * host, x-amz-date, x-amz-security-token, hop-by-hop headers...) are refused at
           * startup. Default: none.
           *
           * There is no list for response headers: every response header passes back except
           * hop-by-hop headers and Set-Cookie.
           */
          allowedHeaders?: string[];
          /**
           * Static headers added to every request of the route and signed, e.g. an API key.
           * They replace a client header of the same name. Headers the proxy sets or strips
           * are refused at startup. Default: none.
           */
          headers?: {
            /** @visibility secret */
            [name: string]: string;
          };
          /**
           * Who may call the route: `require` (Backstage user or service credentials) or
           * `dangerously-allow-unauthenticated` (anyone who can reach the backend makes signed
           * requests with the route's AWS credentials). Default: `require`, or anyone when
           * `allowUnauthenticatedRequests` is true.
           */
          credentials?: 'require' | 'dangerously-allow-unauthenticated';
          /**
           * How long to wait for the upstream's response headers (504 after that), as a
           * Backstage duration: `'30s'`, `'PT30S'` or `{ seconds: 30 }`. The body may stream
           * for longer. Default: 30 seconds.
           */
          timeout?: string | HumanDuration;
          /**
           * How long to wait for the TCP connection to the upstream (504 after that), as a
           * Backstage duration. Default: 10 seconds.
           */
          connectTimeout?: string | HumanDuration;
          /**
           * The largest request body the route accepts, in bytes; larger bodies are answered
           * 413 before they are read to the end. Bodies are held in memory to be signed.
           * Default: 10485760 (10 MiB).
           */
          maxRequestBodyBytes?: number;
        };
  };
}
