'use strict';
// stats(): the counters every process attached to a table shares, summed across
// processes (fixtures/stats-app.js), beside this handle's own.
const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const createCache = require('..');
const { ENGINES, uniqueName, runFixture } = require('./helpers');

// Runs fixtures/stats-app.js; resolves with its stats() (its last stdout line).
function counting(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'stats-app.js'), ...args],
                        { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`stats-app.js ${args.join(' ')} exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

for (const engine of ENGINES) {
  describe(`engine ${engine}: shared statistics`, () => {
    const open = [];
    after(() => { for (const c of open) c.close(); });

    it('counts each operation in the table, and this handle\'s apart', () => {
      const c = createCache({ name: uniqueName(`${engine}_ops`), engine, maxKeys: 16 });
      open.push(c);
      c.set('a', '1');            // insert
      c.set('a', '2');            // update
      assert.equal(c.get('a'), '2');
      assert.equal(c.get('b'), undefined);
      assert.equal(c.has('a'), true);
      assert.equal(c.incr('n'), 1); // insert
      assert.equal(c.compareAndSet('a', '2', '3'), true);
      assert.equal(c.setIfAbsent('a', 'x'), false);
      assert.equal(c.delete('a'), true);
      const s = c.stats();
      assert.deepEqual(
        { hits: s.hits, misses: s.misses, sets: s.sets, inserts: s.inserts, erases: s.erases,
          evictions: s.evictions, expirations: s.expirations, tableFull: s.tableFull,
          entries: s.entries, leakedBuffers: s.leakedBuffers },
        { hits: 2, misses: 1, sets: 4, inserts: 2, erases: 1, evictions: 0, expirations: 0,
          tableFull: 0, entries: 1, leakedBuffers: 0 });
      assert.equal(s.handle.gets, 3);
      assert.equal(s.handle.deletes, 1);
      assert.ok(s.stripesInUse >= 1 && s.stripesInUse <= s.stripes);
    });

    it('a handle opened with stats: false counts nothing', () => {
      const name = uniqueName(`${engine}_quiet`);
      const c = createCache({ name, engine, maxKeys: 16 });
      const quiet = createCache({ name, engine, stats: false });
      open.push(c, quiet);
      quiet.set('k', 'v');
      quiet.get('k');
      quiet.get('z');
      const s = c.stats();
      assert.equal(s.hits + s.misses + s.sets + s.inserts, 0);
      assert.equal(s.entries, 1);
      assert.equal(quiet.stats().handle.gets, 2, 'its own counters still count');
      assert.throws(() => createCache({ name, engine, stats: 'no' }),
                    { name: 'TypeError', message: /^options\.stats: expected a boolean/ });
    });

    it('two processes count into one sum that a third process reads', async () => {
      const name = uniqueName(`${engine}_procs`);
      const keeper = createCache({ name, engine, maxKeys: 64 }); // keeps the table alive
      open.push(keeper);
      const n = 200;
      const [a, b] = await Promise.all([counting([engine, name, 'count', String(n)]),
                                        counting([engine, name, 'count', String(n)])]);
      // Each process saw at least its own counts in the shared sums.
      assert.ok(a.sets >= n && b.sets >= n);
      assert.equal(a.handle.sets, n);
      const { result: third } = runFixture('stats-app.js', [engine, name, 'read']);
      assert.equal(third.sets, 2 * n);
      assert.equal(third.inserts, 2 * 10);
      assert.equal(third.hits, 2 * n);
      assert.equal(third.misses, 2 * n);
      assert.equal(third.entries, 2 * 10);
      assert.equal(third.handle.sets, 0, 'the reader itself counted nothing');
      assert.deepEqual(keeper.stats().sets, 2 * n);
    });
  });
}
