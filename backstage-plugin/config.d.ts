/*
 * Configuration schema of the proxy-sigv4 backend plugin. Backstage reads this file (the
 * package's `configSchema`) to validate app-config and to decide what reaches the frontend:
 * nothing here has a `@visibility` annotation, so it all stays in the backend.
 */
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
     * requests with Backstage user or service credentials are proxied.
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
        };
  };
}
