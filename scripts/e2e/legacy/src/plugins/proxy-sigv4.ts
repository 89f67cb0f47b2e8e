import { createRouter } from 'backstage-plugin-proxy-sigv4-backend';
import { createLegacyAuthAdapters } from '@backstage/backend-common';
import type { HttpAuthService } from '@backstage/backend-plugin-api';
import type { PluginEnvironment } from '../types';

export default async function createPlugin(env: PluginEnvironment) {
  // The type argument names httpAuth, so the result's type has it (a legacy PluginEnvironment has
  // no httpAuth; the adapters build one on env.tokenManager and env.discovery).
  const { httpAuth } = createLegacyAuthAdapters<
    PluginEnvironment & { httpAuth?: HttpAuthService }
  >(env);
  return createRouter({ logger: env.logger, config: env.config, httpAuth });
}
