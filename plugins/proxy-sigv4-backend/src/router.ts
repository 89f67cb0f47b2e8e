import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type {
  AuditorService,
  AuditorServiceEvent,
  DiscoveryService,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import { CancelSignal } from 'proxy-sigv4-native';
import type { ProxyErrorInfo, ProxyResponse, RequestPlan, RouteInfo, SigV4Proxy } from 'proxy-sigv4-native';
import { finishAuditEvent, isAudited, startAuditEvent } from './audit';
import type { AuditEvents, AuditOutcome } from './audit';
import { ClientClosedError, discardRestOfBody, readRawBody, streamRequestBody } from './body';
import type { StreamedBody } from './body';
import { HEALTH_PATH, healthView } from './health';
import { CREDENTIALS_PATH, temporaryCredentialsRouter } from './temporary-credentials';
import { createProxyMetrics, globalMeter } from './metrics';
import type { MeterLike, ProxyMetrics } from './metrics';
import { createSigV4Proxy, readProxySigV4Settings } from './config';
import { ProxyRefusal, sendErrorJson, statusOf } from './errors';
import {
  closedRouteKeys,
  openRouteKeys,
  requiresCredentials,
  routesAwaitingRestart,
  unauthenticatedPolicyPaths,
} from './policy';

/** Options of {@link createRouter}. */
export interface RouterOptions {
  logger: LoggerService;
  config: Config;
  /**
   * Resolves Backstage credentials from requests. Required unless no request can need
   * credentials (see {@link createRouter}).
   */
  httpAuth?: HttpAuthService;
  /**
   * When given, each authenticated request gets one audit event (`proxy-request`, initiated then
   * succeeded or failed) with meta `{ route, method, path, status, durationMs }`; which requests,
   * `proxysigv4.auditEvents` says (default: all).
   */
  auditor?: AuditorService;
  /** Accepted for signature compatibility with other legacy plugins; not used. */
  discovery?: DiscoveryService;
  /**
   * Checks who may have temporary credentials (`POST /.credentials`, when
   * `proxysigv4.temporaryCredentials` is configured). Without it that path is not served.
   */
  permissions?: PermissionsService;
  /**
   * Where the plugin's metrics go: Backstage's MetricsService where the backend has it, else
   * the app's global OpenTelemetry meter (a no-op until the app sets up the OTel SDK).
   */
  metrics?: MeterLike;
}

/** The router and the auth policies Backstage's httpRouter must register in front of it. */
export interface ProxyRouter {
  router: express.Router;
  /** Paths (below the mount point) to register as `unauthenticated` auth policies. */
  unauthenticatedPaths: string[];
  /**
   * Re-reads `proxysigv4` from the config and serves its routes from the next request on;
   * requests already under way finish on the routes they started with. Returns false when
   * `proxysigv4` did not change. Throws (ProxySigV4ConfigError for an invalid config) and keeps
   * the routes in force when the new config cannot be served.
   */
  reload(): boolean;
}

/** The routes in force: replaced whole by a reload, read once by each request. */
interface RouteTable {
  proxy: SigV4Proxy;
  /** `proxy.routeInfos`, indexed by the `route` of `proxy.planRequest`. */
  routes: RouteInfo[];
  allowUnauthenticatedRequests: boolean;
  auditEvents: AuditEvents;
  /** The `proxysigv4` object it was built from, to skip reloads that do not change it. */
  source: string;
}

/**
 * Creates the proxy's express router: every request under it is authenticated (per route: see
 * `credentials`), read raw, signed and forwarded by the addon, and its response streamed back.
 *
 * Legacy backends (`apiRouter.use('/proxy-sigv4', await createRouter({ logger, config, httpAuth }))`):
 * the router enforces authentication itself, so it needs `httpAuth`. Decision: Backstage's only
 * compat helper that builds one (`createLegacyAuthAdapters`) lives in the deprecated
 * `@backstage/backend-common`, which is heavy and no longer part of the current release line, so
 * this package does not depend on it. Without `httpAuth`, createRouter refuses to start unless
 * no request can need credentials (`allowUnauthenticatedRequests: true` and no route with
 * `credentials: require`): a proxy holding AWS credentials never silently serves anonymous callers.
 */
export async function createRouter(options: RouterOptions): Promise<express.Router> {
  return (await createProxyRouter(options)).router;
}

/**
 * {@link createRouter}, plus the auth policies the new backend's plugin registers and the
 * `reload` it calls when the config changes.
 */
export async function createProxyRouter(options: RouterOptions): Promise<ProxyRouter> {
  const { logger, config, httpAuth, auditor, permissions } = options;
  let current = loadRouteTable(config, httpAuth);
  const { routes } = current;
  logRoutes(logger, 'serving', routes, current.allowUnauthenticatedRequests);
  // Backstage cannot remove or add auth policies after startup: these stay for the process.
  // The credentials path checks callers itself, so that a refused anonymous call is audited too.
  const servesCredentials = permissions !== undefined && httpAuth !== undefined;
  const unauthenticatedPaths = [
    ...unauthenticatedPolicyPaths(routes, current.allowUnauthenticatedRequests),
    ...(servesCredentials ? [CREDENTIALS_PATH] : []),
  ];
  if (current.proxy.temporaryCredentials && !servesCredentials) {
    logger.warn(`proxy-sigv4: temporaryCredentials is configured but not served: ${CREDENTIALS_PATH} needs the new backend system's permissions service`);
  }

  const metrics = createProxyMetrics(options.metrics ?? globalMeter(), () => current.proxy);
  return {
    router: buildRouter({ routes: () => current, logger, auditor, httpAuth, permissions, metrics }),
    unauthenticatedPaths,
    reload() {
      const next = loadRouteTable(config, httpAuth);
      if (next.source === current.source) return false;
      current = next;
      logReload(logger, next, unauthenticatedPaths);
      return true;
    },
  };
}

/**
 * Reads and validates `proxysigv4` into the routes to serve. Throws when it is invalid or when
 * it needs credentials checked and there is no `httpAuth` to check them with.
 */
function loadRouteTable(config: Config, httpAuth: HttpAuthService | undefined): RouteTable {
  const settings = readProxySigV4Settings(config);
  const { allowUnauthenticatedRequests, auditEvents } = settings;
  if (!allowUnauthenticatedRequests && !httpAuth) {
    throw new Error(
      'proxy-sigv4: createRouter needs `httpAuth` to authenticate requests (pass ' +
        '`httpAuth` from the backend, e.g. createLegacyAuthAdapters(env).httpAuth in a legacy ' +
        'backend), or set proxysigv4.allowUnauthenticatedRequests: true to serve anyone',
    );
  }
  const proxy = createSigV4Proxy(settings);
  const closed = closedRouteKeys(proxy.routeInfos, allowUnauthenticatedRequests);
  if (!httpAuth && closed.length > 0) {
    throw new Error(
      `proxy-sigv4: createRouter needs \`httpAuth\`: route(s) ${closed.join(', ')} set ` +
        '`credentials: require`',
    );
  }
  return { proxy, routes: proxy.routeInfos, allowUnauthenticatedRequests, auditEvents, source: JSON.stringify(settings.raw) };
}

/**
 * Says what a reload changed to, and which routes the new config opens that keep requiring
 * credentials: Backstage's barrier in front of the router still refuses credential-less callers
 * for any path the startup auth policies did not open, until the backend restarts.
 */
function logReload(logger: LoggerService, table: RouteTable, policyPaths: readonly string[]): void {
  const { routes } = table;
  logRoutes(logger, 'config changed; now serving', routes, table.allowUnauthenticatedRequests);
  const waiting = routesAwaitingRestart(routes, table.allowUnauthenticatedRequests, policyPaths);
  if (waiting.length > 0) {
    logger.warn(
      'proxy-sigv4: opened by the config change, but still requiring Backstage credentials until the ' +
        `backend restarts (auth policies are registered at startup only): ${waiting.join(', ')}`,
    );
  }
}

/** Says what is served, and loudly which routes serve callers without credentials. */
function logRoutes(
  logger: LoggerService,
  what: string,
  routes: readonly RouteInfo[],
  allowUnauthenticatedRequests: boolean,
): void {
  if (routes.length === 0) {
    logger.info(`proxy-sigv4: ${what} no routes (proxysigv4 is empty or absent)`);
  } else {
    logger.info(`proxy-sigv4: ${what} routes ${routes.map((r) => r.key).join(', ')}`);
  }
  if (allowUnauthenticatedRequests) {
    logger.warn('proxy-sigv4: allowUnauthenticatedRequests is true: requests need no credentials');
  }
  const open = openRouteKeys(routes, allowUnauthenticatedRequests);
  if (open.length > 0) {
    logger.warn(`proxy-sigv4: routes serving callers without Backstage credentials: ${open.join(', ')}`);
  }
}

interface BuildOptions {
  /** The routes in force; each request reads them once and keeps them to its end. */
  routes: () => RouteTable;
  logger: LoggerService;
  auditor?: AuditorService;
  /** Checks credentials where required; present whenever a request can require them. */
  httpAuth?: HttpAuthService;
  /** With httpAuth, serves temporary credentials where config turns them on. */
  permissions?: PermissionsService;
  metrics: ProxyMetrics;
}

/** A request body as the addon takes it: read whole, or only measured and streamed through. */
type OutgoingBody = { streamed: false; bytes?: Buffer } | { streamed: true; length: number; upload: StreamedBody };

/** What the end of one request needs to know: timing, the audit event and how it failed. */
interface Exchange extends AuditOutcome {
  started: bigint;
  /** Abandons the addon's exchange with the upstream if the client goes away before the end. */
  cancel?: CancelSignal;
  /** The request's audit event, when it gets one (see `proxysigv4.auditEvents`). */
  audit?: Promise<AuditorServiceEvent | undefined>;
  /** The key of the route the request matched, once known. */
  route?: string;
}

function buildRouter(options: BuildOptions): express.Router {
  const { logger } = options;
  const router = express.Router();

  // The readiness view: Backstage user or service credentials always, whatever the routes allow.
  router.get(HEALTH_PATH, (req: Request, res: Response, next: NextFunction) => {
    authenticate(req, options.httpAuth)
      .then(() => {
        const view = healthView(options.routes().proxy);
        res.status(view.status === 'ok' ? 200 : 503).set('cache-control', 'no-store').json(view);
      })
      .catch(next);
  });

  if (options.permissions && options.httpAuth) {
    const { httpAuth, permissions, auditor } = options;
    router.use(temporaryCredentialsRouter({ proxy: () => options.routes().proxy, httpAuth, permissions, auditor }));
  }

  router.use((req: Request, res: Response, next: NextFunction) => {
    const exchange: Exchange = { started: process.hrtime.bigint() };
    res.once('close', () => {
      if (!res.writableFinished) exchange.cancel?.cancel();
      const durationMs = Math.round(Number(process.hrtime.bigint() - exchange.started) / 1e5) / 10;
      logRequest(logger, req, res, durationMs);
      options.metrics.recordRequest({
        route: exchange.route,
        method: req.method,
        status: res.statusCode,
        seconds: durationMs / 1000,
        code: exchange.code,
      });
      if (exchange.audit) void finishAuditEvent(exchange.audit, exchange, res, durationMs, logger);
    });
    handleRequest(req, res, exchange, options).catch((error: unknown) => {
      exchange.failure ??= asError(error);
      exchange.code ??= codeOf(error);
      next(error);
    });
  });

  // Errors thrown above (auth, body limit, unexpected addon failures) answer Backstage's error
  // JSON from here, so a legacy or plain express host answers exactly like the new backend.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof ClientClosedError) {
      return; // nobody to answer
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = statusOf(error);
    const e = error as { name?: unknown; message?: unknown };
    const name = typeof e?.name === 'string' ? e.name : 'Error';
    const message = typeof e?.message === 'string' ? e.message : 'Unknown error';
    if (status >= 500) {
      logger.error(`proxy-sigv4: request failed with status ${status}: ${name}: ${message}`);
    }
    if (error instanceof ProxyRefusal) {
      discardRestOfBody(req, res); // a body refused before or while it was read
    }
    const code = codeOf(error);
    sendErrorJson(req, res, status, { name, message, ...(code && { code }) });
  });

  return router;
}

