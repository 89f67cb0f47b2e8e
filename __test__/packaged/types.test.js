'use strict';
// The packed plugin and addon, unpacked as npm lays them out, type-check from a consumer under
// TypeScript's `node16` (ES module and CommonJS importers) and `bundler` module resolution: their
// `exports` and `types` point at declarations that exist and say what the README shows.
// Needs PROXY_SIGV4_DIST (the tarballs of scripts/pack.sh); scripts/test.sh sets it.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const { unpack } = require('../support/tarballs');

const DIST = process.env.PROXY_SIGV4_DIST;
const REPO = path.resolve(__dirname, '..', '..');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

/** Named imports of both packages, as README and index.d.ts show them. */
const CONSUMER = `
import { createRouter } from 'backstage-plugin-proxy-sigv4-backend';
import { Signer, SigV4Proxy, signRequest } from 'proxy-sigv4-native';

export const router: typeof createRouter = createRouter;
export const signer = new Signer({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, service: 'execute-api', region: 'us-east-1' });
export const headers: Promise<Record<string, string>> = signRequest({ method: 'GET', url: 'https://abc.execute-api.us-east-1.amazonaws.com/x' });
export type Proxy = SigV4Proxy;
`;
/**
 * `backend.add(import(...))`: the default export is the plugin. Checked where a Backstage app
 * compiles (bundler resolution). Under node16, an ES module's import() of a CommonJS package (as
 * every Backstage backend plugin is) gets module.exports as `default`, so there it is not.
 */
const BACKEND_ADD = `
import type { BackendFeature } from '@backstage/backend-plugin-api';
export async function wire(): Promise<BackendFeature> {
  const feature: { default: BackendFeature } = await import('backstage-plugin-proxy-sigv4-backend');
  return feature.default;
}
`;

const SETTINGS = [
  { name: 'node16 from an ES module', module: 'node16', moduleResolution: 'node16', type: 'module' },
  { name: 'node16 from CommonJS', module: 'node16', moduleResolution: 'node16', type: 'commonjs' },
  { name: 'bundler', module: 'esnext', moduleResolution: 'bundler', type: 'module', backendAdd: true },
];


for (const setting of SETTINGS) {
  test(`the packed packages type-check under ${setting.name} resolution`, {
    skip: !DIST && 'set PROXY_SIGV4_DIST (scripts/test.sh does)',
  }, () => {
    // Inside the repository, so the plugin's own dependencies (@backstage/*, express) resolve
    // from the workspace's node_modules; the two packages themselves come from the tarballs.
    fs.mkdirSync(path.join(REPO, '.cache'), { recursive: true });
    const root = fs.mkdtempSync(path.join(REPO, '.cache', 'types-'));
    try {
      unpack(DIST, root, 'proxy-sigv4-native');
      unpack(DIST, root, 'backstage-plugin-proxy-sigv4-backend');
      fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ private: true, type: setting.type }));
      fs.writeFileSync(path.join(root, 'consumer.ts'), CONSUMER + (setting.backendAdd ? BACKEND_ADD : ''));
      fs.writeFileSync(path.join(root, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          module: setting.module, moduleResolution: setting.moduleResolution, target: 'es2022',
          strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [path.join(REPO, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }));
      const result = spawnSync(process.execPath, [TSC, '-p', root, '--traceResolution'], { encoding: 'utf8' });
      const errors = result.stdout.split('\n').filter((line) => /error TS/.test(line));
      assert.deepEqual(errors, [], errors.join('\n'));
      assert.equal(result.status, 0, result.stderr);
      for (const name of ['backstage-plugin-proxy-sigv4-backend', 'proxy-sigv4-native']) {
        const resolved = new RegExp(`Module name '${name}' was successfully resolved to '([^']+)'`).exec(result.stdout);
        assert.ok(resolved, `${name} resolved`);
        assert.ok(resolved[1].startsWith(path.join(root, 'node_modules', name)), `${name} resolved to ${resolved[1]}, from the tarball`);
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}
