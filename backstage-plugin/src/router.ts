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
} from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import { CancelSignal } from 'proxy-sigv4-native';
import type { ProxyResponse, SigV4Proxy } from 'proxy-sigv4-native';
import { ClientClosedError, DEFAULT_BODY_LIMIT_BYTES, readRawBody } from './body';
import { createSigV4Proxy, readProxySigV4Settings } from './config';
import { sendErrorJson, statusOf } from './errors';

/** Options of {@link createRouter}. */
export interface RouterOptions {
  logger: LoggerService;
  config: Config;
  /**
   * Resolves Backstage credentials from requests. Required unless
   * `proxysigv4.allowUnauthenticatedRequests` is true (see {@link createRouter}).
   */
  httpAuth?: HttpAuthService;
  /** Emits one audit event per proxied request when given. */
  auditor?: AuditorService;
  /** Accepted for signature compatibility with other legacy plugins; not used. */
  discovery?: DiscoveryService;
}

/** Internal knobs, for tests. */
export interface RouterInternals {
  bodyLimitBytes?: number;
}

/**
 * Creates the proxy's express router: every request under it is authenticated, read raw, signed
 * and forwarded by the addon, and its response streamed back.
 *
 * Legacy backends (`apiRouter.use('/proxy-sigv4', await createRouter({ logger, config, httpAuth }))`):
 * the router enforces authentication itself, so it needs `httpAuth`. Decision: Backstage's only
 * compat helper that builds one (`createLegacyAuthAdapters`) lives in the deprecated
 * `@backstage/backend-common`, which is heavy and no longer part of the current release line, so
 * this package does not depend on it. Without `httpAuth`, createRouter refuses to start unless
 * `proxysigv4.allowUnauthenticatedRequests` is true: a proxy holding AWS credentials never
 * silently serves anonymous callers.
 */
export async function createRouter(
  options: RouterOptions,
  internals: RouterInternals = {},
): Promise<express.Router> {
  const { logger, config, httpAuth, auditor } = options;
  const settings = readProxySigV4Settings(config);
  if (!settings.allowUnauthenticatedRequests && !httpAuth) {
    throw new Error(
      'proxy-sigv4: createRouter needs `httpAuth` to authenticate requests (pass ' +
        '`httpAuth` from the backend, e.g. createLegacyAuthAdapters(env).httpAuth in a legacy ' +
        'backend), or set proxysigv4.allowUnauthenticatedRequests: true to serve anyone',
    );
  }
  const proxy = createSigV4Proxy(settings);
  const routes = proxy.routes;
  if (routes.length === 0) {
    logger.info('proxy-sigv4: no routes configured (proxysigv4 is empty or absent)');
  } else {
    logger.info(`proxy-sigv4: serving routes ${routes.join(', ')}`);
  }
  if (settings.allowUnauthenticatedRequests) {
    logger.warn('proxy-sigv4: allowUnauthenticatedRequests is true: requests need no credentials');
  }

  return buildRouter({
    proxy,
    logger,
    auditor,
    httpAuth: settings.allowUnauthenticatedRequests ? undefined : httpAuth,
    bodyLimitBytes: internals.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
  });
}

interface BuildOptions {
  proxy: SigV4Proxy;
  logger: LoggerService;
  auditor?: AuditorService;
  /** When set, user or service credentials are required. */
  httpAuth?: HttpAuthService;
  bodyLimitBytes: number;
}

function buildRouter({ proxy, logger, auditor, httpAuth, bodyLimitBytes }: BuildOptions): express.Router {
  const router = express.Router();

  router.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      // Route-independent on purpose: no path, query, header or body ever reaches the log.
      logger.debug(`proxy-sigv4 ${req.method} ${res.statusCode} ${durationMs.toFixed(1)}ms`, {
        method: req.method,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 10) / 10,
        ...(!res.writableFinished && { aborted: true }),
      });
    });
    handleRequest(req, res, { proxy, logger, auditor, httpAuth, bodyLimitBytes }).catch(next);
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
    const e = error as { name?: unknown; message?: unknown; code?: unknown };
    const name = typeof e?.name === 'string' ? e.name : 'Error';
    const message = typeof e?.message === 'string' ? e.message : 'Unknown error';
    if (status >= 500) {
      logger.error(`proxy-sigv4: request failed with status ${status}: ${name}: ${message}`);
    }
    if (status === 413) {
      discardRestOfBody(req);
    }
    sendErrorJson(req, res, status, {
      name,
      message,
      ...(typeof e?.code === 'string' && { code: e.code }),
    });
  });

  return router;
}

