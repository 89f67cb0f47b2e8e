/**
 * `POST /api/proxy-sigv4/.credentials`: temporary AWS credentials for a signed-in user (what
 * Roadie's aws-auth backend serves), made safe. Off unless `proxysigv4.temporaryCredentials` is
 * configured; route keys cannot start with `/.`, so no route can take the path.
 *
 * Backstage decides who the caller is (users; services only when config says so), whether the
 * permission allows that caller the role (`proxy-sigv4.temporary-credentials.issue`, a resource
 * permission whose resource is the role ARN), and how often one caller may ask. The addon decides
 * which roles and durations config allows (a role it does not list is refused even where the
 * permission allows it), and makes a fresh STS session named after the caller.
 * Every request gets one audit event, issued or refused.
 */
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type {
  AuditorService,
  BackstageCredentials,
  BackstagePrincipalTypes,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import { AuthorizeResult, createPermission } from '@backstage/plugin-permission-common';
import type { SigV4Proxy } from 'proxy-sigv4-native';
import { ProxyRefusal } from './errors';

/** The path below the plugin's mount point. */
export const CREDENTIALS_PATH = '/.credentials';

/** The resource type of {@link temporaryCredentialsPermission}: an IAM role, by its ARN. */
export const AWS_ROLE_RESOURCE_TYPE = 'proxy-sigv4-aws-role';

/**
 * Whether a caller may have temporary credentials of a role: authorized per request with the
 * role ARN as `resourceRef`, so a permission policy can allow each role to its own group.
 */
export const temporaryCredentialsPermission = createPermission({
  name: 'proxy-sigv4.temporary-credentials.issue',
  attributes: { action: 'read' },
  resourceType: AWS_ROLE_RESOURCE_TYPE,
});

export interface TemporaryCredentialsOptions {
  /** The proxy in force (a reload replaces it). */
  proxy: () => SigV4Proxy;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor?: AuditorService;
}

/** The request body: which role, and optionally for how long (900 s up to the role's maximum). */
interface CredentialsRequest {
  roleArn: string;
  durationSeconds?: number;
}

/** Refusals with a status of their own; their `name` goes into Backstage's error JSON. */
class TooManyRequestsError extends Error {
  readonly name = 'TooManyRequestsError';
  readonly statusCode = 429;
  readonly code = 'RATE_LIMITED';
  constructor(readonly retryAfterSeconds: number) {
    super('too many requests for temporary credentials; try again later');
  }
}

/** The router serving {@link CREDENTIALS_PATH}; other paths pass through to the proxy. */
export function temporaryCredentialsRouter(options: TemporaryCredentialsOptions): express.Router {
  const router = express.Router();
  const limits = new PerCallerRateLimit();
  // Read as text and parsed here, so that a body that is not JSON is a refusal with its audit event.
  router.post(CREDENTIALS_PATH, express.text({ type: () => true, limit: '8kb' }), (req: Request, res: Response, next: NextFunction) => {
    const settings = options.proxy().temporaryCredentials;
    if (!settings) {
      next(); // not configured: the path is no more than any path without a route
      return;
    }
    issueFor(req, res, options, settings, limits).catch(next);
  });
  return router;
}

async function issueFor(
  req: Request,
  res: Response,
  options: TemporaryCredentialsOptions,
  settings: NonNullable<SigV4Proxy['temporaryCredentials']>,
  limits: PerCallerRateLimit,
): Promise<void> {
  const body = jsonOrUndefined(req.body);
  const roleArn = typeof body?.roleArn === 'string' ? body.roleArn : undefined;
  const audit = await options.auditor?.createEvent({
    eventId: 'temporary-credentials',
    severityLevel: 'medium',
    request: req,
    meta: { ...(roleArn && { roleArn }) },
  });
  try {
    const allow: Array<keyof BackstagePrincipalTypes> = settings.allowServicePrincipals ? ['user', 'service'] : ['user'];
    const credentials = await options.httpAuth.credentials(req, { allow });
    const principal = principalRef(credentials);
    const wait = limits.take(principal, settings.requestsPerMinute);
    if (wait !== undefined) throw new TooManyRequestsError(wait);
    const request = parseRequest(body);
    const [decision] = await options.permissions.authorize(
      [{ permission: temporaryCredentialsPermission, resourceRef: request.roleArn }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw Object.assign(new NotAllowedError('the permission policy does not allow these credentials'), { code: 'NOT_ALLOWED' });
    }
    const answer = await options.proxy().issueTemporaryCredentials({ ...request, principal });
    if (!answer.credentials) throw new ProxyRefusal(answer.refusal!);
    const issued = answer.credentials;
    const expiration = new Date(issued.expiration).toISOString();
    res.set({ 'cache-control': 'no-store', pragma: 'no-cache' }).json({
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
      expiration,
    });
    await audit?.success({ meta: { principal, expiration } });
  } catch (error) {
    if (error instanceof TooManyRequestsError) res.set('retry-after', String(error.retryAfterSeconds));
    res.set('cache-control', 'no-store');
    await audit?.fail({ error: error as Error });
    throw error;
  }
}

function jsonOrUndefined(text: unknown): Record<string, unknown> | undefined {
  try {
    const value: unknown = typeof text === 'string' ? JSON.parse(text) : undefined;
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function parseRequest(body: Record<string, unknown> | undefined): CredentialsRequest {
  const { roleArn, durationSeconds } = body ?? {};
  if (typeof roleArn !== 'string') throw new InputError('the body must be JSON with a roleArn');
  if (durationSeconds !== undefined && typeof durationSeconds !== 'number') {
    throw new InputError('durationSeconds must be a number of seconds');
  }
  return { roleArn, ...(durationSeconds !== undefined && { durationSeconds }) };
}

/** The caller as an entity ref: the user's, or `service:<subject>` for a service. */
function principalRef(credentials: BackstageCredentials): string {
  const principal = credentials.principal as { type?: string; userEntityRef?: string; subject?: string };
  if (principal.type === 'user' && principal.userEntityRef) return principal.userEntityRef;
  if (principal.type === 'service' && principal.subject) return `service:${principal.subject}`;
  throw new NotAllowedError('the caller has no identity to name a session after');
}

/**
 * At most `perMinute` requests per caller in any 60 s; answers how many seconds to wait when
 * over. In memory, per backend instance: a fleet of N backends allows N times as many.
 */
class PerCallerRateLimit {
  private readonly seen = new Map<string, number[]>();

  take(caller: string, perMinute: number, now = Date.now()): number | undefined {
    const recent = (this.seen.get(caller) ?? []).filter((at) => at > now - 60_000);
    if (recent.length >= perMinute) {
      this.seen.set(caller, recent);
      return Math.max(1, Math.ceil((recent[0] + 60_000 - now) / 1000));
    }
    recent.push(now);
    this.seen.set(caller, recent);
    this.forgetIdle(now);
    return undefined;
  }

  /** Drops callers with nothing in the last minute, so the map does not grow without bound. */
  private forgetIdle(now: number): void {
    if (this.seen.size < 1024) return;
    for (const [caller, times] of this.seen) {
      if (times.every((at) => at <= now - 60_000)) this.seen.delete(caller);
    }
  }
}
