'use strict';
// shmtable: a shared-memory hash table for the processes of one machine.
//
//   const cache = require('shmtable')({ name: 'prod_cache', maxKeys: 10000 });
//   cache.set('session:123', 'active');   // any process that opens 'prod_cache' sees it
//
// The factory takes the fast-shm-cache module's options (name, maxKeys, persist) and more;
// see README.md and index.d.ts. The methods are the native classes' (addon/), which the
// two classes below extend with stats() and unlink(), and with closing at exit.
const binding = require('./lib/binding');
const { DEFAULTS, normalize, slotsFor, maxKeysFor, fail } = require('./lib/options');

// The tables of this process (or worker thread) still open, closed when it exits: a
// program that ends with process.exit() and no close() would otherwise leave each table
// with persist false in /dev/shm, its written pages held in RAM, until the name is opened
// again. Held weakly, so that a table the program drops is still garbage-collected (its
// finalizer closes it); a FinalizationRegistry drops the dead entries.
const stillOpen = new Set(); // WeakRef per open table
const collected = new FinalizationRegistry((ref) => stillOpen.delete(ref));
let closesAtExit = false;

function closeStillOpen() {
  for (const ref of stillOpen) ref.deref()?.close(); // close() removes it from the set
}

// The lock-free engine's get: the addon keeps, by slot and version, which value each
// string it made is of; this side keeps the strings. An entry unchanged since its last
// get (LockFreeTable::get_cached: same slot, same version) is answered with the string
// made then (the addon returns null and where[0] says which), without reading the value
// or making a string again. Strings are immutable: handing out the same one is
// invisible. At most `kept.length` (where[1], from the addon) strings are held per
// handle: the addon's kKept of values up to 1 KiB, and the last one of a larger value.
function keepStrings(table) {
  const getKept = table._getKept;
  const where = table._keptIndex();
  const kept = new Array(where[1]).fill(undefined);
  Object.defineProperty(table, 'get', {
    value: function get(key) {
      const v = getKept(key);
      if (v === null) return kept[where[0]];
      if (v !== undefined) kept[where[0]] = v;
      return v;
    },
    writable: true,
    configurable: true,
  });
}

