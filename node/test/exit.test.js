'use strict';
// Tables still open when a process exits are closed then (index.js): a table with persist
// false leaves /dev/shm with the last process that had it, even when that process ends
// with process.exit() and never calls close(); a persistent one stays.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const createCache = require('..');
const { uniqueName } = require('./helpers');

const pkg = path.join(__dirname, '..');

// Runs `script` in a child node with `name` as its argument; returns its stdout.
function child(script, name, nodeArgs = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, '-e', script, name], { encoding: 'utf8', cwd: pkg });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

it('process.exit() without close() leaves no persist false table in /dev/shm', () => {
  const name = uniqueName('exit');
  child(`const c = require('.')({ name: process.argv[1] });
         c.set('k', 'v'.repeat(200));
         process.exit(0);`, name);
  assert.equal(fs.existsSync(`/dev/shm/${name}`), false);
});

it('a table that returns from main without close() is closed too; one closed stays closed', () => {
  const name = uniqueName('exit_return');
  const other = uniqueName('exit_closed');
  child(`const createCache = require('.');
         createCache({ name: process.argv[1] }).set('k', 'v');
         const d = createCache({ name: '${other}' });
         d.close();`, name);
  assert.equal(fs.existsSync(`/dev/shm/${name}`), false);
  assert.equal(fs.existsSync(`/dev/shm/${other}`), false);
});

it('a persistent table stays, with its contents', () => {
  const name = uniqueName('exit_persist');
  child(`require('.')({ name: process.argv[1], persist: true }).set('k', 'kept');
         process.exit(0);`, name);
  const c = createCache({ name });
  assert.equal(c.get('k'), 'kept');
  c.unlink();
  c.close();
});

it('tables are held weakly: one the program drops is garbage-collected and closed', () => {
  const name = uniqueName('exit_gc');
  const out = child(`const fs = require('node:fs');
    let c = require('.')({ name: process.argv[1] });
    c = null;
    (async () => {
      for (let round = 0; round < 100 && fs.existsSync('/dev/shm/' + process.argv[1]); round++) {
        global.gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      console.log(fs.existsSync('/dev/shm/' + process.argv[1]) ? 'kept alive' : 'collected');
    })();`, name, ['--expose-gc']);
  assert.equal(out.trim(), 'collected');
});

it('examples/rate-limiter.js leaves no table behind (its workers end with process.exit)', () => {
  const r = spawnSync(process.execPath, [path.join(pkg, 'examples', 'rate-limiter.js'), '2', '10', '50'],
                      { encoding: 'utf8', cwd: pkg });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2 workers x 50 calls, limit 10: 10 admitted/);
  assert.equal(fs.existsSync(`/dev/shm/rate_limits_example_${r.pid}`), false);
});
