// Shared test set-up: demo AWS credentials, the repository's verifying upstream (an independent
// SigV4 checker that records what it received), and a Backstage test backend running the plugin.
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import assert from 'node:assert/strict';
import type { JsonObject } from '@backstage/types';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import type { LoggerService, RootLoggerService } from '@backstage/backend-plugin-api';
import { createBackend } from '@backstage/backend-defaults';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import type { startTestBackend } from '@backstage/backend-test-utils';

export const ACCESS_KEY_ID = 'AKIDTESTPROXYSIGV4EX';
export const SECRET_ACCESS_KEY = 'test-secret-key-for-proxy-sigv4-plugin-tests';

/** The repository root (plugins/proxy-sigv4-backend/../..), where __test__/ lives. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

// The addon reads the default credential chain lazily (on the first proxied request), so the
// environment set here, before any backend starts, is what it signs with.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const awsEnv = require(path.join(REPO_ROOT, '__test__', 'support', 'aws-env.js')) as {
  useStaticCredentials(credentials: { accessKeyId: string; secretAccessKey: string }): void;
};
awsEnv.useStaticCredentials({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });

/** One request as the verifying upstream recorded it (see __test__/support/verifying-upstream.js). */
export interface UpstreamRecord {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: Buffer;
  signature: { valid: boolean; reason?: string; accessKeyId?: string; service?: string; region?: string };
  aborted: boolean;
  bytesWritten?: number;
}

export interface VerifyingUpstream {
  url: string;
  port: number;
  requests: UpstreamRecord[];
  connections(): number;
  reset(): void;
  close(): Promise<void>;
}

/** A server key and certificate, PEM. */
export interface ServerTls {
  key: Buffer;
  cert: Buffer;
}

interface VerifyingUpstreamModule {
  startVerifyingUpstream(options: { keys: Map<string, string>; strict?: boolean; tls?: ServerTls }): Promise<VerifyingUpstream>;
}

/**
 * Starts the strict verifying upstream: 403 on a bad signature, a JSON echo otherwise. With
 * `tls` it serves HTTPS (its url is https://127.0.0.1:PORT).
 */
export function startUpstream(options: { tls?: ServerTls } = {}): Promise<VerifyingUpstream> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(REPO_ROOT, '__test__', 'support', 'verifying-upstream.js')) as VerifyingUpstreamModule;
  return mod.startVerifyingUpstream({ keys: new Map([[ACCESS_KEY_ID, SECRET_ACCESS_KEY]]), strict: true, tls: options.tls });
}

/** A private CA made for the test run (see __test__/support/test-ca.js). */
export interface TestCa {
  /** The temporary directory holding everything; removed by cleanup(). */
  dir: string;
  /** The CA certificate, a PEM file. */
  caFile: string;
  /** A server certificate for `subjectAltName` (`IP:127.0.0.1`, `DNS:name`), signed by the CA. */
  issue(subjectAltName: string): ServerTls;
  cleanup(): void;
}

/** Makes a fresh private CA with the openssl CLI; no key material is committed. */
export function makeTestCa(name?: string): TestCa {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(REPO_ROOT, '__test__', 'support', 'test-ca.js')) as { makeTestCa(name?: string): TestCa };
  return mod.makeTestCa(name);
}

/** A port on 127.0.0.1 with nothing listening (a connection to it is refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An expanded route to `upstream` (loopback targets need service and region explicitly). */
export function routeTo(upstream: VerifyingUpstream, basePath = '/base'): JsonObject {
  return { target: `${upstream.url}${basePath}`, service: 'execute-api', region: 'us-east-1' };
}

/** startTestBackend that closes the server of a backend whose startup fails (root-lifecycle.js). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startTestBackendClosingOnFailure } = require(path.join(REPO_ROOT, '__test__', 'support', 'root-lifecycle.js')) as {
  startTestBackendClosingOnFailure(features: Parameters<typeof startTestBackend>[0]['features']): ReturnType<typeof startTestBackend>;
};

export interface TestProxyBackend {
  /** http://127.0.0.1:PORT/api/proxy-sigv4 */
  baseUrl: string;
  port: number;
  stop(): Promise<void>;
}

/** A {@link startProxyBackend} backend, whose config can change while it runs. */
export interface ReloadableProxyBackend extends TestProxyBackend {
  /** Replaces the whole app config, as a config file change would; subscribers run at once. */
  updateConfig(config: JsonObject): void;
}

/** One line as a {@link CapturingLogger} kept it. */
export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
  /** The meta of the call (an Error for the auditor's failed events). */
  meta?: Error | JsonObject;
  /** The meta of the logger's `child()` chain, e.g. `{ plugin, isAuditEvent, ... }`. */
  fields: JsonObject;
}

/**
 * A root logger that keeps every line at every level (debug included), with its child meta:
 * the plugin's logger, the auditor (which logs through `logger.child({ isAuditEvent: true })`)
 * and the framework all write here.
 */
export class CapturingLogger implements RootLoggerService {
  constructor(
    readonly lines: LogLine[],
    private readonly fields: JsonObject = {},
  ) {}

  error(message: string, meta?: Error | JsonObject): void {
    this.lines.push({ level: 'error', message, meta, fields: this.fields });
  }
  warn(message: string, meta?: Error | JsonObject): void {
    this.lines.push({ level: 'warn', message, meta, fields: this.fields });
  }
  info(message: string, meta?: Error | JsonObject): void {
    this.lines.push({ level: 'info', message, meta, fields: this.fields });
  }
  debug(message: string, meta?: Error | JsonObject): void {
    this.lines.push({ level: 'debug', message, meta, fields: this.fields });
  }
  child(meta: JsonObject): LoggerService {
    return new CapturingLogger(this.lines, { ...this.fields, ...meta });
  }
}

