import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { readProxySigV4Settings } from './config';
import { createRouter } from './router';

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
        const { allowUnauthenticatedRequests } = readProxySigV4Settings(config);
        httpRouter.use(await createRouter({ config, logger, httpAuth, auditor }));
        if (allowUnauthenticatedRequests) {
          httpRouter.addAuthPolicy({ path: '/', allow: 'unauthenticated' });
        }
      },
    });
  },
});
