'use strict';
// Lays out packed npm tarballs (scripts/pack.sh's dist-packages/) the way npm installs them.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

/** Unpacks the tarball of package `name` from `dist` into `<root>/node_modules/<name>`. */
function unpack(dist, root, name) {
  const tarball = fs.readdirSync(dist).find((f) => new RegExp(`^${name}-\\d+\\.\\d+\\.\\d+.*\\.tgz$`).test(f));
  assert.ok(tarball, `${name} is in ${dist}`);
  const dir = path.join(root, 'node_modules', name);
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(dist, tarball), '-C', dir, '--strip-components=1']);
  return dir;
}

module.exports = { unpack };