/** Everything a log line holds, errors with stack and causes included, as one searchable text. */
export function logText(lines: readonly LogLine[]): string {
  return lines
    .map((line) => inspect(line, { depth: Infinity, maxArrayLength: Infinity, maxStringLength: Infinity, breakLength: Infinity }))
    .join('\n');
}

export interface ProxyBackendOptions {
  /** When given, every log line of the backend (debug level, audit events included) lands here. */
  logs?: LogLine[];
  /** More features for the backend, e.g. a service factory that replaces a mock. */
  features?: Parameters<typeof startTestBackend>[0]['features'];
}

/**
 * Starts a Backstage test backend with the plugin and `config` as the whole app config.
 * httpAuth as in production: a request without a token is unauthenticated (mockCredentials.none),
 * `Authorization: Bearer mock-user-token` is a user, `Bearer mock-service-token` a service.
 * The auditor is Backstage's own (it logs through the plugin's logger).
 * On a startup failure the backend's server is closed before the error is rethrown.
 */
export async function startProxyBackend(
  config: JsonObject,
  options: ProxyBackendOptions = {},
): Promise<ReloadableProxyBackend> {
  const logs = options.logs;
  const rootConfig = mockServices.rootConfig({ data: config });
  const started = await startTestBackendClosingOnFailure([
    import('../index'),
    createServiceFactory({ service: coreServices.rootConfig, deps: {}, factory: () => rootConfig }),
    mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
    ...(logs
      ? [createServiceFactory({ service: coreServices.rootLogger, deps: {}, factory: () => new CapturingLogger(logs) })]
      : []),
    ...(options.features ?? []),
  ]);
  return {
    baseUrl: `http://127.0.0.1:${started.server.port()}/api/proxy-sigv4`,
    port: started.server.port(),
    // Idle keep-alive connections of fetch() would hold server.close() for seconds.
    stop: async () => {
      started.server.closeAllConnections();
      await started.stop();
    },
    updateConfig: (data) => rootConfig.update({ data }),
  };
}

/**
 * Starts the production backend of @backstage/backend-defaults (its root router adds helmet,
 * cors, compression and request logging in front of every plugin; startTestBackend's is a bare
 * express app) with the plugin, on 127.0.0.1, with the same mock auth as startProxyBackend.
 */
export async function startProductionBackend(config: JsonObject): Promise<TestProxyBackend> {
  const port = await freePort();
  const backend = createBackend();
  backend.add(import('../index'));
  backend.add(
    mockServices.rootConfig.factory({
      data: { ...config, backend: { baseUrl: `http://127.0.0.1:${port}`, listen: { host: '127.0.0.1', port } } },
    }),
  );
  backend.add(mockServices.rootLogger.factory({ level: 'none' }));
  backend.add(mockServices.auth.factory());
  backend.add(mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }));
  backend.add(mockServices.database.factory());
  await backend.start();
  return { baseUrl: `http://127.0.0.1:${port}/api/proxy-sigv4`, port, stop: () => backend.stop() };
}

/** A loopback port that was free a moment ago (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const USER_TOKEN = mockCredentials.user.token();
export const SERVICE_TOKEN = mockCredentials.service.token();

/** A response's status and whole body as text. */
export function readText(res: http.IncomingMessage): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.once('error', reject);
    res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
  });
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Reads the Backstage error body of a response (fails the test if it is not JSON). */
export async function errorBody(response: Response): Promise<{
  error: { name: string; message: string; code?: string; stack?: unknown };
  request: { method: string; url: string };
  response: { statusCode: number };
}> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('application/json')) {
    throw new Error(`expected a JSON error body, got content-type '${type}': ${await response.text()}`);
  }
  return (await response.json()) as Awaited<ReturnType<typeof errorBody>>;
}

/** Waits (bounded) until `predicate` holds; fails with `what` otherwise. */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1_000 && Date.now() < deadline; i++) {
    if (predicate()) return;
    await sleep(20);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
}

/** A whole answer to a {@link rawRequest}. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Sends one request to 127.0.0.1:`port` with `path` as the request target, byte for byte:
 * http.request neither parses nor normalises it (URL-based clients such as fetch would resolve
 * dot segments and backslashes before sending). Characters U+0080..U+00FF go out as single
 * bytes, so raw UTF-8 can be given as its latin1 spelling.
 */
export function rawRequest(
  port: number,
  path: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer | string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false });
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${path} within 15 s`)));
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    // As a Buffer: with a string body Node writes the headers in the body's encoding (UTF-8).
    req.end(typeof options.body === 'string' ? Buffer.from(options.body) : options.body);
  });
}

/**
 * Sends a GET with `requestTarget` written as latin1 bytes on a plain socket and parses the
 * answer's status, headers and body: for request targets http.request refuses to send (spaces,
 * control characters). Asks for `Connection: close`, so the answer ends with the socket.
 */
export function rawSocketRequest(port: number, requestTarget: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(requestTarget)} within 15 s`)));
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...headerLines] = head.split('\r\n');
      const parsed: http.IncomingHttpHeaders = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0) parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers: parsed, body: rest.join('\r\n\r\n') });
    });
    const lines = [`GET ${requestTarget} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
  });
}
