'use strict';
// Eviction through the package (options.eviction, the lock-free engine's CLOCK): without
// it a full table refuses new keys, as fast-shm-cache's; with it, an insert into a table
// holding 90 % of its slots evicts an entry nobody read since the hand last passed, and
// counts it in stats().evictions. A table property, as persist: adopted when left out,
// compared when given. Shared across processes (a forked writer below).
//
// Every assertion is on counts and presence, none on time: a single process's inserts
// and reads move the hand deterministically; the two-process test checks only what holds
// however the two interleave.
const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { fork } = require('node:child_process');
const { once } = require('node:events');
const path = require('node:path');
const createCache = require('..');
const { ENGINES, uniqueName } = require('./helpers');

// kEvictLoadPercent (include/shmtable/config.hpp): entries at which inserts evict, as
// evict_at_for (src/lockfree_layout.hpp) computes it.
const evictAt = (capacity) => Math.max(1, Math.floor(capacity / 100) * 90 + Math.floor((capacity % 100) * 90 / 100));

const open = [];
function make(options) {
  const c = createCache({ name: uniqueName('evict'), ...options });
  open.push(c);
  return c;
}
afterEach(() => {
  while (open.length) open.pop().close();
});

for (const engine of ENGINES) {
  it(`engine ${engine}: without eviction (the default), a full table refuses new keys`, () => {
    const c = make({ engine, maxKeys: 10 });
    assert.equal(c.eviction, false);
    assert.equal(c.stats().eviction, false);
    let i = 0;
    while (c.set(`k${i}`, 'v')) i += 1;
    assert.ok(i >= 10, `${i} keys fit`);
    assert.equal(c.set('one-more', 'v'), false);
    assert.throws(() => c.incr('one-more'), { code: 'ERR_SHMTABLE_TABLE_FULL' });
    assert.equal(c.get('k0'), 'v', 'nothing was evicted');
    assert.equal(c.stats().evictions, 0);
    assert.ok(c.stats().tableFull >= 2);
  });
}