async function handleRequest(
  req: Request,
  res: Response,
  { proxy, logger, auditor, httpAuth, bodyLimitBytes }: BuildOptions,
): Promise<void> {
  // (1) Authentication. The new backend's credentials barrier already ran; this check makes the
  // router safe on its own (legacy mounting) and is cheap (credentials are cached per request).
  if (httpAuth) {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
  }

  // (2) The raw body, for every content type: the addon signs exactly these bytes.
  const body = await readRawBody(req, bodyLimitBytes);

  const auditEvent = await startAuditEvent(auditor, req, logger);

  // (3) Proxy. The signal is cancelled if the client goes away before the response finished;
  // while the body streams, pipeline() below also cancels the body stream itself.
  const cancel = new CancelSignal();
  res.once('close', () => {
    if (!res.writableFinished) cancel.cancel();
  });
  let response: ProxyResponse;
  try {
    response = await proxy.handle(
      { method: req.method, url: req.url, headers: req.rawHeaders, body },
      cancel,
    );
  } catch (error) {
    await finishAuditEvent(auditEvent, logger, { error: error as Error });
    throw error;
  }

  // (5) The proxy itself answers (bad path, no route, upstream unreachable, no credentials...).
  const proxyError = response.error;
  if (proxyError) {
    if (response.status >= 500) {
      logger.warn(`proxy-sigv4: ${proxyError.code}: ${proxyError.message}`);
    }
    await finishAuditEvent(auditEvent, logger, {
      error: Object.assign(new Error(proxyError.message), { name: proxyError.name }),
      meta: { status: response.status, code: proxyError.code },
    });
    if (res.destroyed) return;
    sendErrorJson(req, res, response.status, proxyError);
    return;
  }

  // (4) Status and headers (already filtered by the addon), then the body with backpressure.
  // The body passes through as the upstream sent it: Backstage's root router runs the
  // `compression` middleware, which would re-encode it and hold back a streamed body until its
  // buffer fills. compression decides when the head is written, from the request's
  // accept-encoding; the addon already has the raw headers, so drop it here.
  delete req.headers['accept-encoding'];
  res.status(response.status);
  for (const [name, values] of groupHeaders(response.headers)) {
    res.setHeader(name, values.length === 1 ? values[0] : values);
  }
  const stream = response.takeBody();
  if (!stream || res.destroyed) {
    if (stream) await stream.cancel().catch(() => undefined);
    res.end();
    await finishAuditEvent(auditEvent, logger, { meta: { status: response.status } });
    return;
  }
  try {
    // pipeline() destroys `res` if the upstream stream errors, so a truncated body is never
    // ended cleanly; if the client goes away it destroys (cancels) the upstream stream.
    await pipeline(Readable.fromWeb(stream as unknown as NodeWebReadableStream<Uint8Array>), res);
    await finishAuditEvent(auditEvent, logger, { meta: { status: response.status } });
  } catch (error) {
    if (!res.destroyed) res.destroy();
    const aborted = !res.writableFinished;
    await finishAuditEvent(auditEvent, logger, {
      error: new Error(aborted ? 'response body was not completed' : String(error)),
      meta: { status: response.status },
    });
  }
}

/** How long a refused (413) body may keep arriving after the answer before the socket is cut. */
const DISCARD_LINGER_MS = 5_000;

/**
 * After a 413, reads and drops the rest of the body instead of closing at once: closing a socket
 * with unread input resets the connection, and the client may then lose the 413 itself. A client
 * that keeps sending longer than DISCARD_LINGER_MS after the answer loses its connection.
 */
function discardRestOfBody(req: Request): void {
  if (req.readableEnded) return;
  const socket = req.socket;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (timer) clearTimeout(timer);
  };
  req.once('end', stop);
  req.once('close', stop);
  req.res?.once('finish', () => {
    if (req.readableEnded) return;
    timer = setTimeout(() => socket.destroy(), DISCARD_LINGER_MS);
    timer.unref();
  });
  req.resume();
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

async function startAuditEvent(
  auditor: AuditorService | undefined,
  req: Request,
  logger: LoggerService,
): Promise<AuditorServiceEvent | undefined> {
  if (!auditor) return undefined;
  try {
    return await auditor.createEvent({
      eventId: 'proxy-request',
      severityLevel: 'low',
      request: req,
      meta: { method: req.method },
    });
  } catch (error) {
    logger.warn(`proxy-sigv4: could not create audit event: ${(error as Error)?.message}`);
    return undefined;
  }
}

async function finishAuditEvent(
  event: AuditorServiceEvent | undefined,
  logger: LoggerService,
  outcome: { error?: Error; meta?: { status: number; code?: string } },
): Promise<void> {
  if (!event) return;
  try {
    if (outcome.error) await event.fail({ error: outcome.error, meta: outcome.meta });
    else await event.success({ meta: outcome.meta });
  } catch (error) {
    logger.warn(`proxy-sigv4: could not record audit event: ${(error as Error)?.message}`);
  }
}