/** The one debug line per request. Route-independent on purpose: no path, query, header or body. */
function logRequest(logger: LoggerService, req: Request, res: Response, durationMs: number): void {
  logger.debug(`proxy-sigv4 ${req.method} ${res.statusCode} ${durationMs.toFixed(1)}ms`, {
    method: req.method,
    status: res.statusCode,
    durationMs,
    ...(!res.writableFinished && { aborted: true }),
  });
}

async function handleRequest(req: Request, res: Response, exchange: Exchange, options: BuildOptions): Promise<void> {
  const { logger, auditor } = options;
  // A config reload mid-request must not change the rules (or the proxy) this request runs on.
  const { proxy, routes, allowUnauthenticatedRequests, auditEvents } = options.routes();
  // The addon decides once: the route (whose policy applies here and which `handle` serves) and
  // how to take the body. No route (route < 0): the global policy, so that anonymous callers
  // cannot probe route names (401 before 404).
  const plan = proxy.planRequest(req.url, req.headers['content-length'], req.headers['transfer-encoding'] !== undefined);
  const route = routes[plan.route] ?? null;
  exchange.route = route?.key;

  // (1) Authentication, per route. The new backend's credentials barrier may already have run,
  // but its unauthenticated policies are prefix matches (an open `/a` also opens a route
  // `/a/b`), so this check is the authoritative one; it also makes the router safe on its own
  // (legacy mounting) and is cheap (credentials are cached per request).
  if (requiresCredentials(route, allowUnauthenticatedRequests)) {
    await authenticate(req, options.httpAuth);
  }
  if (res.destroyed) return; // the client left while it was being authenticated

  if (auditor && isAudited(auditEvents, req.method)) {
    exchange.audit = startAuditEvent(auditor, req, route?.key ?? null, logger);
  }

  // (2) The body, as the addon planned it (refused unread: 411, 413 from its content-length).
  if (plan.refusal) throw new ProxyRefusal(plan.refusal);
  const body = await outgoingBody(req, res, proxy, plan);
  try {
    await exchangeWithUpstream(req, res, exchange, proxy, plan.route, body, logger);
  } finally {
    // The addon lets go of a streamed body it refused, or that the upstream answered before
    // reading to the end, without consuming the rest: drain it, or the client may lose the answer.
    if (body.streamed) body.upload.release();
  }
}

