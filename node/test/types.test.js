'use strict';
// index.d.ts compiles and describes the API: tsc type-checks test/types/usage.ts, which
// uses every call and also holds lines that must NOT compile (@ts-expect-error).
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

it('index.d.ts type-checks real usage under --strict', () => {
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc');
  } catch {
    assert.fail('typescript is a devDependency: run npm ci in node/');
  }
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--types', 'node',
    path.join(__dirname, 'types', 'usage.ts')], { encoding: 'utf8', cwd: path.join(__dirname, '..') });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
