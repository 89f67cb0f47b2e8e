/*
 * The demo: a real Backstage backend (backend-defaults) with the proxy-sigv4 plugin, on
 * 127.0.0.1:7007, whose route /demo points at the repository's verifying upstream (a loopback
 * server that checks SigV4 signatures with an independent signer and echoes what it received).
 *
 *   npm start        then paste the printed curl command
 *
 * Everything here is demo-only: the AWS keys are fake, the static token is made at start.
 * LOG_LEVEL=debug shows the plugin's one line per request.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { createBackend } from '@backstage/backend-defaults';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';

const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT ?? 7007);
const DEMO_ACCESS_KEY_ID = 'AKIDDEMOPROXYSIGV4EX';
const DEMO_SECRET_ACCESS_KEY = 'demo-secret-access-key-not-a-real-aws-key';

interface VerifyingUpstream {
  url: string;
  close(): Promise<void>;
}

async function main(): Promise<void> {
  // Demo AWS credentials for the default chain, before the plugin (the addon) needs them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { useStaticCredentials } = require(path.resolve(__dirname, '../../../__test__/support/aws-env.js')) as {
    useStaticCredentials(credentials: { accessKeyId: string; secretAccessKey: string }): void;
  };
  useStaticCredentials({ accessKeyId: DEMO_ACCESS_KEY_ID, secretAccessKey: DEMO_SECRET_ACCESS_KEY });

  // The repository's verifying upstream (strict: 403 on a bad signature).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startVerifyingUpstream } = require(path.resolve(__dirname, '../../../__test__/support/verifying-upstream.js')) as {
    startVerifyingUpstream(options: { keys: Map<string, string>; strict?: boolean }): Promise<VerifyingUpstream>;
  };
  const upstream = await startVerifyingUpstream({
    keys: new Map([[DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY]]),
    strict: true,
  });

  const demoToken = `demo-${crypto.randomBytes(18).toString('base64url')}`;
  const config = {
    backend: {
      baseUrl: `http://${HOST}:${PORT}`,
      listen: { host: HOST, port: PORT },
      database: { client: 'better-sqlite3', connection: ':memory:' },
      auth: {
        externalAccess: [{ type: 'static', options: { token: demoToken, subject: 'demo-curl' } }],
      },
    },
    proxysigv4: {
      '/demo': { target: upstream.url, service: 'execute-api', region: 'us-east-1' },
    },
  };

  const backend = createBackend();
  // The whole app config, given in code (the upstream's port is only known now).
  backend.add(
    createServiceFactory({
      service: coreServices.rootConfig,
      deps: {},
      factory: () => new ConfigReader(config, 'dev/index.ts'),
    }),
  );
  backend.add(import('../src'));
  await backend.start();

  const url = `http://${HOST}:${PORT}/api/proxy-sigv4/demo/hello?x=1`;
  process.stdout.write(
    [
      '',
      `proxy-sigv4 demo ready: /api/proxy-sigv4/demo -> ${upstream.url} (verifying upstream, strict)`,
      'Try (the upstream answers signatureValid: true; without the token Backstage answers 401):',
      '',
      `  curl -H 'Authorization: Bearer ${demoToken}' '${url}'`,
      '',
    ].join('\n') + '\n',
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await backend.stop();
    await upstream.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error) => {
  process.stderr.write(`proxy-sigv4 demo failed to start: ${error?.stack ?? error}\n`);
  process.exit(1);
});
