// A minimal backend of the legacy (backend-common) system, as the legacy create-app template
// built it, serving only proxy-sigv4 at /api/proxy-sigv4. Started the app's way:
//   yarn workspace backend-legacy start --config ../../app-config.legacy.yaml
import {
  createServiceBuilder,
  getRootLogger,
  HostDiscovery,
  loadBackendConfig,
  ServerTokenManager,
} from '@backstage/backend-common';
import Router from 'express-promise-router';
import proxySigV4 from './plugins/proxy-sigv4';
import type { PluginEnvironment } from './types';

async function main() {
  const logger = getRootLogger();
  const config = await loadBackendConfig({ argv: process.argv, logger });
  const discovery = HostDiscovery.fromConfig(config);
  // Verifies service tokens (backend.auth.externalAccess of type legacy, or backend.auth.keys).
  // Without a tokenManager, createLegacyAuthAdapters would accept any bearer string that is not
  // a user JWT as a service token.
  const tokenManager = ServerTokenManager.fromConfig(config, { logger });
  const proxySigV4Env: PluginEnvironment = {
    logger: logger.child({ type: 'plugin', plugin: 'proxy-sigv4' }),
    config,
    discovery,
    tokenManager,
  };

  const apiRouter = Router();
  apiRouter.use('/proxy-sigv4', await proxySigV4(proxySigV4Env));

  await createServiceBuilder(module)
    .loadConfig(config)
    .addRouter('/api', apiRouter)
    .start();
  logger.info('legacy backend with proxy-sigv4 started');
}

main().catch(error => {
  console.error('Backend failed to start up', error);
  process.exit(1);
});
