import type { LoggerService } from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import type { ProxyRouter } from './router';

/**
 * Reloads the router's routes whenever the config changes (when the config service can tell).
 *
 * Decision on auth: the router's own per-request check follows the new config at once, so a
 * route the new config closes, or removes, is closed (401) or gone (404) from the next request.
 * Backstage's auth policies, though, are registered at startup and cannot be removed or added:
 * a route the new config opens to credential-less callers keeps requiring credentials until the
 * backend restarts (the barrier in front of the router refuses them; a warning says so), and a
 * policy that opened a route at startup only ever lets requests reach the router, which then
 * decides. A reload therefore never opens what the config does not open.
 *
 * An invalid new config is logged (the message names the route and key) and the routes in
 * force stay; the listener never throws into the config service.
 */
export function followConfigChanges(
  config: Config,
  proxyRouter: ProxyRouter,
  logger: LoggerService,
): { unsubscribe(): void } | undefined {
  return config.subscribe?.(() => {
    try {
      proxyRouter.reload();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.error(`proxy-sigv4: config change not applied, the previous routes stay in force: ${message}`);
    }
  });
}