/** Steps (3) to (5): the addon's exchange with the upstream, and the answer to the client. */
async function exchangeWithUpstream(
  req: Request,
  res: Response,
  exchange: Exchange,
  proxy: SigV4Proxy,
  route: number,
  body: OutgoingBody,
  logger: LoggerService,
): Promise<void> {
  // The audit record says "initiated" before anything goes upstream.
  await exchange.audit;

  // (3) Proxy. The signal is cancelled if the client goes away before the response finished
  // (see buildRouter); while the body streams, pipeline() below also cancels the body stream.
  const cancel = new CancelSignal();
  exchange.cancel = cancel;
  if (res.destroyed) cancel.cancel();
  const response = await send(proxy, route, req, body, cancel);

  // (4) The proxy itself answers (bad path, no route, method not allowed, upstream unreachable...).
  const proxyError = response.error;
  if (proxyError) {
    exchange.failure = Object.assign(new Error(proxyError.message), { name: proxyError.name });
    exchange.code = proxyError.code;
    answerProxyError(req, res, response, proxyError, logger);
    return;
  }

  // (5) The upstream's answer, streamed.
  await streamResponse(req, res, response, exchange);
}

/**
 * The body as the addon planned it: streamed to the upstream unheld (routes with
 * `unsignedPayload`, its declared length already checked), or read raw, for every content type,
 * up to the route's limit: the addon signs exactly these bytes.
 */
