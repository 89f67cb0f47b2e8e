import { coreServices, createServiceFactory, createServiceRef } from '@backstage/backend-plugin-api';
import { DefaultAwsSigV4Service } from './service';
import type { AwsSigV4Service } from './types';

/**
 * The AWS SigV4 service. Plugin-scoped, so that a role assumed for a plugin names it in its
 * session (`backstage-<pluginId>`); every instance shares the addon's process-wide caches.
 */
export const awsSigV4ServiceRef = createServiceRef<AwsSigV4Service>({
  id: 'proxy-sigv4.aws-sigv4',
  scope: 'plugin',
  defaultFactory: async (service) =>
    createServiceFactory({
      service,
      deps: { config: coreServices.rootConfig, plugin: coreServices.pluginMetadata },
      factory: ({ config, plugin }) => DefaultAwsSigV4Service.fromConfig(config, { pluginId: plugin.getId() }),
    }),
});
