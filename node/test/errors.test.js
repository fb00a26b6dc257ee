'use strict';
// Bad input: every misuse throws a TypeError / RangeError / Error whose message names the
// argument and the limit, and leaves the table as it was.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const createCache = require('..');
const { ENGINES, uniqueName } = require('./helpers');

describe('factory options', () => {
  const cases = [
    [42, TypeError, /^options: expected an object, got number 42/],
    [[], TypeError, /^options: expected an object, got an array/],
    [{ maxkeys: 10 }, TypeError, /^options\.maxkeys: unknown option \(known: name, path, maxKeys/],
    [{ name: 7 }, TypeError, /^options\.name: expected a string, got number 7/],
    [{ name: '' }, RangeError, /^options\.name: must not be empty/],
    [{ name: 'a/b' }, RangeError, /^options\.name: character '\/' is not allowed/],
    [{ name: '.hidden' }, RangeError, /^options\.name: must not start with '\.'/],
    [{ name: 'x'.repeat(201) }, RangeError, /^options\.name: 201 bytes/],
    [{ name: 'a', path: '/tmp/a' }, TypeError, /^options: give name or path, not both/],
    [{ maxKeys: '10' }, TypeError, /^options\.maxKeys: expected a number, got string "10"/],
    [{ maxKeys: 0 }, RangeError, /^options\.maxKeys: expected an integer from 1 to/],
    [{ maxKeys: 1.5 }, RangeError, /^options\.maxKeys: expected an integer/],
    [{ maxKeys: NaN }, RangeError, /^options\.maxKeys: expected an integer/],
    [{ maxKeyBytes: 4097 }, RangeError, /^options\.maxKeyBytes: expected an integer from 1 to 4096, got 4097/],
    [{ maxValueBytes: 0 }, RangeError, /^options\.maxValueBytes: expected an integer from 1 to 1048576, got 0/],
    [{ persist: 'yes' }, TypeError, /^options\.persist: expected a boolean, got string "yes"/],
    [{ eviction: 1 }, TypeError, /^options\.eviction: expected a boolean, got number 1/, 'ERR_INVALID_ARG_TYPE'],
    [{ engine: 'mutex', eviction: true }, TypeError, /^options\.eviction: only for engine 'lockfree' \(engine 'mutex'/, 'ERR_INVALID_ARG_VALUE'],
    [{ engine: 'redis' }, RangeError, /^options\.engine: expected 'lockfree' or 'mutex' or 'robust', got string "redis"/],
    [{ engine: 1 }, TypeError, /^options\.engine: expected 'lockfree' or 'mutex'/, 'ERR_INVALID_ARG_TYPE'],
    [{ robust: true }, TypeError, /^options\.robust: only for engine 'mutex'/],
    [{ mode: 0o400 }, RangeError, /^options\.mode: 0o400 must include 0o600/],
    [{ mode: 0o1600 }, RangeError, /^options\.mode: expected an integer from 0 to 511, got 896/],
    [{ openMode: 'maybe' }, RangeError, /^options\.openMode: expected 'openOrCreate' or 'create' or 'open'/],
    [{ readyTimeoutMs: '10s' }, TypeError, /^options\.readyTimeoutMs: expected a number, got string "10s"/],
    [{ readyTimeoutMs: -1 }, RangeError, /^options\.readyTimeoutMs: expected an integer from 0 to 4294967295, got -1/],
  ];
  for (const [options, Cls, message, code] of cases) {
    it(`${JSON.stringify(options) ?? String(options)} -> ${Cls.name}`, () => {
      assert.throws(() => createCache(options), (e) => {
        assert.equal(e.constructor, Cls);
        assert.match(e.message, message);
        assert.ok(e.code, 'every error has a code');
        if (code) assert.equal(e.code, code);
        return true;
      });
    });
  }

  it('a table too large for the library names the limit', () => {
    assert.throws(() => createCache({ name: uniqueName('huge'), maxKeys: 2 ** 40 }),
                  { name: 'RangeError', code: 'ERR_SHMTABLE_INVALID_ARGUMENT',
                    message: /^options\.maxKeys: 1099511627776 keys need 1466015503702 slots: capacity: .*limit of/ });
  });

  it('a table larger than the free space of /dev/shm is refused at creation, leaving no name', () => {
    const name = uniqueName('nospace');
    assert.throws(() => createCache({ name, maxKeys: 1e9 }), // 478 GiB: past any /dev/shm here
                  { name: 'RangeError', code: 'ERR_SHMTABLE_INVALID_ARGUMENT',
                    message: new RegExp(`^options\\.maxKeys: 1000000000 keys need 1333333334 slots: shm '${name}': ` +
                                        'capacity: 1333333334 slots need \\d+ bytes \\([\\d.]+ GiB\\), more than the \\d+ bytes ' +
                                        '\\([\\d.]+ GiB\\) available in /dev/shm') });
    assert.equal(require('node:fs').existsSync(`/dev/shm/${name}`), false);
  });

  it('readyTimeoutMs: how long an open waits for another process opening or closing the table', async () => {
    const { spawn } = require('node:child_process');
    const name = uniqueName('notready');
    createCache({ name, persist: true }).close();
    // A process stopped while it decides about the table (opening or closing it): it
    // write-locks the table's gate, byte 1 of the file (kGateByte, src/segment_header.hpp),
    // with an open-file-description lock, as the library does.
    const hold = `import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, os.SEEK_SET, 1, 1, 0))
print('locked', flush=True)
time.sleep(600)`;
    const holder = spawn('python3', ['-c', hold, `/dev/shm/${name}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await require('node:events').once(holder.stdout, 'data');
      assert.throws(() => createCache({ name, readyTimeoutMs: 50 }),
                    { name: 'Error', code: 'ERR_SHMTABLE_NOT_READY',
                      message: `shm '${name}': another process held its gate (opening or closing it) for over 50 ms (options.readyTimeoutMs)` });
    } finally {
      holder.kill('SIGKILL');
      await require('node:events').once(holder, 'exit');
    }
    const c = createCache({ name, readyTimeoutMs: 50 }); // the holder is gone: it opens
    assert.equal(c.created, false);
    c.close();
    createCache.unlink(name);
  });

  it('processes racing to open a missing table all end up on one table', async () => {
    const { spawn } = require('node:child_process');
    const once = require('node:events').once;
    const script = `const c = require(${JSON.stringify(require.resolve('..'))})(JSON.parse(process.argv[1]));
      process.stdout.write(JSON.stringify({ capacity: c.capacity, created: c.created }));`;
    for (let round = 0; round < 6; round++) {
      const name = uniqueName('race');
      // One opener with maxKeys and two without, started together: whoever creates it, the
      // others attach (the one with maxKeys may only fail on a real size mismatch).
      const kids = [{ name, maxKeys: 1024 }, { name }, { name }].map((o) => {
        const p = spawn(process.execPath, ['-e', script, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => { out += d; });
        p.stderr.on('data', (d) => { err += d; });
        return once(p, 'exit').then(([code]) => ({ code, out, err }));
      });
      const results = await Promise.all(kids);
      for (const r of results) assert.equal(r.code, 0, r.err);
      const parsed = results.map((r) => JSON.parse(r.out));
      assert.ok(parsed.every((p) => p.capacity === 1366), JSON.stringify(parsed));
    }
  });

  it('openMode open on a missing table, create on an existing one', () => {
    const name = uniqueName('modes');
    assert.throws(() => createCache({ name, openMode: 'open' }), { code: 'ERR_SHMTABLE_SEGMENT_MISSING' });
    const c = createCache({ name, openMode: 'create' });
    assert.throws(() => createCache({ name, openMode: 'create' }), { code: 'ERR_SHMTABLE_ALREADY_EXISTS' });
    c.close();
  });
});

for (const engine of ENGINES) {
  describe(`engine ${engine}: layout mismatch with an existing table`, () => {
    const name = uniqueName(`${engine}_mismatch`);
    let c;
    before(() => {
      c = createCache({ name, engine, maxKeys: 100, maxValueBytes: 300 });
      c.set('keep', 'me');
    });
    after(() => c.close());

    const cases = [
      [{ maxKeys: 50 }, /^options\.maxKeys: the table '.*' already exists with 134 slots \(maxKeys 100\); this call asks for maxKeys 50 \(67 slots\)\. Open it with maxKeys 100 or without maxKeys, or unlink it first$/],
      [{ maxValueBytes: 256 }, /^options\.maxValueBytes: the table '.*' already exists with maxValueBytes 300; this call asks for maxValueBytes 256/],
      [{ maxKeyBytes: 32 }, /^options\.maxKeyBytes: the table '.*' already exists with maxKeyBytes 64; this call asks for maxKeyBytes 32/],
      [{ persist: true }, /persist: the segment has false, the options ask for true/],
      ...(engine === 'lockfree' ? [[{ eviction: true }, /eviction: the segment has false, the options ask for true/]] : []),
      [{ engine: engine === 'lockfree' ? 'mutex' : 'lockfree' }, /engine: the segment belongs to the '\w+' engine/],
    ];
    if (engine !== 'lockfree') {
      const other = engine === 'mutex' ? 'robust' : 'mutex';
      cases.push([{ engine: other }, new RegExp(`robust: the segment has ${engine === 'robust'}, the options ask for ${other === 'robust'}`)]);
    }
    for (const [extra, message] of cases) {
      it(`${JSON.stringify(extra)} throws ERR_SHMTABLE_LAYOUT_MISMATCH and leaves the table`, () => {
        assert.throws(() => createCache({ name, engine, ...extra }),
                      { name: 'Error', code: 'ERR_SHMTABLE_LAYOUT_MISMATCH', message });
        assert.equal(c.get('keep'), 'me');
        assert.equal(c.size, 1);
      });
    }

    it('the same options, or none, attach', () => {
      const d = createCache({ name, engine, maxKeys: 100, maxValueBytes: 300 });
      const e = createCache({ name, engine });
      assert.equal(d.get('keep'), 'me');
      assert.equal(e.maxKeys, 100);
      assert.equal(e.maxValueBytes, 300);
      d.close();
      e.close();
    });
  });

  describe(`engine ${engine}: bad arguments`, () => {
    let c;
    before(() => {
      c = createCache({ name: uniqueName(`${engine}_args`), engine, maxKeys: 16 });
      c.set('present', 'value');
    });
    after(() => c.close());

    const key64 = 'k'.repeat(64);
    const cases = [
      ['get(123)', () => c.get(123), TypeError, /^key: expected a string, got number/],
      ['get()', () => c.get(), TypeError, /^key: expected a string, got undefined/],
      ['get(null)', () => c.get(null), TypeError, /^key: expected a string, got null/],
      ['get(Buffer)', () => c.get(Buffer.from('k')), TypeError, /^key: expected a string, got an object/],
      ['set({}, v)', () => c.set({}, 'v'), TypeError, /^key: expected a string, got an object/],
      ['has(Symbol)', () => c.has(Symbol('k')), TypeError, /^key: expected a string, got symbol/],
      ['delete(1n)', () => c.delete(1n), TypeError, /^key: expected a string, got bigint/],
      ['set(65-byte key)', () => c.set(`${key64}x`, 'v'), RangeError, /^key: 65 bytes exceeds maxKeyBytes \(64; counted in UTF-8 bytes\)/],
      ['get(33 two-byte chars)', () => c.get('é'.repeat(33)), RangeError, /^key: 66 bytes exceeds maxKeyBytes \(64/],
      ['get(key ending in a 4-byte char past the limit)', () => c.get(`${'k'.repeat(62)}🔑`), RangeError, /^key: 66 bytes exceeds maxKeyBytes \(64/],
      ['set(k, 257-byte value)', () => c.set('k', 'v'.repeat(257)), RangeError, /^value: 257 bytes exceeds maxValueBytes \(256/],
      ['set(k, 129 two-byte chars)', () => c.set('k', 'é'.repeat(129)), RangeError, /^value: 258 bytes exceeds maxValueBytes \(256/],
      ['set(k, 257-byte Buffer)', () => c.set('k', Buffer.alloc(257)), RangeError, /^value: 257 bytes exceeds maxValueBytes \(256/],
      ['set(k, 42)', () => c.set('k', 42), TypeError, /^value: expected a string, Buffer or Uint8Array, got number/],
      ['set(k)', () => c.set('k'), TypeError, /^value: expected a string, Buffer or Uint8Array, got undefined/],
      ['set(k, {})', () => c.set('k', {}), TypeError, /^value: expected a string, Buffer or Uint8Array, got an object/],
      ['incr(k, "1")', () => c.incr('k', '1'), TypeError, /^by: expected a number, got string/],
      ['incr(k, 0.5)', () => c.incr('k', 0.5), RangeError, /^by: expected a safe integer/],
      ['incr(k, 2**53)', () => c.incr('k', 2 ** 53), RangeError, /^by: expected a safe integer/],
      ['incr(present)', () => c.incr('present'), Error, /is not a decimal signed 64-bit integer/],
      ['compareAndSet(k, 1, v)', () => c.compareAndSet('k', 1, 'v'), TypeError, /^expected: expected a string, Buffer or Uint8Array, got number/],
      ['compareAndSet(k, v, 257 bytes)', () => c.compareAndSet('k', 'v', 'd'.repeat(257)), RangeError, /^desired: 257 bytes exceeds maxValueBytes \(256/],
      ['setIfAbsent(k, null)', () => c.setIfAbsent('k', null), TypeError, /^value: expected a string, Buffer or Uint8Array, got null/],
      ['getInto(k, "str")', () => c.getInto('present', 'str'), TypeError, /^target: expected a Buffer or Uint8Array, got string/],
      ['getInto(k, small)', () => c.getInto('present', Buffer.alloc(2)), RangeError, /^target: 2 bytes cannot hold the value's 5 bytes/],
    ];
    for (const [label, call, Cls, message] of cases) {
      it(`${label} -> ${Cls.name}, table intact`, () => {
        assert.throws(call, (e) => {
          assert.equal(e.constructor, Cls, e.stack);
          assert.match(e.message, message);
          assert.ok(e.code, 'every error has a code');
          return true;
        });
        assert.equal(c.get('present'), 'value');
        assert.equal(c.size, 1);
        assert.equal(c.has('k'), false);
      });
    }

    it('the createCache.unlink helper checks its argument', () => {
      assert.throws(() => createCache.unlink(5), { name: 'TypeError', message: /^name: expected a string/ });
      assert.throws(() => createCache.unlink('bad/name'), { name: 'RangeError', code: 'ERR_SHMTABLE_INVALID_NAME' });
      assert.equal(createCache.unlink(uniqueName('never')), false);
    });
  });
}

// One style for every message, whichever layer raised it (options in JS, arguments in the
// addon, the table in the C++ library): "<subject>: <what>", the subject being the option,
// argument or table; the code is in e.code, never in the message.
describe('every error message has one style', () => {
  const name = uniqueName('style');
  const c = createCache({ name, maxKeys: 1 });
  c.set('text', 'not a number');
  const full = createCache({ name: uniqueName('style_full'), maxKeys: 1 });
  while (full.size < full.capacity) full.incr(`k${full.size}`);
  const closed = createCache({ name: uniqueName('style_closed') });
  closed.close();
  const cases = {
    'an option': () => createCache({ maxKeys: -1 }),
    'a name': () => createCache({ name: 'a/b' }),
    'an argument': () => c.get(1),
    'a layout mismatch': () => createCache({ name, engine: 'mutex' }),
    'a geometry mismatch': () => createCache({ name, maxKeys: 2 }),
    'a persist mismatch': () => createCache({ name, persist: true }),
    'an eviction mismatch': () => createCache({ name, eviction: true }),
    'a table that exists': () => createCache({ name, openMode: 'create' }),
    'a table that does not': () => createCache({ name: uniqueName('style_none'), openMode: 'open' }),
    'a value that is not a number': () => c.incr('text'),
    'a full table': () => full.incr('one-more'),
    'a closed table': () => closed.get('k'),
    'unlink of a bad name': () => createCache.unlink('.x'),
  };
  for (const [what, call] of Object.entries(cases)) {
    it(what, () => {
      assert.throws(call, (e) => {
        assert.match(e.code, /^ERR_/);
        assert.match(e.message, /^(options(\.\w+)?|name|key|closed|add|set|(shm|file) '[^']*'): \S/);
        assert.doesNotMatch(e.message, /^shmtable: /, 'no library prefix');
        assert.doesNotMatch(e.message, /\[\w+\]$/, 'the code is e.code, not a suffix');
        return true;
      });
    });
  }
  it('a missing addon', () => {
    const r = require('node:child_process').spawnSync(process.execPath, ['-e', `
      try { require('.'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`],
    { encoding: 'utf8', cwd: require('node:path').join(__dirname, '..'),
      env: { ...process.env, SHMTABLE_ADDON: '/nonexistent/shmtable.node' } });
    const e = JSON.parse(r.stdout);
    assert.equal(e.code, 'ERR_SHMTABLE_ADDON_MISSING');
    assert.match(e.message, /^addon '\/nonexistent\/shmtable\.node': shmtable cannot load its native addon \(.*\)\. It is built at install time: run `npm rebuild shmtable`/);
  });

  it('closes its tables', () => {
    c.close();
    full.close();
  });
});
