/*
 * Configuration schema of backstage-plugin-proxy-sigv4-node. It shares the `proxysigv4` block
 * with the proxy-sigv4 backend plugin, whose routes `fetch` and a `route` credential choice use.
 * Nothing here is `frontend`: it all stays in the backend.
 */
export interface Config {
  proxysigv4?: {
    /** The signer service other backend plugins use. */
    signer?: {
      /**
       * The IAM roles other backend code may sign as (`roleArn`), assumed through STS from the
       * default credentials. A role not listed is refused. Default: none.
       */
      allowedRoles?: string[];
    };
  };
}
