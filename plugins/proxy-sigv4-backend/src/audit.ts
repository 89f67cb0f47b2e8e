import type { Request, Response } from 'express';
import type { AuditorService, AuditorServiceEvent, LoggerService } from '@backstage/backend-plugin-api';

/**
 * `proxysigv4.auditEvents`: which proxied requests get an audit event. `all` (the default), only
 * `mutations` (every method but GET, HEAD and OPTIONS), or `none`. The addon validates the value
 * with the rest of the config.
 */
export type AuditEvents = 'all' | 'mutations' | 'none';

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a request with this method gets an audit event under `mode`. */
export function isAudited(mode: AuditEvents, method: string): boolean {
  return mode === 'all' || (mode === 'mutations' && !SAFE_METHODS.has(method));
}

/** What closing an event needs to know about how the request ended. */
export interface AuditOutcome {
  /** Why the proxy did not deliver the upstream's answer (unset on success). */
  failure?: Error;
  /** The stable code of the proxy's own error answer, if any. */
  code?: string;
}

/**
 * Opens the request's audit event (the auditor adds the caller's principal, ip and user agent
 * from `req`). Meta never holds headers, the query or bodies; a failing auditor never fails the
 * request.
 */
export async function startAuditEvent(
  auditor: AuditorService,
  req: Request,
  route: string | null,
  logger: LoggerService,
): Promise<AuditorServiceEvent | undefined> {
  try {
    return await auditor.createEvent({
      eventId: 'proxy-request',
      severityLevel: 'low',
      request: req,
      meta: { route, method: req.method, path: pathOf(req.url) },
    });
  } catch (error) {
    logger.warn(`proxy-sigv4: could not create audit event: ${(error as Error)?.message}`);
    return undefined;
  }
}

/** Closes the request's audit event with its status and duration, once the response is over. */
export async function finishAuditEvent(
  event: Promise<AuditorServiceEvent | undefined>,
  outcome: AuditOutcome,
  res: Response,
  durationMs: number,
  logger: LoggerService,
): Promise<void> {
  const opened = await event;
  if (!opened) return;
  const meta = {
    status: res.headersSent ? res.statusCode : null,
    durationMs,
    ...(outcome.code && { code: outcome.code }),
  };
  const failure =
    outcome.failure ?? (res.writableFinished ? undefined : new Error('the client went away before the response was complete'));
  try {
    if (failure) await opened.fail({ error: failure, meta });
    else await opened.success({ meta });
  } catch (error) {
    logger.warn(`proxy-sigv4: could not record audit event: ${(error as Error)?.message}`);
  }
}

/** The path of a raw request URL, without its query. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
