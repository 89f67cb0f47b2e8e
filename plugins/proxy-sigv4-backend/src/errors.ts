import type { Request, Response } from 'express';
import { serializeError } from '@backstage/errors';
import type { ProxyErrorInfo } from 'proxy-sigv4-native';

/**
 * An answer the addon decided before the upstream was asked (e.g. 411, 413 for the body), thrown
 * so it reaches Backstage's error JSON like any other error. Status, name, code and message are
 * the addon's: none of them is decided here.
 */
export class ProxyRefusal extends Error {
  readonly statusCode: number;
  readonly code: string;

  constructor(info: ProxyErrorInfo) {
    super(info.message);
    this.name = info.name;
    this.statusCode = info.status;
    this.code = info.code;
  }
}

/** The JSON body Backstage's error middleware (MiddlewareFactory.error) answers with. */
export interface BackstageErrorBody {
  error: { name: string; message: string; code?: string; [key: string]: unknown };
  request: { method: string; url: string };
  response: { statusCode: number };
}

/**
 * The status Backstage's error middleware gives an error: a numeric `statusCode`/`status` field,
 * else the @backstage/errors class name, else 500. Mirrored here so the router answers the same
 * way whether it runs in the new backend or in a legacy/plain express app. It is Backstage's
 * rule for Backstage's errors (httpAuth throws AuthenticationError without a status); the
 * addon's own answers always carry their status.
 */
export function statusOf(error: unknown): number {
  const e = error as Record<string, unknown> | undefined;
  for (const field of ['statusCode', 'status']) {
    const value = e?.[field];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599) {
      return value;
    }
  }
  switch (e?.name) {
    case 'NotModifiedError':
      return 304;
    case 'InputError':
      return 400;
    case 'AuthenticationError':
      return 401;
    case 'NotAllowedError':
      return 403;
    case 'NotFoundError':
      return 404;
    case 'ConflictError':
      return 409;
    case 'NotImplementedError':
      return 501;
    case 'ServiceUnavailableError':
      return 503;
    default:
      return 500;
  }
}

/**
 * Answers `status` with Backstage's error body. `url` is `req.url` as this router sees it, as
 * Backstage's plugin-level error middleware reports it. Never includes a stack.
 */
export function sendErrorJson(
  req: Request,
  res: Response,
  status: number,
  error: { name: string; message: string; code?: string },
): void {
  const err = Object.assign(new Error(error.message), { name: error.name });
  if (error.code !== undefined) Object.assign(err, { code: error.code });
  const body: BackstageErrorBody = {
    error: serializeError(err, { includeStack: false }) as BackstageErrorBody['error'],
    request: { method: req.method, url: req.url },
    response: { statusCode: status },
  };
  res.status(status).json(body);
}
