'use strict';
// Expiry through the package: { ttl } on set, setIfAbsent and incr/add, the factory's ttl
// default, purgeExpired(), bad ttls, and deadlines seen across processes.
//
// A test that needs an entry expired waits until the table says it is gone (the table's
// clock is CLOCK_REALTIME_COARSE, a tick of a few ms), however long that takes, up to a
// generous bound that only a broken build reaches: no timing threshold.
const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const createCache = require('..');
const { ENGINES, uniqueName } = require('./helpers');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Waits until gone() holds; fails after 30 s (an entry with a few ms to live).
async function until(gone, what) {
  const deadline = Date.now() + 30000;
  while (!gone()) {
    if (Date.now() > deadline) assert.fail(`${what}: still there after 30 s`);
    await sleep(2);
  }
}

const HOUR = 3600 * 1000;

for (const engine of ENGINES) {
  describe(`engine ${engine}: expiry`, () => {
    const open = [];
    function make(options = {}) {
      const c = createCache({ name: uniqueName(`ttl_${engine}`), engine, ...options });
      open.push(c);
      return c;
    }
    afterEach(() => {
      while (open.length) open.pop().close();
    });

    it('set with { ttl } expires: absent to get, has, keys, size and delete', async () => {
      const c = make();
      assert.equal(c.set('short', 'v', { ttl: 5 }), true);
      assert.equal(c.set('long', 'v', { ttl: HOUR }), true);
      assert.equal(c.set('plain', 'v'), true);
      assert.equal(c.get('short'), 'v');
      await until(() => c.get('short') === undefined, 'short');
      assert.equal(c.has('short'), false);
      assert.equal(c.delete('short'), false);
      assert.deepEqual(c.keys().sort(), ['long', 'plain']);
      assert.equal(c.size, 2);
      assert.equal(c.get('long'), 'v');
    });

    it('a set without ttl clears a deadline; incr keeps one and gives one only to a key it creates', async () => {
      const c = make();
      c.set('cleared', 'a', { ttl: 5 });
      c.set('cleared', 'b');
      assert.equal(c.incr('window', 1, { ttl: 5 }), 1);
      assert.equal(c.incr('window', 1, { ttl: HOUR }), 2); // present: keeps its own
      assert.equal(c.add('window', 1), 3);
      await until(() => !c.has('window'), 'window');
      assert.equal(c.get('cleared'), 'b');
      assert.equal(c.incr('window', 1, { ttl: HOUR }), 1); // created anew
    });

    it('setIfAbsent with { ttl }, and over an expired entry', async () => {
      const c = make();
      assert.equal(c.setIfAbsent('k', 'first', { ttl: 5 }), true);
      assert.equal(c.setIfAbsent('k', 'second'), false);
      await until(() => !c.has('k'), 'k');
      assert.equal(c.setIfAbsent('k', 'third'), true);
      assert.equal(c.get('k'), 'third');
    });

    it('the ttl option is the default for this handle\'s writes; { ttl: 0 } means none', async () => {
      const c = make({ ttl: 5 });
      c.set('defaulted', 'v');
      c.set('kept', 'v', { ttl: 0 });
      c.set('longer', 'v', { ttl: HOUR });
      c.set('object-without-ttl', 'v', {});
      await until(() => !c.has('defaulted') && !c.has('object-without-ttl'), 'defaulted');
      assert.equal(c.get('kept'), 'v');
      assert.equal(c.get('longer'), 'v');
    });

    it('purgeExpired frees the expired entries and says how many', async () => {
      const c = make();
      for (let i = 0; i < 5; i++) c.set(`e${i}`, 'v', { ttl: 5 });
      c.set('stays', 'v');
      await until(() => c.size === 1, 'size');
      assert.equal(c.purgeExpired(), 5);
      assert.equal(c.purgeExpired(), 0);
      assert.deepEqual(c.keys(), ['stays']);
    });

    it('a bad ttl is refused with the option named, and nothing changes', () => {
      const c = make();
      c.set('k', 'v');
      for (const [bad, Cls, code] of [[-1, RangeError, 'ERR_OUT_OF_RANGE'],
        [Infinity, RangeError, 'ERR_OUT_OF_RANGE'], [NaN, RangeError, 'ERR_OUT_OF_RANGE'],
        [4e12, RangeError, 'ERR_OUT_OF_RANGE'], ['5', TypeError, 'ERR_INVALID_ARG_TYPE']]) {
        for (const call of [() => c.set('k', 'w', { ttl: bad }),
          () => c.setIfAbsent('n', 'w', { ttl: bad }), () => c.incr('n', 1, { ttl: bad })]) {
          assert.throws(call, (e) => e instanceof Cls && e.code === code && /options\.ttl/.test(e.message));
        }
        assert.throws(() => createCache({ name: uniqueName('badttl'), engine, ttl: bad }),
          (e) => e instanceof Cls && e.code === code && /options\.ttl/.test(e.message));
      }
      assert.throws(() => c.set('k', 'w', 5), (e) => e instanceof TypeError && /\{ ttl: 1000 \}/.test(e.message));
      assert.equal(c.get('k'), 'v');
      assert.equal(c.has('n'), false);
    });

    it('a deadline set in one process holds in another', async () => {
      const name = uniqueName(`ttlx_${engine}`);
      const c = make({ name });
      c.set('mine', 'v', { ttl: 5 });
      const child = spawnSync(process.execPath, ['-e', `
        const c = require(${JSON.stringify(path.join(__dirname, '..'))})({ name: process.argv[1], engine: process.argv[2] });
        c.set('theirs', 'v', { ttl: 5 });
        c.set('lasting', 'v', { ttl: ${HOUR} });
        const start = Date.now();
        while (c.has('mine') && Date.now() - start < 30000) {}
        console.log(JSON.stringify({ mineGone: !c.has('mine') }));
        c.close();
      `, name, engine], { encoding: 'utf8', timeout: 60000 });
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout.trim()), { mineGone: true });
      await until(() => !c.has('theirs'), 'theirs');
      assert.equal(c.get('lasting'), 'v');
    });
  });
}
