'use strict';
// The platforms the addon is built for, and how a running Node names its own: the
// `<platform>-<arch>[-<libc>]` keys napi-rs uses for binary and package names.

/** Keep in step with `napi.targets` in package.json and the npm/ folders. */
const SUPPORTED_PLATFORMS = [
  'linux-x64-gnu',
  'linux-arm64-gnu',
  'linux-x64-musl',
  'linux-arm64-musl',
  'darwin-x64',
  'darwin-arm64',
];

/** This process's key, e.g. `linux-x64-musl`; `null` for a platform napi-rs has no name for. */
function platformKey(platform, arch) {
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'darwin' || platform === 'win32' || platform === 'freebsd') return `${platform}-${arch}`;
  return null;
}

/** Whether Node runs on musl libc (Alpine): glibc builds report their version, musl ones do not. */
function isMusl() {
  if (process.report) process.report.excludeNetwork = true; // no DNS lookups for the report
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  if (report?.header?.glibcVersionRuntime) return false;
  if (Array.isArray(report?.sharedObjects)) {
    return report.sharedObjects.some((file) => file.includes('libc.musl-') || file.includes('ld-musl-'));
  }
  return false;
}

module.exports = { SUPPORTED_PLATFORMS, platformKey };
