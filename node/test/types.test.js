'use strict';
// index.d.ts compiles and describes the API: tsc type-checks test/types/usage.ts, which
// uses every call and also holds lines that must NOT compile (@ts-expect-error).
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

function tsc(...args) {
  let bin;
  try {
    bin = require.resolve('typescript/bin/tsc');
  } catch {
    assert.fail('typescript is a devDependency: run npm ci in node/');
  }
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: path.join(__dirname, '..') });
}

it('index.d.ts type-checks real usage under --strict', () => {
  const r = tsc('--noEmit', '--strict', '--types', 'node', path.join(__dirname, 'types', 'usage.ts'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

// A project whose tsconfig lists no ambient types (or other ones) still gets Node's
// Buffer: index.d.ts references @types/node itself (without it: TS2591 on Buffer).
it('index.d.ts brings the Node types it uses, with no ambient types listed', () => {
  const r = tsc('-p', path.join(__dirname, 'types', 'tsconfig.json'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