async function outgoingBody(req: Request, res: Response, proxy: SigV4Proxy, plan: RequestPlan): Promise<OutgoingBody> {
  if (plan.streamLength !== undefined && plan.streamLength !== null) {
    return { streamed: true, length: plan.streamLength, upload: streamRequestBody(req, res) };
  }
  const tooLarge = (length: number) => {
    const refusal = proxy.bodyRefusal(plan.route, length);
    return refusal ? new ProxyRefusal(refusal) : new Error(`proxy-sigv4: a body of ${length} bytes was cut short`);
  };
  return { streamed: false, bytes: await readRawBody(req, plan.bodyLimit, tooLarge) };
}

/** Hands the request to the addon on its planned route, its body read whole or streamed from `req`. */
function send(
  proxy: SigV4Proxy,
  route: number,
  req: Request,
  body: OutgoingBody,
  cancel: CancelSignal,
): Promise<ProxyResponse> {
  const request = { method: req.method, url: req.url, headers: req.rawHeaders };
  if (!body.streamed) return proxy.handle(route, { ...request, body: body.bytes }, cancel);
  return proxy.handleStream(route, request, body.length, body.upload.stream, cancel);
}

/** Requires user or service credentials (throws AuthenticationError / NotAllowedError otherwise). */
async function authenticate(req: Request, httpAuth: HttpAuthService | undefined): Promise<void> {
  if (!httpAuth) {
    // Unreachable: createRouter refuses to start without httpAuth when any request can need it.
    throw new Error('proxy-sigv4: credentials are required but the router has no httpAuth');
  }
  await httpAuth.credentials(req, { allow: ['user', 'service'] });
}