function withJsMethods(Native) {
  return class extends Native {
    #ref;

    constructor(options) {
      super(options);
      if (typeof this._getKept === 'function') keepStrings(this);
      this.#ref = new WeakRef(this);
      stillOpen.add(this.#ref);
      collected.register(this, this.#ref, this.#ref);
      if (!closesAtExit) {
        process.on('exit', closeStillOpen);
        closesAtExit = true;
      }
    }

    // Detaches (idempotent); later calls throw ERR_SHMTABLE_CLOSED.
    close() {
      super.close();
      stillOpen.delete(this.#ref);
      collected.unregister(this.#ref);
    }

    // The table's shape, the counters every process attached shares (the library's
    // stats(): summed over per-thread stripes, nothing locked), and under `handle` this
    // handle's own counters.
    stats() {
      const capacity = this.capacity;
      return {
        engine: this.engine,
        name: this.name,
        path: this.path,
        persist: this.persist,
        eviction: this.eviction,
        maxKeys: this.maxKeys,
        capacity,
        size: this.size,
        load: this.size / capacity,
        maxKeyBytes: this.maxKeyBytes,
        maxValueBytes: this.maxValueBytes,
        ...this._shared(),
        handle: this._counters(),
      };
    }

    // Removes the table's name (or file): later opens start a new table, processes that
    // have it open keep using theirs. Works on a closed handle too. false if already gone.
    unlink() {
      return this.path !== undefined ? binding.unlink(this.path, true) : binding.unlink(this.name);
    }
  };
}

const LockFreeCache = withJsMethods(binding.LockFreeTable);
const MutexCache = withJsMethods(binding.MutexTable);

function geometryMismatch(table, o, field, asked, detail) {
  let has = `${field} ${table[field]}`;
  let advice = `with ${field} ${table[field]} or without ${field}`;
  if (field === 'maxKeys') {
    const m = maxKeysFor(table.capacity);
    const exact = slotsFor(m) === table.capacity; // else made by other code, sized its own way
    has = `${table.capacity} slots (${exact ? `maxKeys ${m}` : `room for maxKeys ${m}, made with another sizing`})`;
    advice = exact ? `with maxKeys ${m} or without maxKeys` : 'without maxKeys';
  }
  table.close();
  fail(Error, 'ERR_SHMTABLE_LAYOUT_MISMATCH',
       `options.${field}: the table ${o.path !== undefined ? `file '${o.path}'` : `'${o.name}'`} ` +
         `already exists with ${has}; this call asks for ${detail(asked)}. Open it ${advice}, ` +
         'or unlink it first');
}

// A random, non-zero 64-bit hash seed for each table created: keys chosen to collide
// under one seed do not collide under another (the seed lives in the segment's header).
function randomSeed() {
  const seed = require('node:crypto').randomBytes(8).readBigUInt64LE();
  return String(seed === 0n ? 1n : seed);
}

// Opens or creates the table. An existing table is attached first with its own geometry,
// so that a different maxKeys / maxKeyBytes / maxValueBytes is reported in these
// options' terms; only if there is none is it created, with the defaults filled in. A
// process that loses a race to create it attaches to the winner's, as if it had been there.
function open(o) {
  const Cls = o.engine === 'lockfree' ? LockFreeCache : MutexCache;
  // persist, eviction and readyTimeoutMs undefined: the existing table's, and the
  // library's default; ttl: this handle's writes' default time to live (the handle's, not
  // the table's).
  const where = { name: o.name, path: o.path, persist: o.persist, eviction: o.eviction,
                  robust: o.robust, mode: o.mode, readyTimeoutMs: o.readyTimeoutMs, ttl: o.ttl,
                  stats: o.stats };
  const maxKeys = o.maxKeys ?? DEFAULTS.maxKeys;
  const create = {
    ...where,
    persist: o.persist ?? DEFAULTS.persist,
    eviction: o.eviction ?? DEFAULTS.eviction,
    capacity: slotsFor(maxKeys),
    maxKeyBytes: o.maxKeyBytes ?? DEFAULTS.maxKeyBytes,
    maxValueBytes: o.maxValueBytes ?? DEFAULTS.maxValueBytes,
    hashSeed: randomSeed(),
  };
  // The library's waits name its field; a Node user sets the option.
  const construct = (args) => {
    try {
      return new Cls(args);
    } catch (e) {
      if (e.code === 'ERR_SHMTABLE_NOT_READY' || e.code === 'ERR_SHMTABLE_BUSY') {
        e.message = e.message.replace('(ready_timeout_ms)', '(options.readyTimeoutMs)');
      }
      throw e;
    }
  };
  const creating = () => {
    try {
      return construct({ ...create, openMode: 'create' });
    } catch (e) {
      // The library names its own field (capacity = slots: past its limit, or more than
      // the file system has room for); say which option led there.
      if (e.code === 'ERR_SHMTABLE_INVALID_ARGUMENT' && /^((shm|file) '.*': )?capacity:/.test(e.message)) {
        e.message = `options.maxKeys: ${maxKeys} keys need ${create.capacity} slots: ${e.message}`;
      }
      throw e;
    }
  };
  let table;
  for (let round = 1; table === undefined; round++) {
    try {
      table = o.openMode === 'create'
        ? creating()
        : construct({ ...where, capacity: 0, maxKeyBytes: 0, maxValueBytes: 0, openMode: 'open' });
    } catch (e) {
      if (e.code !== 'ERR_SHMTABLE_SEGMENT_MISSING' || o.openMode === 'open') throw e;
      try {
        table = creating();
      } catch (e2) {
        // Another process created it between our two tries: attach to theirs (a few
        // rounds, in case it is also removed again meanwhile).
        if (e2.code !== 'ERR_SHMTABLE_ALREADY_EXISTS' || round >= 8) throw e2;
      }
    }
  }
  if (o.maxKeys !== undefined && table.capacity !== slotsFor(o.maxKeys)) {
    geometryMismatch(table, o, 'maxKeys', o.maxKeys, (m) => `maxKeys ${m} (${slotsFor(m)} slots)`);
  }
  for (const field of ['maxKeyBytes', 'maxValueBytes']) {
    if (o[field] !== undefined && table[field] !== o[field]) {
      geometryMismatch(table, o, field, o[field], (n) => `${field} ${n}`);
    }
  }
  Object.defineProperties(table, {
    name: { value: o.name, enumerable: true },
    path: { value: o.path, enumerable: true },
    maxKeys: { value: maxKeysFor(table.capacity), enumerable: true },
  });
  return table;
}

// The factory, as fast-shm-cache's: require('shmtable')({ name, maxKeys, persist, ... }).
function createCache(options) {
  return open(normalize(options));
}

// Removes a table by name (see unlink() on a handle); false if there was none. The
// addon checks the argument (TypeError for a non-string, RangeError for a bad name).
function unlink(name) {
  return binding.unlink(name);
}

module.exports = createCache;
module.exports.createCache = createCache;
module.exports.default = createCache;
module.exports.unlink = unlink;
module.exports.defaults = DEFAULTS;
module.exports.limits = binding.limits;
module.exports.slotsFor = slotsFor;
