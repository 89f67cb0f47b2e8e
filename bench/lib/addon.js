'use strict';
// Which build of the native addon the benchmark's processes load. bench/setup.sh copies the
// release build to bench/.addon/, so a debug build the tests make in the meantime (they share
// packages/native/proxy-sigv4.linux-*.node) does not change what is measured.

const fs = require('node:fs');
const path = require('node:path');

const REPO = path.resolve(__dirname, '../..');
const RELEASE_ADDON = path.join(REPO, 'bench/.addon/proxy-sigv4.node');

const sameBytes = (a, b) => fs.existsSync(a) && fs.existsSync(b) && fs.readFileSync(a).equals(fs.readFileSync(b));

/**
 * @returns {{ env: Record<string, string>, file: string, profile: 'release' | 'debug' | 'unknown',
 *   note: string | null }} env: what to add to a child's environment to load that file.
 */
function chooseAddon() {
  const releaseBuild = path.join(REPO, 'target/release/libproxy_sigv4.so');
  if (fs.existsSync(RELEASE_ADDON)) {
    const stale = fs.existsSync(releaseBuild) && !sameBytes(releaseBuild, RELEASE_ADDON);
    return {
      env: { NAPI_RS_NATIVE_LIBRARY_PATH: RELEASE_ADDON },
      file: path.relative(REPO, RELEASE_ADDON),
      profile: 'release',
      note: stale ? 'differs from target/release/libproxy_sigv4.so (a newer build): run bench/setup.sh to refresh it' : null,
    };
  }
  const loaded = path.join(REPO, 'packages/native/proxy-sigv4.linux-x64-gnu.node');
  let profile = 'unknown';
  if (sameBytes(releaseBuild, loaded)) profile = 'release';
  else if (sameBytes(path.join(REPO, 'target/debug/libproxy_sigv4.so'), loaded)) profile = 'debug';
  return { env: {}, file: path.relative(REPO, loaded), profile, note: 'bench/.addon is missing: run bench/setup.sh' };
}

module.exports = { chooseAddon };
