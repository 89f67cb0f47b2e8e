'use strict';
// The README's legacy-backend snippet is, character for character, the file the e2e test
// compiles and serves in a fresh Backstage app (scripts/e2e/legacy/), so it cannot drift.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');

test("the README's legacy snippet is the code the e2e test compiles", () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('Legacy backend system'));
  const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  const compiled = fs.readFileSync(path.join(REPO, 'scripts/e2e/legacy/src/plugins/proxy-sigv4.ts'), 'utf8');
  assert.equal(snippet, compiled);
});
