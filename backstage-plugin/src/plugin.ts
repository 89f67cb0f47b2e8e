import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { createProxyRouter } from './router';

/**
 * The proxy-sigv4 backend plugin: serves the `proxysigv4` routes under `/api/proxy-sigv4`,
 * signing each request with AWS SigV4. Wiring only; the work is in the router and the addon.
 */
export const proxySigV4Plugin = createBackendPlugin({
  pluginId: 'proxy-sigv4',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        auditor: coreServices.auditor,
      },
      async init({ config, logger, httpRouter, httpAuth, auditor }) {
        const { router, unauthenticatedPaths } = await createProxyRouter({ config, logger, httpAuth, auditor });
        httpRouter.use(router);
        // Lets credential-less callers past Backstage's barrier to the open routes; the
        // router still checks every request itself (these policies are prefix matches).
        for (const path of unauthenticatedPaths) {
          httpRouter.addAuthPolicy({ path, allow: 'unauthenticated' });
        }
      },
    });
  },
});