describe('engine lockfree, eviction: true', () => {
  it('never refuses an insert; the size stays at 90 % of the slots; evictions are counted', () => {
    const c = make({ maxKeys: 100, eviction: true });
    assert.equal(c.eviction, true);
    assert.equal(c.capacity, 134);
    const full = evictAt(c.capacity); // 120 of 134 slots
    assert.equal(full, 120);
    for (let i = 0; i < 2000; i++) {
      assert.equal(c.set(`k${i}`, `v${i}`), true, `set k${i}`);
      assert.ok(c.size <= full, `size ${c.size} after ${i + 1} inserts`);
    }
    // At the fill level, or a little under it: an insert whose own 64 slots are all
    // taken evicts there too, after the hand did.
    const nearFull = (size) => size <= full && size >= Math.floor(full * 0.85);
    assert.ok(nearFull(c.size), `size ${c.size}`);
    // incr and setIfAbsent of new keys evict too, where a full table would throw.
    for (let i = 0; i < 200; i++) {
      assert.equal(c.incr(`n${i}`), 1);
      assert.equal(c.setIfAbsent(`s${i}`, 'v'), true);
    }
    const s = c.stats();
    assert.equal(s.eviction, true);
    assert.ok(nearFull(s.size), `size ${s.size}`);
    assert.equal(s.inserts, 2400);
    assert.equal(s.evictions, 2400 - s.size, 'every entry inserted is there or was evicted');
    assert.equal(s.tableFull, 0);
    assert.equal(s.handle.tableFull, 0);
  });

  it('a key read often survives; keys never read are evicted', () => {
    const c = make({ maxKeys: 100, eviction: true });
    for (let i = 0; i < 1000; i++) c.set(`cold${i}`, 'v'); // the table at its steady state
    c.set('hot', 'kept');
    for (let i = 0; i < 5000; i++) {
      c.set(`k${i}`, 'v');
      assert.equal(c.get('hot'), 'kept', `hot after ${i + 1} inserts`);
    }
    const coldLeft = Array.from({ length: 1000 }, (_, i) => `cold${i}`).filter((k) => c.has(k));
    assert.deepEqual(coldLeft, []);
    // The latest insert is still there: nothing evicted after it.
    assert.equal(c.get('k4999'), 'v');
    assert.equal(c.stats().evictions, 6001 - c.size, 'every entry inserted is there or was evicted');
  });

  it('two processes share an evicting table: neither is refused, the counts add up', async () => {
    const name = uniqueName('evict_fork');
    const c = createCache({ name, maxKeys: 100, eviction: true });
    open.push(c);
    // The table at its steady state first, so that 'hot', set and then read, is marked
    // before the hand comes round (new entries start unmarked).
    for (let i = 0; i < 1000; i++) c.set(`warm${i}`, 'v');
    c.set('hot', 'kept');
    c.get('hot'); // marked: the hand spares it once per turn while it is read
    const count = 3000;
    const child = fork(path.join(__dirname, 'fixtures', 'evict-writer.js'), [name, String(count)],
                       { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const reply = once(child, 'message');
    const exited = once(child, 'exit');
    // Our inserts interleave with the child's, a chunk per turn of the event loop.
    let refused = 0;
    for (let i = 0; i < count; i++) {
      if (!c.set(`parent:${i}`, `v${i}`)) refused += 1;
      c.get('hot');
      if (i % 100 === 99) await new Promise(setImmediate);
    }
    const [got] = await reply;
    const [code] = await exited;
    assert.equal(code, 0);
    assert.equal(refused, 0);
    assert.deepEqual({ eviction: got.eviction, capacity: got.capacity, refused: got.refused },
                     { eviction: true, capacity: c.capacity, refused: 0 },
                     'the child adopted the table, eviction included, and was never refused');
    assert.equal(got.hotMissing, 0, 'the key both read survived the child\'s inserts');
    assert.equal(c.get('hot'), 'kept');
    const s = c.stats();
    assert.ok(s.size <= evictAt(c.capacity) && s.size >= Math.floor(evictAt(c.capacity) * 0.85),
              `size ${s.size}`);
    assert.equal(s.inserts, 1000 + 2 * count + 1);
    assert.equal(s.evictions, s.inserts - s.size, 'every entry inserted is there or was evicted');
    assert.equal(s.tableFull, 0);
  });

  it('a table property: left out, the table\'s is taken; given, it must match', () => {
    const name = uniqueName('evict_prop');
    const c = make({ name, maxKeys: 100, eviction: true });
    c.set('keep', 'me');
    const d = createCache({ name });
    open.push(d);
    assert.equal(d.eviction, true);
    assert.equal(d.stats().eviction, true);
    assert.throws(() => createCache({ name, eviction: false }),
                  { name: 'Error', code: 'ERR_SHMTABLE_LAYOUT_MISMATCH',
                    message: /^shm '[^']+': eviction: the segment has true, the options ask for false/ });
    const plain = make({ maxKeys: 100 });
    assert.throws(() => createCache({ name: plain.name, eviction: true }),
                  { name: 'Error', code: 'ERR_SHMTABLE_LAYOUT_MISMATCH',
                    message: /^shm '[^']+': eviction: the segment has false, the options ask for true/ });
    assert.equal(c.get('keep'), 'me', 'the mismatches left the table as it was');
    assert.equal(plain.eviction, false);
  });

  it('bad values name options.eviction', () => {
    for (const bad of ['yes', 1, null, {}]) {
      assert.throws(() => createCache({ name: uniqueName('evict_bad'), eviction: bad }),
                    { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /^options\.eviction: expected a boolean, got / });
    }
    for (const engine of ['mutex', 'robust']) {
      const name = uniqueName('evict_mutex');
      assert.throws(() => createCache({ name, engine, eviction: true }),
                    { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE',
                      message: new RegExp(`^options\\.eviction: only for engine 'lockfree' \\(engine '${engine}'`) });
      assert.equal(require('node:fs').existsSync(`/dev/shm/${name}`), false, 'nothing was created');
      const m = make({ engine, eviction: false, maxKeys: 10 });
      assert.equal(m.eviction, false);
    }
  });
});
