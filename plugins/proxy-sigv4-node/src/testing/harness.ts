// Test set-up: a moto server that checks signatures (its key is the default chain's), botocore's
// presigner as the oracle, and a Backstage test backend in which a plugin declares the service.
import path from 'node:path';
import type { JsonObject } from '@backstage/types';
import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices } from '@backstage/backend-test-utils';
import type { startTestBackend } from '@backstage/backend-test-utils';
import { awsSigV4ServiceRef } from '../service-ref';
import type { AwsSigV4Service } from '../types';

/** The repository root (plugins/proxy-sigv4-node/src/testing/../../../..), where __test__/ lives. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/* eslint-disable @typescript-eslint/no-require-imports */
const support = (name: string) => require(path.join(REPO_ROOT, '__test__', 'support', name));
const { motoAvailable } = support('moto.js') as { motoAvailable(): boolean };
/**
 * startMotoAsDefaultChain: moto with signature checks, its key the default chain's and its STS
 * the one AssumeRole calls (call before anything signs: the addon reads the chain once).
 * createMotoRole: a role there, allowed everything; returns its ARN.
 */
export const { startMotoAsDefaultChain, createMotoRole } = support('moto-enforcing.js') as {
  startMotoAsDefaultChain(): Promise<EnforcingMoto>;
  createMotoRole(moto: EnforcingMoto, name: string): string;
};
/** botocore's presigner at a fixed time (see __test__/support/botocore-presign.py). */
export const { botocorePresign } = support('botocore-presign.js') as {
  botocorePresign(spec: Record<string, unknown> & { kind: 'url' | 'eks'; credentials: AwsKeys; time: Date }): string;
};
/** startTestBackend that closes the server of a backend whose startup fails (root-lifecycle.js). */
const { startTestBackendClosingOnFailure } = support('root-lifecycle.js') as {
  startTestBackendClosingOnFailure(features: Parameters<typeof startTestBackend>[0]['features']): ReturnType<typeof startTestBackend>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

interface VerifyingUpstreamModule {
  startVerifyingUpstream(options: { keys: Map<string, string>; strict?: boolean }): Promise<VerifyingUpstream>;
}

/** The repository's verifying upstream (an independent SigV4 checker, header and query auth). */
export interface VerifyingUpstream {
  url: string;
  requests: Array<{ method: string; url: string; body: Buffer; signature: { valid: boolean; reason?: string; presigned?: boolean; regionSet?: string } }>;
  close(): Promise<void>;
}

/** The strict verifying upstream (403 on a bad signature) that knows `keys`. */
export function startVerifyingUpstream(keys: AwsKeys): Promise<VerifyingUpstream> {
  const mod = support('verifying-upstream.js') as VerifyingUpstreamModule;
  return mod.startVerifyingUpstream({ keys: new Map([[keys.accessKeyId, keys.secretAccessKey]]), strict: true });
}

export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface EnforcingMoto extends AwsKeys {
  url: string;
  stop(): Promise<void>;
}

/** Why the moto tests cannot run here, or false when they can. */
export const motoSkip = motoAvailable() ? false : 'moto is not installed: run scripts/setup-python.sh (or scripts/test.sh)';

export interface ServiceBackend {
  /** The service as the test plugin received it in its `deps`. */
  service: AwsSigV4Service;
  stop(): Promise<void>;
}

/**
 * A Backstage test backend with `config` as the app config and one plugin, `aws-user`, that
 * declares the service: the way another plugin of an app would get it.
 */
export async function startBackendWithService(config: JsonObject): Promise<ServiceBackend> {
  let service: AwsSigV4Service | undefined;
  const userPlugin = createBackendPlugin({
    pluginId: 'aws-user',
    register(env) {
      env.registerInit({
        deps: { aws: awsSigV4ServiceRef },
        async init({ aws }) {
          service = aws;
        },
      });
    },
  });
  const backend = await startTestBackendClosingOnFailure([userPlugin, mockServices.rootConfig.factory({ data: config })]);
  if (!service) throw new Error('the test plugin was not given the service');
  return { service, stop: () => backend.stop() };
}