/** Backstage's error JSON with the proxy's status, plus the headers it needs (`Allow` with 405). */
function answerProxyError(
  req: Request,
  res: Response,
  response: ProxyResponse,
  error: ProxyErrorInfo,
  logger: LoggerService,
): void {
  if (response.status >= 500) {
    logger.warn(`proxy-sigv4: ${error.code}: ${error.message}`);
  }
  if (res.destroyed) return;
  setHeaders(res, response.headers);
  sendErrorJson(req, res, response.status, error);
}

/** Writes the upstream's status and headers, then pipes its body with backpressure. */
async function streamResponse(req: Request, res: Response, response: ProxyResponse, exchange: Exchange): Promise<void> {
  // The body passes through as the upstream sent it: Backstage's root router runs the
  // `compression` middleware, which would re-encode it and hold back a streamed body until its
  // buffer fills. compression decides when the head is written, from the request's
  // accept-encoding; the addon already has the raw headers, so drop it here.
  delete req.headers['accept-encoding'];
  res.status(response.status);
  setHeaders(res, response.headers);
  // A small body the addon read whole: no stream to set up for it.
  const complete = response.takeCompleteBody();
  if (complete) {
    res.end(complete);
    return;
  }
  const stream = response.takeBody();
  if (!stream || res.destroyed) {
    if (stream) await stream.cancel().catch(() => undefined);
    res.end();
    return;
  }
  try {
    // pipeline() destroys `res` if the upstream stream errors, so a truncated body is never
    // ended cleanly; if the client goes away it destroys (cancels) the upstream stream.
    await pipeline(Readable.fromWeb(stream as unknown as NodeWebReadableStream<Uint8Array>), res);
  } catch {
    if (!res.destroyed) res.destroy();
    exchange.failure = new Error('the response body was not completed');
  }
}

/**
 * Sets the addon's (already filtered) headers; repeated names become arrays. A
 * Content-Security-Policy is added beside the one Backstage's root router set, never in its
 * place: browsers enforce every CSP header, so a response can only be held tighter.
 */
function setHeaders(res: Response, flat: readonly string[]): void {
  for (const [name, values] of groupHeaders(flat)) {
    const own = name === 'content-security-policy' ? res.getHeader(name) : undefined;
    const all = own === undefined ? values : [...[own].flat().map(String), ...values];
    res.setHeader(name, all.length === 1 ? all[0] : all);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** An error's stable `code` (e.g. `PAYLOAD_TOO_LARGE`), if it has one. */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Groups flat `[name, value, ...]` pairs by lower-cased name, keeping order of values. */
export function groupHeaders(flat: readonly string[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    const values = grouped.get(name);
    if (values) values.push(flat[i + 1]);
    else grouped.set(name, [flat[i + 1]]);
  }
  return grouped;
}
