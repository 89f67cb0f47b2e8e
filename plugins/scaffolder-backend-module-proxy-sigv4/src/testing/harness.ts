// Test set-up: moto with signature checks as the default chain's AWS (S3, DynamoDB and STS), and
// a real scaffolder backend with this module, a template in a catalog, and tasks run through the
// scaffolder's REST API as a user would start them.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { JsonObject } from '@backstage/types';
import { mockServices } from '@backstage/backend-test-utils';
import type { startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import knexFactory from 'knex';

/** The repository root (plugins/<package>/src/testing/../../../..), where __test__/ lives. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

export interface EnforcingMoto {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const support = (name: string) => require(path.join(REPO_ROOT, '__test__', 'support', name));
const { motoAvailable } = support('moto.js') as { motoAvailable(): boolean };
/** See __test__/support/moto-enforcing.js. */
export const { startMotoAsDefaultChain, createMotoRole } = support('moto-enforcing.js') as {
  startMotoAsDefaultChain(): Promise<EnforcingMoto>;
  createMotoRole(moto: EnforcingMoto, name: string): string;
};
/** startTestBackend that closes the server of a backend whose startup fails (root-lifecycle.js). */
const { startTestBackendClosingOnFailure } = support('root-lifecycle.js') as {
  startTestBackendClosingOnFailure(
    features: Parameters<typeof startTestBackend>[0]['features'],
    options?: { cleanup?: () => Promise<void> },
  ): ReturnType<typeof startTestBackend>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Why the moto tests cannot run here, or false when they can. */
export const motoSkip = motoAvailable() ? false : 'moto is not installed: run scripts/setup-python.sh (or scripts/test.sh)';

/** What moto holds of `bucket` and `table`, read with boto3 (__test__/support/moto-state.py). */
export function motoState(moto: EnforcingMoto, bucket: string, table: string): JsonObject {
  const script = path.join(REPO_ROOT, '__test__', 'support', 'moto-state.py');
  const args = [script, moto.url, moto.accessKeyId, moto.secretAccessKey, bucket, table];
  return JSON.parse(execFileSync(path.join(REPO_ROOT, '.venv', 'bin', 'python'), args, { encoding: 'utf8', timeout: 60_000 }));
}

export interface TaskEvent {
  type: string;
  body: { message?: string; output?: JsonObject };
}

export interface ScaffolderBackend {
  /** GET /api/scaffolder/v2/actions: the installed actions' ids. */
  actionIds(): Promise<string[]>;
  /** Starts the catalog's template `name` with `values` and waits for the task to end. */
  runTemplate(name: string, values: JsonObject): Promise<{ status: string; events: TaskEvent[] }>;
  stop(): Promise<void>;
}

/** A scaffolder backend with this module, the templates in a mock catalog, and `config`. */
export async function startScaffolderBackend(config: JsonObject, templates: JsonObject[]): Promise<ScaffolderBackend> {
  // The scaffolder's database, which the test closes: the default one keeps its pool's timer
  // running after the backend stops, and the test process would never end.
  const database = knexFactory({ client: 'better-sqlite3', connection: ':memory:', useNullAsDefault: true });
  const features = [
    mockServices.database.factory({ knex: database }),
    import('@backstage/plugin-scaffolder-backend'),
    import('../index'),
    catalogServiceMock.factory({ entities: templates as never[] }),
    mockServices.rootConfig.factory({ data: config }),
  ];
  const started = await startTestBackendClosingOnFailure(features, { cleanup: () => database.destroy() });
  const api = `http://127.0.0.1:${started.server.port()}/api/scaffolder/v2`;
  const json = async (response: Response) => {
    if (!response.ok) throw new Error(`${response.url}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  return {
    async actionIds() {
      return ((await json(await fetch(`${api}/actions`))) as Array<{ id: string }>).map((action) => action.id);
    },
    async runTemplate(name, values) {
      const created = await fetch(`${api}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ templateRef: `template:default/${name}`, values }),
      });
      const { id } = (await json(created)) as { id: string };
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { status } = (await json(await fetch(`${api}/tasks/${id}`))) as { status: string };
        if (['completed', 'failed', 'cancelled'].includes(status)) {
          return { status, events: (await json(await fetch(`${api}/tasks/${id}/events`))) as TaskEvent[] };
        }
        if (Date.now() > deadline) throw new Error(`task ${id} still ${status} after 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    async stop() {
      started.server.closeAllConnections?.();
      await started.stop();
      await database.destroy();
    },
  };
}
