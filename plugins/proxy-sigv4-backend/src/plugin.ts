import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { followConfigChanges } from './reload';
import { createProxyRouter } from './router';

/**
 * The proxy-sigv4 backend plugin: serves the `proxysigv4` routes under `/api/proxy-sigv4`,
 * signing each request with AWS SigV4, and follows changes of `proxysigv4` without a restart.
 * Wiring only; the work is in the router and the addon.
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
        lifecycle: coreServices.lifecycle,
      },
      async init({ config, logger, httpRouter, httpAuth, auditor, lifecycle }) {
        const proxyRouter = await createProxyRouter({ config, logger, httpAuth, auditor });
        httpRouter.use(proxyRouter.router);
        // Lets credential-less callers past Backstage's barrier to the open routes; the
        // router still checks every request itself (these policies are prefix matches). They
        // cannot be removed or added later: see followConfigChanges for what a reload does.
        for (const path of proxyRouter.unauthenticatedPaths) {
          httpRouter.addAuthPolicy({ path, allow: 'unauthenticated' });
        }
        const subscription = followConfigChanges(config, proxyRouter, logger);
        lifecycle.addShutdownHook(() => subscription?.unsubscribe());
      },
    });
  },
});
