'use strict';
// scripts/build.js (the install script) says what it is doing and that it takes about a
// minute before node-gyp starts, and how long it took or that it failed after. node-gyp
// is replaced by fixtures/fake-node-gyp.js, so nothing is built.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

function build(exitCode) {
  return spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build.js')], {
    encoding: 'utf8',
    env: {
      ...process.env,
      npm_config_node_gyp: path.join(__dirname, 'fixtures', 'fake-node-gyp.js'),
      FAKE_NODE_GYP_EXIT: String(exitCode),
    },
  });
}

it('announces the build and its duration before node-gyp runs, and the time it took', () => {
  const r = build(0);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^shmtable: building the native addon \(node-gyp.*\): it compiles the C\+\+ library \(5 files\) and the addon, which takes about a minute$/);
  assert.match(lines[1], /^fake node-gyp rebuild --jobs=\d+/);
  assert.match(lines[lines.length - 1], /^shmtable: addon built in \d+\.\d s$/);
});

it('a failed node-gyp run fails the install, saying so', () => {
  const r = build(3);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^shmtable: the addon build failed \(node-gyp exit 3\); see the compiler output above$/m);
  assert.doesNotMatch(r.stdout, /addon built/);
});
