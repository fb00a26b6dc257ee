'use strict';
// API conformance: every behaviour of the package, written once, run against every engine.
const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const createCache = require('..');
const { ENGINES, uniqueName } = require('./helpers');

for (const engine of ENGINES) {
  describe(`engine ${engine}`, () => {
    const open = [];
    function make(options = {}) {
      const c = createCache({ name: uniqueName(engine), engine, ...options });
      open.push(c);
      return c;
    }
    afterEach(() => {
      while (open.length) open.pop().close();
    });

    it('set/get/has/delete round trip, with fast-shm-cache\'s return types', () => {
      const c = make();
      assert.equal(c.get('session:123'), undefined);
      assert.equal(c.has('session:123'), false);
      assert.equal(c.set('session:123', 'active'), true);
      assert.equal(c.get('session:123'), 'active');
      assert.equal(c.has('session:123'), true);
      assert.equal(c.set('session:123', 'idle'), true);
      assert.equal(c.get('session:123'), 'idle');
      assert.equal(c.delete('session:123'), true);
      assert.equal(c.delete('session:123'), false);
      assert.equal(c.get('session:123'), undefined);
      assert.equal(c.clear(), undefined);
    });

    it('getMany answers each key as get does, in order, and checks every key', () => {
      const c = make({ maxKeys: 2000 });
      const keys = [];
      for (let i = 0; i < 1500; i++) {
        keys.push(`k:${i}`);
        if (i % 3) c.set(keys[i], i % 2 ? `v${i}` : `\u00e9t\u00e9 ${i}`);
      }
      keys.push('absent', 'k:2');
      const got = c.getMany(keys);
      assert.equal(got.length, keys.length);
      assert.deepEqual(got, keys.map((k) => c.get(k)));
      assert.deepEqual(c.getMany([]), []);
      const hits = got.filter((v) => v !== undefined).length;
      const before = c.stats();
      c.getMany(keys);
      const after = c.stats();
      assert.equal(after.handle.gets - before.handle.gets, keys.length);
      assert.equal(after.handle.hits - before.handle.hits, hits);
      assert.equal(after.hits - before.hits, hits, 'the table\'s shared count too');
      assert.throws(() => c.getMany('k:1'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /^keys: expected an array/ });
      assert.throws(() => c.getMany(['k:1', 7]), { name: 'TypeError', message: /^keys\[1\]: expected a string/ });
      assert.throws(() => c.getMany(['k:1', 'x'.repeat(65)]), { name: 'RangeError', message: /^keys\[1\]: 65 bytes exceeds maxKeyBytes/ });
    });

    it('methods taken off the object still work, and keep their table alive', () => {
      const c = make();
      c.set('a', 'b');
      const { get, set } = c;
      assert.equal(set('c', 'd'), true);
      assert.equal(get('a'), 'b');
      assert.equal(get('c'), 'd');
      assert.equal(Object.keys(c).includes('get'), false, 'bound methods are not enumerable');
      c.close();
      assert.throws(() => get('a'), { code: 'ERR_SHMTABLE_CLOSED' });
    });

    it('reports its engine and fast-shm-cache\'s defaults', () => {
      const c = make();
      assert.equal(c.engine, engine);
      assert.equal(c.maxKeys, 1024);
      assert.equal(c.maxKeyBytes, 64);
      assert.equal(c.maxValueBytes, 256);
      assert.equal(c.persist, false);
      assert.ok(c.capacity >= 1024);
    });

    it('keys() lists every key, size counts them, clear() empties', () => {
      const c = make({ maxKeys: 100 });
      const want = [];
      for (let i = 0; i < 50; i++) {
        want.push(`k${i}`);
        assert.equal(c.set(`k${i}`, `v${i}`), true);
      }
      assert.deepEqual(c.keys().sort(), want.sort());
      assert.equal(c.size, 50);
      c.clear();
      assert.deepEqual(c.keys(), []);
      assert.equal(c.size, 0);
      assert.equal(c.get('k1'), undefined);
    });

    it('stores keys and values by their UTF-8 bytes, up to exactly the limits', () => {
      const c = make();
      const key = 'é'.repeat(32); // 64 bytes
      const value = '€'.repeat(85) + 'x'; // 256 bytes
      assert.equal(c.set(key, value), true);
      assert.equal(c.get(key), value);
      const emoji = '🔑'.repeat(16); // 64 bytes of 4-byte characters
      assert.equal(c.set(emoji, ''), true);
      assert.equal(c.get(emoji), '');
      assert.deepEqual(c.keys().sort(), [key, emoji].sort());
    });

    it('maxKeys distinct keys fit in a large table too (probe limit far away)', () => {
      const c = make({ maxKeys: 30000 });
      for (let i = 0; i < 30000; i++) {
        if (!c.set(`user:${i}:profile`, 'v')) assert.fail(`key ${i} did not fit`);
      }
      assert.equal(c.size, 30000);
      assert.equal(c.capacity, 40000);
    });

    it('maxKeys distinct keys always fit; past the slots, set returns false and counts it', () => {
      for (const maxKeys of [1, 3, 100, 1000]) {
        const c = make({ maxKeys });
        for (let i = 0; i < maxKeys; i++) {
          assert.equal(c.set(`key-${i}`, 'v'), true, `key ${i} of maxKeys ${maxKeys}`);
        }
        let extra = 0;
        while (c.set(`extra-${extra}`, 'v')) extra += 1;
        assert.equal(c.size, maxKeys + extra);
        assert.equal(c.size, c.capacity, 'full means every slot holds a key');
        assert.equal(c.stats().tableFull, 1);
        assert.equal(c.set('key-0', 'updated'), true, 'an update still fits in a full table');
        assert.equal(c.get('key-0'), 'updated');
        assert.throws(() => c.setIfAbsent('one-more', 'v'), { code: 'ERR_SHMTABLE_TABLE_FULL' });
        assert.throws(() => c.incr('one-more'), { code: 'ERR_SHMTABLE_TABLE_FULL' });
        assert.equal(c.stats().tableFull, 3);
        assert.equal(c.delete('key-0'), true);
        assert.equal(c.set('one-more', 'v'), true, 'a deleted slot is reused');
      }
    });

    it('Buffer and Uint8Array values round-trip byte for byte', () => {
      const c = make();
      const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0]);
      assert.equal(c.set('bin', bytes), true);
      assert.deepEqual(c.getBuffer('bin'), bytes);
      const u8 = new Uint8Array([9, 8, 7]);
      assert.equal(c.set('u8', u8), true);
      assert.deepEqual(c.getBuffer('u8'), Buffer.from(u8));
      const view = new Uint8Array(new ArrayBuffer(16), 4, 3); // offset view: only its bytes
      view.set([1, 2, 3]);
      c.set('view', view);
      assert.deepEqual([...c.getBuffer('view')], [1, 2, 3]);
      assert.equal(c.set('full', Buffer.alloc(256, 7)), true);
      assert.equal(c.getBuffer('full').length, 256);
      assert.equal(c.getBuffer('missing'), undefined);
      c.set('text', 'héllo');
      assert.deepEqual(c.getBuffer('text'), Buffer.from('héllo'));
    });

    it('typed arrays of every element size and DataViews store their bytes', () => {
      const c = make();
      const f64 = new Float64Array(new ArrayBuffer(40), 8, 3); // 24 bytes at offset 8
      f64.set([1.5, -2, Math.PI]);
      assert.equal(c.set('f64', f64), true);
      assert.deepEqual(c.getBuffer('f64'), Buffer.from(f64.buffer, 8, 24));
      const i16 = Int16Array.of(-1, 2, 300);
      c.set('i16', i16);
      assert.deepEqual(c.getBuffer('i16'), Buffer.from(i16.buffer));
      const dv = new DataView(new ArrayBuffer(6), 2, 3);
      dv.setUint8(0, 7);
      c.set('dv', dv);
      assert.deepEqual([...c.getBuffer('dv')], [7, 0, 0]);
      const out = new Float64Array(4); // getInto fills any view's bytes
      assert.equal(c.getInto('f64', out), 24);
      assert.deepEqual([...out.subarray(0, 3)], [1.5, -2, Math.PI]);
      assert.throws(() => c.set('big', new Float64Array(33)), { name: 'RangeError', message: /^value: 264 bytes exceeds maxValueBytes/ });
    });

    it('keys and values with lone surrogates are refused; U+FFFD itself is a key', () => {
      const c = make();
      assert.throws(() => c.set('\uD800', 'v'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /^key: contains a lone surrogate at index 0/ });
      assert.throws(() => c.get('ok\uDC00'), { name: 'TypeError', message: /^key: contains a lone surrogate at index 2/ });
      assert.throws(() => c.set('k', 'x\uD83D'), { name: 'TypeError', message: /^value: contains a lone surrogate at index 1/ });
      assert.equal(c.set('\uFFFD', 'replacement char'), true);
      assert.equal(c.set('😀', 'pair'), true);
      assert.deepEqual(c.keys().sort(), ['\uFFFD', '😀'].sort());
      assert.equal(c.get('\uFFFD'), 'replacement char');
    });

    it('a detached buffer is refused, not stored as empty', () => {
      const c = make();
      const u8 = new Uint8Array([1, 2, 3]);
      structuredClone(u8.buffer, { transfer: [u8.buffer] }); // detaches u8's buffer
      assert.throws(() => c.set('k', u8), { name: 'TypeError', message: /^value: its ArrayBuffer is detached/ });
      assert.throws(() => c.getInto('k', u8), { name: 'TypeError', message: /^target: its ArrayBuffer is detached/ });
      assert.equal(c.has('k'), false);
    });

    it('getInto fills the caller\'s buffer and returns the length', () => {
      const c = make();
      const buf = Buffer.alloc(256);
      c.set('k', 'hello');
      assert.equal(c.getInto('k', buf), 5);
      assert.equal(buf.toString('utf8', 0, 5), 'hello');
      assert.equal(c.getInto('missing', buf), undefined);
      const u8 = new Uint8Array(8);
      assert.equal(c.getInto('k', u8), 5);
      assert.deepEqual([...u8.subarray(0, 5)], [...Buffer.from('hello')]);
      c.set('empty', '');
      assert.equal(c.getInto('empty', Buffer.alloc(0)), 0);
      assert.throws(() => c.getInto('k', Buffer.alloc(4)),
                    { name: 'RangeError', code: 'ERR_SHMTABLE_BUFFER_TOO_SMALL', message: /target: 4 bytes cannot hold the value's 5 bytes/ });
    });

    it('incr/add are atomic counters on decimal text', () => {
      const c = make();
      assert.equal(c.incr('n'), 1);
      assert.equal(c.incr('n'), 2);
      assert.equal(c.incr('n', 10), 12);
      assert.equal(c.add('n', -20), -8);
      assert.equal(c.get('n'), '-8');
      c.set('m', '41');
      assert.equal(c.incr('m'), 42);
      assert.equal(c.incr('big', Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
      c.set('word', 'abc');
      assert.throws(() => c.incr('word'), { code: 'ERR_SHMTABLE_NOT_A_NUMBER' });
      assert.equal(c.get('word'), 'abc', 'a failed incr leaves the value');
      c.set('max', '9223372036854775807');
      assert.throws(() => c.incr('max'), { code: 'ERR_SHMTABLE_NOT_A_NUMBER', message: /overflow/ });
      assert.equal(c.get('max'), '9223372036854775807');
    });

    it('compareAndSet stores only over the expected value', () => {
      const c = make();
      assert.equal(c.compareAndSet('flag', 'off', 'on'), false, 'absent key');
      assert.equal(c.has('flag'), false);
      c.set('flag', 'off');
      assert.equal(c.compareAndSet('flag', 'on', 'off'), false);
      assert.equal(c.get('flag'), 'off');
      assert.equal(c.compareAndSet('flag', 'off', 'on'), true);
      assert.equal(c.get('flag'), 'on');
      assert.equal(c.compareAndSet('flag', Buffer.from('on'), new Uint8Array([0x78])), true);
      assert.equal(c.get('flag'), 'x');
    });

    it('setIfAbsent inserts once', () => {
      const c = make();
      assert.equal(c.setIfAbsent('lock', 'owner-1'), true);
      assert.equal(c.setIfAbsent('lock', 'owner-2'), false);
      assert.equal(c.get('lock'), 'owner-1');
      c.delete('lock');
      assert.equal(c.setIfAbsent('lock', 'owner-2'), true);
    });

    it('stats() counts this handle\'s operations under handle', () => {
      const c = make({ maxKeys: 10 });
      c.set('a', '1');
      c.get('a');
      c.get('b');
      c.has('a');
      c.delete('a');
      c.incr('n');
      const s = c.stats();
      assert.equal(s.engine, engine);
      assert.equal(s.maxKeys, 10);
      assert.equal(s.capacity, c.capacity);
      assert.equal(s.size, 1);
      const h = s.handle;
      assert.deepEqual(
        { gets: h.gets, hits: h.hits, misses: h.misses, sets: h.sets, deletes: h.deletes, rmw: h.rmw, tableFull: h.tableFull },
        { gets: 3, hits: 2, misses: 1, sets: 1, deletes: 1, rmw: 1, tableFull: 0 });
    });

    it('two handles on one name share one table', () => {
      const name = uniqueName(`${engine}_shared`);
      const a = createCache({ name, engine, maxKeys: 64 });
      const b = createCache({ name, engine }); // no maxKeys: takes the table's
      open.push(a, b);
      assert.equal(a.created, true);
      assert.equal(b.created, false);
      assert.equal(b.maxKeys, 64);
      a.set('k', 'from a');
      assert.equal(b.get('k'), 'from a');
      b.delete('k');
      assert.equal(a.has('k'), false);
    });

    it('a worker thread opening the name shares the table', async () => {
      const { Worker } = require('node:worker_threads');
      const c = make({ maxKeys: 16 });
      c.set('from', 'main thread');
      const w = new Worker(`
        const { parentPort, workerData } = require('node:worker_threads');
        const t = require(workerData.pkg)({ name: workerData.name, engine: workerData.engine });
        t.set('reply', t.get('from') + ' seen by a worker thread');
        t.close();
        parentPort.postMessage('done');`,
      { eval: true, workerData: { pkg: require.resolve('..'), name: c.name, engine } });
      const [msg] = await require('node:events').once(w, 'message');
      assert.equal(msg, 'done');
      assert.equal(c.get('reply'), 'main thread seen by a worker thread');
      await w.terminate();
    });

    it('persist false: the contents go with the last handle; persist true: they stay until unlink', () => {
      const name = uniqueName(`${engine}_life`);
      let c = createCache({ name, engine });
      c.set('k', 'v');
      c.close();
      c = createCache({ name, engine });
      assert.equal(c.get('k'), undefined, 'a fresh table after the last close');
      c.close();

      const pname = uniqueName(`${engine}_persist`);
      c = createCache({ name: pname, engine, persist: true });
      c.set('k', 'kept');
      c.close();
      c = createCache({ name: pname, engine, persist: true });
      assert.equal(c.get('k'), 'kept');
      assert.equal(c.unlink(), true);
      assert.equal(c.get('k'), 'kept', 'an open handle keeps its table after unlink');
      c.close();
      assert.equal(createCache.unlink(pname), false, 'already gone');
      c = createCache({ name: pname, engine, persist: true });
      assert.equal(c.get('k'), undefined);
      c.unlink();
      c.close();
    });

    it('persist left out is taken from an existing table, as maxKeys is', () => {
      const name = uniqueName(`${engine}_adopt`);
      const keeper = createCache({ name, engine, persist: true, maxKeys: 10 });
      keeper.set('k', 'kept');
      keeper.close();
      const c = createCache({ name, engine }); // what fast-shm-cache's users write
      assert.equal(c.persist, true);
      assert.equal(c.stats().persist, true);
      assert.equal(c.maxKeys, 10);
      assert.equal(c.get('k'), 'kept');
      c.close();
      assert.equal(c.persist, true, 'readable after close()');
      assert.throws(() => createCache({ name, engine, persist: false }),
                    { code: 'ERR_SHMTABLE_LAYOUT_MISMATCH', message: /persist: the segment has true, the options ask for false/ });
      const again = createCache({ name, engine, persist: true });
      assert.equal(again.get('k'), 'kept', 'the persistent table outlived the adopting handle');
      again.unlink();
      again.close();
    });

    it('configurable key and value limits', () => {
      const c = make({ maxKeyBytes: 8, maxValueBytes: 1000 });
      assert.equal(c.maxKeyBytes, 8);
      assert.equal(c.maxValueBytes, 1000);
      assert.equal(c.set('12345678', 'x'.repeat(1000)), true);
      assert.equal(c.get('12345678').length, 1000);
      assert.throws(() => c.set('123456789', 'x'), { name: 'RangeError', message: /maxKeyBytes \(8/ });
      assert.throws(() => c.set('k', 'x'.repeat(1001)), { name: 'RangeError', message: /maxValueBytes \(1000/ });
    });

    it('a file-backed table (path) works like a named one', () => {
      const path = require('node:path');
      const os = require('node:os');
      const file = path.join(os.tmpdir(), `${uniqueName(engine)}.shm`);
      const c = createCache({ path: file, engine, persist: true, maxKeys: 16 });
      c.set('k', 'on disk');
      c.close();
      const d = createCache({ path: file, engine, persist: true });
      assert.equal(d.get('k'), 'on disk');
      assert.equal(d.unlink(), true);
      d.close();
      assert.equal(require('node:fs').existsSync(file), false);
    });

    it('close() is idempotent and later calls throw ERR_SHMTABLE_CLOSED', () => {
      const c = make();
      c.set('k', 'v');
      c.close();
      c.close();
      assert.equal(c.closed, true);
      for (const call of [() => c.get('k'), () => c.set('k', 'v'), () => c.has('k'),
        () => c.delete('k'), () => c.keys(), () => c.clear(), () => c.size, () => c.incr('k'),
        () => c.getInto('k', Buffer.alloc(8)), () => c.stats()]) {
        assert.throws(call, { name: 'Error', code: 'ERR_SHMTABLE_CLOSED', message: /closed/ });
      }
    });

    it('recover() runs on the only handle and refuses while others are attached', () => {
      const c = make();
      c.set('a', '1');
      const report = c.recover();
      assert.equal(report.entries, 1);
      assert.equal(report.duplicateKeys, 0);
      const other = createCache({ name: c.name, engine });
      open.push(other);
      assert.throws(() => c.recover(), { code: 'ERR_SHMTABLE_BUSY' });
    });
  });
}

describe('lock-free get keeps its strings', () => {
  const { spawn } = require('node:child_process');

  it('answers an unchanged entry with the string made before, any change with a new one', () => {
    const c = createCache({ name: uniqueName('lockfree'), engine: 'lockfree' });
    try {
      c.set('k', 'one');
      const first = c.get('k');
      assert.equal(first, 'one');
      assert.equal(c.get('k'), first);
      c.set('k', 'one'); // the same text, a new entry: read again, equal text
      assert.equal(c.get('k'), 'one');
      c.set('k', 'two');
      assert.equal(c.get('k'), 'two');
      c.delete('k');
      assert.equal(c.get('k'), undefined);
      c.set('k', 'three');
      c.set('other', 'four');
      assert.equal(c.get('k'), 'three');
      assert.equal(c.get('other'), 'four');
      assert.equal(c.get('k'), 'three');
      assert.equal(c.getBuffer('k').toString(), 'three'); // Buffers are never kept
      assert.deepEqual(c.stats().handle.gets >= 8, true);
    } finally {
      c.close();
    }
  });

  it('does not keep values over 1 KiB, and answers them and the kept ones right', () => {
    const c = createCache({ name: uniqueName('lockfree'), engine: 'lockfree', maxValueBytes: 4096 });
    try {
      const big = (s) => s.repeat(2000);
      c.set('big', big('a'));
      c.set('small', 'one');
      assert.equal(c.get('small'), 'one');
      assert.equal(c.get('big'), big('a'));
      assert.equal(c.get('small'), 'one');
      assert.equal(c.get('big'), big('a'));
      c.set('big', big('b'));
      assert.equal(c.get('big'), big('b'));
      assert.equal(c.get('small'), 'one');
      c.set('small', 'two');
      assert.equal(c.get('small'), 'two');
      assert.equal(c.get('big'), big('b'));
    } finally {
      c.close();
    }
  });

  it('never answers with a string older than one it returned, while another process writes', async () => {
    const name = uniqueName('lockfree');
    const c = createCache({ name, engine: 'lockfree', maxKeys: 64 });
    try {
      c.set('counter', '0');
      const writes = 20000;
      const child = spawn(process.execPath, ['-e', `
        const u = require(${JSON.stringify(require.resolve('..'))})({ name: ${JSON.stringify(name)}, engine: 'lockfree' });
        for (let i = 1; i <= ${writes}; i++) u.set('counter', String(i));
        u.close();`], { stdio: 'inherit' });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      let last = 0;
      let reads = 0;
      let done = false;
      exited.then(() => { done = true; });
      while (!done) {
        const n = Number(c.get('counter'));
        assert.ok(Number.isInteger(n) && n >= 0 && n <= writes, `read ${n}`);
        assert.ok(n >= last, `read ${n} after ${last}`);
        last = n;
        if (++reads % 1000 === 0) await new Promise((r) => setImmediate(r));
      }
      assert.equal(await exited, 0);
      assert.equal(c.get('counter'), String(writes));
    } finally {
      c.close();
    }
  });
});

describe('both engines in one process', () => {
  it('are separate tables that cannot open each other\'s segment', () => {
    const name = uniqueName('both');
    const lf = createCache({ name, engine: 'lockfree' });
    assert.throws(() => createCache({ name, engine: 'mutex' }),
                  { code: 'ERR_SHMTABLE_LAYOUT_MISMATCH', message: /engine: the segment belongs to the 'lockfree' engine/ });
    assert.equal(lf.get('x'), undefined, 'the failed open left the table intact');
    lf.set('x', '1');
    const mu = createCache({ name: `${name}_m`, engine: 'mutex' });
    mu.set('x', '2');
    assert.equal(lf.get('x'), '1');
    assert.equal(mu.get('x'), '2');
    lf.close();
    mu.close();
  });
});
