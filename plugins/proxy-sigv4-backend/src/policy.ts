import type { RouteInfo } from 'proxy-sigv4-native';

/**
 * Whether a request needs Backstage user or service credentials. A route's own `credentials`
 * option wins; otherwise (and for paths no route matches, so that anonymous callers cannot probe
 * route names: 401 before 404) the global `allowUnauthenticatedRequests` decides.
 */
export function requiresCredentials(route: RouteInfo | null, allowUnauthenticatedRequests: boolean): boolean {
  if (route?.credentials) return route.credentials === 'require';
  return !allowUnauthenticatedRequests;
}

/** The routes whose callers need no Backstage credentials. */
export function openRouteKeys(routes: readonly RouteInfo[], allowUnauthenticatedRequests: boolean): string[] {
  return routes.filter((route) => !requiresCredentials(route, allowUnauthenticatedRequests)).map((r) => r.key);
}

/** The routes whose callers need Backstage credentials. */
export function closedRouteKeys(routes: readonly RouteInfo[], allowUnauthenticatedRequests: boolean): string[] {
  return routes.filter((route) => requiresCredentials(route, allowUnauthenticatedRequests)).map((r) => r.key);
}

/**
 * The paths (below the plugin's mount point) to register as `unauthenticated` auth policies with
 * Backstage's httpRouter, which otherwise refuses credential-less requests before the router
 * sees them. Those policies are prefix matches (`/open` also admits `/open/inner`, a separate
 * route that may require credentials), so they only let requests through: the router's own
 * check per request stays authoritative.
 */
export function unauthenticatedPolicyPaths(
  routes: readonly RouteInfo[],
  allowUnauthenticatedRequests: boolean,
): string[] {
  const paths = openRouteKeys(routes, allowUnauthenticatedRequests);
  return allowUnauthenticatedRequests ? ['/', ...paths] : paths;
}

/**
 * Whether an `unauthenticated` auth policy registered for one of `policyPaths` lets
 * credential-less requests for `routeKey` past Backstage's barrier. Such policies match by path
 * prefix, segment by segment and ignoring case (`/a` admits `/a/b` and `/A`, not `/ab`); `/`
 * admits everything.
 */
export function admittedByPolicies(routeKey: string, policyPaths: readonly string[]): boolean {
  const key = routeKey.toLowerCase();
  return policyPaths.some((policy) => {
    const path = policy.toLowerCase();
    return path === '/' || key === path || key.startsWith(`${path}/`);
  });
}

/**
 * The routes a changed config opens to credential-less callers that the auth policies
 * registered at startup (`policyPaths`) do not admit: Backstage's barrier keeps refusing such
 * callers (401) until the backend restarts and registers new policies. When the global
 * `allowUnauthenticatedRequests` was turned on after startup, the paths that match no route
 * are listed too.
 */
export function routesAwaitingRestart(
  routes: readonly RouteInfo[],
  allowUnauthenticatedRequests: boolean,
  policyPaths: readonly string[],
): string[] {
  const waiting = openRouteKeys(routes, allowUnauthenticatedRequests).filter(
    (key) => !admittedByPolicies(key, policyPaths),
  );
  if (allowUnauthenticatedRequests && !policyPaths.includes('/')) waiting.push('paths that match no route');
  return waiting;
}
