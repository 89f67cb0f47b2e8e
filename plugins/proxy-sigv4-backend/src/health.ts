import type { RouteStatusInfo, SigV4Proxy } from 'proxy-sigv4-native';

/**
 * The plugin's own readiness view, `GET /api/proxy-sigv4/.health` (route keys cannot start
 * with `/.`, so no route can shadow it). Per route: the credential state (`ready`, `pending`
 * until the first request fetches them, `failing`) with age, expiry and the last failure's
 * safe description, and the last proxy failure that was not the caller's (5xx code and time).
 * Never keys, ARNs or tokens.
 *
 * Decision: it answers 503 with `status: 'degraded'` while any route's credentials are
 * failing, 200 with `status: 'ok'` otherwise, so a probe can alert on it. It is deliberately
 * not part of Backstage's root readiness (`/.backstage/health/v1/readiness`): one route whose
 * credentials fail must not take the whole portal out of its load balancer.
 */
export const HEALTH_PATH = '/.health';

export interface HealthView {
  status: 'ok' | 'degraded';
  routes: Array<{
    route: string;
    credentials: {
      state: string;
      ageSeconds?: number;
      expiresInSeconds?: number;
      fetched: number;
      failed: number;
      lastFailure?: string;
    };
    lastFailure?: { code: string; at: string };
  }>;
}

export function healthView(proxy: SigV4Proxy): HealthView {
  const routes = proxy.routeStatuses().map(routeHealth);
  const failing = routes.some((route) => route.credentials.state === 'failing');
  return { status: failing ? 'degraded' : 'ok', routes };
}

function routeHealth({ route, credentials, lastFailure }: RouteStatusInfo): HealthView['routes'][number] {
  const { assumeRole: _assumeRole, ...state } = credentials;
  return {
    route,
    credentials: state,
    ...(lastFailure && { lastFailure: { code: lastFailure.code, at: new Date(lastFailure.at).toISOString() } }),
  };
}
