import type { Config } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import { SigV4Proxy } from 'proxy-sigv4-native';
import type { AuditEvents } from './audit';

/** The config key this plugin reads (Segment's format: routes are the keys starting with '/'). */
export const CONFIG_KEY = 'proxysigv4';

/** What the plugin itself needs from `proxysigv4`; the routes stay raw for the addon to parse. */
export interface ProxySigV4Settings {
  /** `proxysigv4.allowUnauthenticatedRequests`; absent means false (secure by default). */
  allowUnauthenticatedRequests: boolean;
  /** `proxysigv4.auditEvents`; absent means `all`. */
  auditEvents: AuditEvents;
  /** The whole `proxysigv4` object as configured (`{}` when absent), handed to the addon. */
  raw: JsonObject;
}

/**
 * The addon's error code for a bad config. The addon contract said `InvalidConfig`; the built
 * addon throws `INVALID_CONFIG`: both are recognised.
 */
const INVALID_CONFIG = 'INVALID_CONFIG';
const INVALID_CONFIG_CODES: ReadonlySet<unknown> = new Set([INVALID_CONFIG, 'InvalidConfig']);

/** Thrown at startup when `proxysigv4` is invalid; the message names the route and key. */
export class ProxySigV4ConfigError extends Error {
  /** The addon's stable code (`INVALID_CONFIG`), also used for the checks made here. */
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    this.name = 'ProxySigV4ConfigError';
    this.code = options?.code ?? INVALID_CONFIG;
  }
}

/** Reads `proxysigv4` from the Backstage config. Absent: no routes, authentication required. */
export function readProxySigV4Settings(config: Config): ProxySigV4Settings {
  const raw = config.getOptional(CONFIG_KEY);
  if (raw === undefined || raw === null) {
    return { allowUnauthenticatedRequests: false, auditEvents: 'all', raw: {} };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ProxySigV4ConfigError(
      `Invalid ${CONFIG_KEY} configuration: ${CONFIG_KEY} must be an object of routes`,
    );
  }
  // getOptionalBoolean names the key in its own error when the value is not a boolean.
  let allowUnauthenticatedRequests: boolean;
  try {
    allowUnauthenticatedRequests =
      config.getOptionalBoolean(`${CONFIG_KEY}.allowUnauthenticatedRequests`) ?? false;
  } catch (error) {
    throw new ProxySigV4ConfigError(
      `Invalid ${CONFIG_KEY} configuration: ${CONFIG_KEY}.allowUnauthenticatedRequests must be a boolean`,
      { cause: error },
    );
  }
  // Backstage's boolean reading also accepts 'true'/'yes'/'1'... (e.g. from ${ENV} substitution):
  // hand the addon the normalised boolean so both agree.
  const normalised: JsonObject = { ...(raw as JsonObject) };
  if ('allowUnauthenticatedRequests' in normalised) {
    normalised.allowUnauthenticatedRequests = allowUnauthenticatedRequests;
  }
  // Any other value is refused by the addon when it reads the config, naming the key.
  const auditEvents = (typeof normalised.auditEvents === 'string' ? normalised.auditEvents : 'all') as AuditEvents;
  return { allowUnauthenticatedRequests, auditEvents, raw: normalised };
}

/**
 * Builds the addon's proxy from the raw config. Route parsing and validation live in the addon
 * (one place for every caller); its `INVALID_CONFIG` error becomes a startup failure that keeps
 * the addon's message, which names the route and key (e.g. `proxysigv4./svc.target: ...`).
 */
export function createSigV4Proxy(settings: ProxySigV4Settings): SigV4Proxy {
  try {
    return new SigV4Proxy(settings.raw);
  } catch (error) {
    const err = error as { code?: unknown; message?: unknown };
    if (err && INVALID_CONFIG_CODES.has(err.code)) {
      throw new ProxySigV4ConfigError(`Invalid ${CONFIG_KEY} configuration: ${String(err.message)}`, {
        cause: error,
        code: String(err.code),
      });
    }
    throw error;
  }
}
