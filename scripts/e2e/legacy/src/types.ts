// The legacy backend's PluginEnvironment, as in the legacy create-app template's
// packages/backend/src/types.ts, reduced to the members this e2e backend provides.
import type { Logger } from 'winston';
import type { Config } from '@backstage/config';
import type {
  PluginEndpointDiscovery,
  TokenManager,
} from '@backstage/backend-common';

export type PluginEnvironment = {
  logger: Logger;
  config: Config;
  discovery: PluginEndpointDiscovery;
  tokenManager: TokenManager;
};
