// Shared test set-up: demo AWS credentials, the repository's verifying upstream (an independent
// SigV4 checker that records what it received), and a Backstage test backend running the plugin.
import net from 'node:net';
import path from 'node:path';
import type { JsonObject } from '@backstage/types';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import type { RootLifecycleService } from '@backstage/backend-plugin-api';
import { createBackend } from '@backstage/backend-defaults';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';

export const ACCESS_KEY_ID = 'AKIDTESTPROXYSIGV4EX';
export const SECRET_ACCESS_KEY = 'test-secret-key-for-proxy-sigv4-plugin-tests';

// The addon reads the default credential chain lazily (on the first proxied request), so the
// environment set here, before any backend starts, is what it signs with.
process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
process.env.AWS_SECRET_ACCESS_KEY = SECRET_ACCESS_KEY;
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_CONFIG_FILE = '/nonexistent/proxy-sigv4-test/config';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/proxy-sigv4-test/credentials';

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

interface VerifyingUpstreamModule {
  startVerifyingUpstream(options: { keys: Map<string, string>; strict?: boolean }): Promise<VerifyingUpstream>;
}

/** The repository root (backstage-plugin/..), where the addon and __test__/ live. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Starts the strict verifying upstream: 403 on a bad signature, a JSON echo otherwise. */
export function startUpstream(): Promise<VerifyingUpstream> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(REPO_ROOT, '__test__', 'support', 'verifying-upstream.js')) as VerifyingUpstreamModule;
  return mod.startVerifyingUpstream({ keys: new Map([[ACCESS_KEY_ID, SECRET_ACCESS_KEY]]), strict: true });
}

/** An expanded route to `upstream` (loopback targets need service and region explicitly). */
export function routeTo(upstream: VerifyingUpstream, basePath = '/base'): JsonObject {
  return { target: `${upstream.url}${basePath}`, service: 'execute-api', region: 'us-east-1' };
}

/**
 * A root lifecycle that the test holds on to: a backend whose startup fails is never returned by
 * startTestBackend, yet its HTTP server is already listening; shutting this down closes it.
 */
class TestRootLifecycle implements RootLifecycleService {
  #startup: Array<() => void | Promise<void>> = [];
  #beforeShutdown: Array<() => void | Promise<void>> = [];
  #shutdown: Array<() => void | Promise<void>> = [];
  #stopped = false;

  addStartupHook(hook: () => void | Promise<void>): void {
    this.#startup.push(hook);
  }
  addBeforeShutdownHook(hook: () => void | Promise<void>): void {
    this.#beforeShutdown.push(hook);
  }
  addShutdownHook(hook: () => void | Promise<void>): void {
    this.#shutdown.push(hook);
  }
  async startup(): Promise<void> {
    for (const hook of this.#startup) await hook();
  }
  async beforeShutdown(): Promise<void> {
    for (const hook of this.#beforeShutdown.splice(0)) await hook();
  }
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const hook of this.#shutdown.splice(0)) await hook();
  }
}

export interface TestProxyBackend {
  /** http://127.0.0.1:PORT/api/proxy-sigv4 */
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts a Backstage test backend with the plugin and `config` as the whole app config.
 * httpAuth as in production: a request without a token is unauthenticated (mockCredentials.none),
 * `Authorization: Bearer mock-user-token` is a user, `Bearer mock-service-token` a service.
 * On a startup failure the backend's server is closed before the error is rethrown.
 */
export async function startProxyBackend(config: JsonObject): Promise<TestProxyBackend> {
  const lifecycle = new TestRootLifecycle();
  let backend;
  try {
    backend = await startTestBackend({
      features: [
        import('../index'),
        mockServices.rootConfig.factory({ data: config }),
        mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
        createServiceFactory({
          service: coreServices.rootLifecycle,
          deps: {},
          factory: () => lifecycle,
        }),
      ],
    });
  } catch (error) {
    await lifecycle.beforeShutdown();
    await lifecycle.shutdown();
    throw error;
  }
  const started = backend;
  return {
    baseUrl: `http://127.0.0.1:${started.server.port()}/api/proxy-sigv4`,
    // Idle keep-alive connections of fetch() would hold server.close() for seconds.
    stop: async () => {
      started.server.closeAllConnections();
      await started.stop();
    },
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
  return { baseUrl: `http://127.0.0.1:${port}/api/proxy-sigv4`, stop: () => backend.stop() };
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
