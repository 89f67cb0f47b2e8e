'use strict';
// Loads the native addon for this platform: a binary built in this folder (development), else
// the platform package npm installed from optionalDependencies (proxy-sigv4-native-<platform>).
// When neither is there, the error names the platform and C library it looked for, the package
// that would provide it, and the platforms that have one.

const { platformKey, SUPPORTED_PLATFORMS } = require('./platform');

const PACKAGE = 'proxy-sigv4-native';

function loadAddon() {
  // An explicit binary (napi-rs's variable), e.g. the benchmark's own release build.
  if (process.env.NAPI_RS_NATIVE_LIBRARY_PATH) {
    return require(process.env.NAPI_RS_NATIVE_LIBRARY_PATH);
  }
  const key = platformKey(process.platform, process.arch);
  const tried = [];
  if (key === null || !SUPPORTED_PLATFORMS.includes(key)) {
    throw new Error(
      `${PACKAGE}: no native binary is built for ${describePlatform(key)}. ` +
        `Binaries exist for ${SUPPORTED_PLATFORMS.join(', ')}` +
        (process.platform === 'win32' ? '; Windows is not built (run the backend in WSL or a Linux container).' : '.'),
    );
  }
  for (const candidate of [`./proxy-sigv4.${key}.node`, `${PACKAGE}-${key}`]) {
    try {
      return require(candidate);
    } catch (error) {
      if (error?.code !== 'MODULE_NOT_FOUND') throw error; // it is there but does not load: say why
      tried.push(candidate);
    }
  }
  throw new Error(
    `${PACKAGE}: the native binary for ${describePlatform(key)} is not installed ` +
      `(looked for ${tried.join(' and ')}). It comes from the optional dependency ${PACKAGE}-${key}: ` +
      'reinstall without --no-optional / --omit=optional, and install on the platform the backend runs on ' +
      '(a node_modules copied from another OS, CPU or C library lacks it).',
  );
}

/** e.g. `linux-x64-gnu (linux, x64, glibc)`. */
function describePlatform(key) {
  const libc = process.platform === 'linux' ? (key?.endsWith('-musl') ? ', musl libc' : ', glibc') : '';
  return `${key ?? 'this platform'} (${process.platform}, ${process.arch}${libc})`;
}

module.exports = loadAddon();
