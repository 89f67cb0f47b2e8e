import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import type { ServiceRef } from '@backstage/backend-plugin-api';
import { followConfigChanges } from './reload';
import { createProxyRouter } from './router';
import { temporaryCredentialsPermission } from './temporary-credentials';
import type { MeterLike } from './metrics';

/**
 * Backstage's MetricsService ref, where the installed `@backstage/backend-plugin-api` has it
 * (its `/alpha` entry point, 1.12 and later, with the factory in `createBackend` and
 * `startTestBackend`); older ones get the app's global OpenTelemetry meter instead.
 */
function metricsServiceRef(): ServiceRef<MeterLike, 'plugin'> | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const alpha = require('@backstage/backend-plugin-api/alpha') as { metricsServiceRef?: ServiceRef<MeterLike, 'plugin'> };
    return alpha.metricsServiceRef;
  } catch {
    return undefined;
  }
}

const metricsRef = metricsServiceRef();

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
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        lifecycle: coreServices.lifecycle,
        ...(metricsRef && { metrics: metricsRef }),
      },
      async init({ config, logger, httpRouter, httpAuth, auditor, permissions, permissionsRegistry, lifecycle, ...optional }) {
        const { metrics } = optional as { metrics?: MeterLike };
        permissionsRegistry.addPermissions([temporaryCredentialsPermission]);
        const proxyRouter = await createProxyRouter({ config, logger, httpAuth, auditor, permissions, metrics });
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
