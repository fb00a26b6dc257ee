'use strict';
// Shared by the test files: unique table names, and running a fixture in a child process.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

// Every engine the package takes by name (the addon's list): 'lockfree', 'mutex', 'robust'.
const { engines: ENGINES } = require('../lib/binding');

let serial = 0;
// A table name no other test (or test run) uses: tables are machine-wide.
function uniqueName(tag) {
  serial += 1;
  return `shmtable_test_${tag}_${process.pid}_${serial}`;
}

// Runs `node fixtures/<file> ...args` and returns its parsed last stdout line (JSON).
function runFixture(file, args, { timeout = 60000 } = {}) {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', file), ...args], {
    encoding: 'utf8',
    timeout,
    env: {
      ...process.env,
      SHMTABLE_TEST_NAMESPACE: `shmtable_test_${process.pid}_`,
      // require('fast-shm-cache') in fast-shm-cache's examples resolves to fixtures/aliases/.
      NODE_PATH: path.join(__dirname, 'fixtures', 'aliases'),
    },
  });
  if (r.status !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${r.status ?? r.signal}\n` +
                    `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  const lines = r.stdout.trim().split('\n');
  return { result: JSON.parse(lines[lines.length - 1]), stdout: r.stdout, stderr: r.stderr };
}

module.exports = { ENGINES, uniqueName, runFixture };
