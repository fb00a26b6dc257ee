'use strict';
// shmtable: a shared-memory hash table for the processes of one machine.
//
//   const cache = require('shmtable')({ name: 'prod_cache', maxKeys: 10000 });
//   cache.set('session:123', 'active');   // any process that opens 'prod_cache' sees it
//
// The factory takes the fast-shm-cache module's options (name, maxKeys, persist) and more;
// see README.md and index.d.ts. The methods are the native classes' (addon/), which the
// two classes below extend with stats() and unlink().
const binding = require('./lib/binding');
const { DEFAULTS, normalize, slotsFor, maxKeysFor, fail } = require('./lib/options');

function withJsMethods(Native) {
  return class extends Native {
    // This handle's counters, and the table's shape. Counters are per handle (per
    // process): nothing is shared or locked to keep them.
    stats() {
      const capacity = this.capacity;
      return {
        engine: this.engine,
        name: this.name,
        path: this.path,
        persist: this.persist,
        maxKeys: this.maxKeys,
        capacity,
        size: this.size,
        load: this.size / capacity,
        maxKeyBytes: this.maxKeyBytes,
        maxValueBytes: this.maxValueBytes,
        ...this._counters(),
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
  const Cls = o.engine === 'mutex' ? MutexCache : LockFreeCache;
  const where = { name: o.name, path: o.path, persist: o.persist, robust: o.robust, mode: o.mode };
  const maxKeys = o.maxKeys ?? DEFAULTS.maxKeys;
  const create = {
    ...where,
    capacity: slotsFor(maxKeys),
    maxKeyBytes: o.maxKeyBytes ?? DEFAULTS.maxKeyBytes,
    maxValueBytes: o.maxValueBytes ?? DEFAULTS.maxValueBytes,
    hashSeed: randomSeed(),
  };
  const creating = () => {
    try {
      return new Cls({ ...create, openMode: 'create' });
    } catch (e) {
      // The library names its own field (capacity = slots); say which option led there.
      if (e.code === 'ERR_SHMTABLE_INVALID_ARGUMENT' && e.message.startsWith('shmtable: capacity:')) {
        e.message = `options.maxKeys: ${maxKeys} keys need ${create.capacity} slots: ` +
          e.message.replace(/^shmtable: /, '');
      }
      throw e;
    }
  };
  let table;
  for (let round = 1; table === undefined; round++) {
    try {
      table = o.openMode === 'create'
        ? creating()
        : new Cls({ ...where, capacity: 0, maxKeyBytes: 0, maxValueBytes: 0, openMode: 'open' });
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
    persist: { value: o.persist, enumerable: true },
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
