'use strict';
// The factory's options: validation (TypeError / RangeError naming the option and its
// limit) and sizing. Defaults are fast-shm-cache's: maxKeys 1024, persist false, 64-byte
// keys, 256-byte values, no eviction (a full table refuses new keys).
const { engines, limits, validateName } = require('./binding');

const DEFAULTS = Object.freeze({
  name: 'shmtable',
  maxKeys: 1024,
  maxKeyBytes: 64,
  maxValueBytes: 256,
  persist: false,
  eviction: false,
  engine: 'lockfree',
});

const OPEN_MODES = ['openOrCreate', 'create', 'open'];
const KNOWN = ['name', 'path', 'maxKeys', 'persist', 'eviction', 'engine', 'maxKeyBytes', 'maxValueBytes',
               'robust', 'mode', 'openMode', 'readyTimeoutMs', 'ttl',
               'stats'];

// The longest time to live, in ms: the library's kMaxTtl (100 years).
const MAX_TTL_MS = 100 * 365 * 24 * 3600 * 1000;

// Slots for maxKeys keys: a load factor of at most 3/4, so that maxKeys distinct keys
// always fit (both engines probe linearly; the lock-free engine probes at most
// min(slots - 1, 16383) slots past a key's home, which a table 3/4 full stays far below).
function slotsFor(maxKeys) {
  return maxKeys + Math.ceil(maxKeys / 3);
}

// The largest maxKeys that slotsFor maps to at most `slots` (for messages and stats).
function maxKeysFor(slots) {
  let m = Math.floor((slots * 3) / 4);
  while (m > 0 && slotsFor(m) > slots) m -= 1;
  while (slotsFor(m + 1) <= slots) m += 1;
  return m;
}

function fail(Cls, code, message) {
  const e = new Cls(message);
  e.code = code;
  throw e;
}

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function integer(o, field, min, max) {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') {
    fail(TypeError, 'ERR_INVALID_ARG_TYPE', `options.${field}: expected a number, got ${describe(v)}`);
  }
  if (!Number.isInteger(v) || v < min || v > max) {
    fail(RangeError, 'ERR_OUT_OF_RANGE',
         `options.${field}: expected an integer from ${min} to ${max}, got ${v}`);
  }
  return v;
}

function boolean(o, field) {
  const v = o[field];
  if (v !== undefined && typeof v !== 'boolean') {
    fail(TypeError, 'ERR_INVALID_ARG_TYPE', `options.${field}: expected a boolean, got ${describe(v)}`);
  }
  return v;
}

function oneOf(o, field, allowed) {
  const v = o[field];
  if (v !== undefined && !allowed.includes(v)) {
    fail(typeof v === 'string' ? RangeError : TypeError,
         typeof v === 'string' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE',
         `options.${field}: expected ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describe(v)}`);
  }
  return v;
}

// Returns the options with every field checked; fields the caller left out stay undefined
// (the factory then takes them from an existing table, or the defaults when creating).
function normalize(options) {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    fail(TypeError, 'ERR_INVALID_ARG_TYPE', `options: expected an object, got ${describe(options)}`);
  }
  for (const field of Object.keys(options)) {
    if (!KNOWN.includes(field)) {
      fail(TypeError, 'ERR_INVALID_ARG_VALUE',
           `options.${field}: unknown option (known: ${KNOWN.join(', ')})`);
    }
  }
  const o = {};
  for (const field of ['name', 'path']) {
    const v = options[field];
    if (v !== undefined && typeof v !== 'string') {
      fail(TypeError, 'ERR_INVALID_ARG_TYPE', `options.${field}: expected a string, got ${describe(v)}`);
    }
    o[field] = v;
  }
  if (o.name !== undefined && o.path !== undefined) {
    fail(TypeError, 'ERR_INVALID_ARG_VALUE', 'options: give name or path, not both');
  }
  if (o.path === undefined) {
    o.name = o.name ?? DEFAULTS.name;
    try {
      validateName(o.name); // the library's rule: 1..200 bytes of [A-Za-z0-9._-], no leading '.'
    } catch (e) {
      e.message = e.message.replace(/^name:/, 'options.name:');
      throw e;
    }
  }
  if (o.path === '') fail(RangeError, 'ERR_INVALID_ARG_VALUE', 'options.path: must not be empty');
  // Segment size guard is the library's (1 TiB); this bound only keeps the arithmetic exact.
  o.maxKeys = integer(options, 'maxKeys', 1, 2 ** 40);
  o.maxKeyBytes = integer(options, 'maxKeyBytes', 1, limits.maxKeyBytes);
  o.maxValueBytes = integer(options, 'maxValueBytes', 1, limits.maxValueBytes);
  o.mode = integer(options, 'mode', 0, 0o777);
  if (o.mode !== undefined && (o.mode & 0o600) !== 0o600) {
    fail(RangeError, 'ERR_OUT_OF_RANGE',
         `options.mode: 0o${o.mode.toString(8)} must include 0o600 (the owner reads and writes the table)`);
  }
  // Left out: an existing table's (DEFAULTS.persist when creating), as maxKeys is.
  o.persist = boolean(options, 'persist');
  // Left out: an existing table's (DEFAULTS.eviction when creating), as persist is.
  o.eviction = boolean(options, 'eviction');
  o.engine = oneOf(options, 'engine', engines) ?? DEFAULTS.engine;
  // engine 'robust' is the mutex engine with robust: true.
  o.robust = boolean(options, 'robust') ?? o.engine === 'robust';
  o.openMode = oneOf(options, 'openMode', OPEN_MODES) ?? 'openOrCreate';
  // How long an open waits for another process creating the table (a big mutex table
  // takes seconds), or recovering it; left out, the library's (kDefaultReadyTimeoutMs).
  o.readyTimeoutMs = integer(options, 'readyTimeoutMs', 0, 2 ** 32 - 1);
  // This handle's writes' time to live in ms where a call gives none (0 or left out:
  // none); a per-call { ttl } overrides it, { ttl: 0 } included.
  const ttl = options.ttl;
  if (ttl !== undefined) {
    if (typeof ttl !== 'number') {
      fail(TypeError, 'ERR_INVALID_ARG_TYPE',
           `options.ttl: expected a number of milliseconds, got ${describe(ttl)}`);
    }
    if (!(ttl >= 0 && ttl <= MAX_TTL_MS)) {
      fail(RangeError, 'ERR_OUT_OF_RANGE',
           `options.ttl: expected milliseconds from 0 (none) to ${MAX_TTL_MS} (100 years), got ${ttl}`);
    }
  }
  o.ttl = ttl;
  // false: this handle counts nothing in the table's shared statistics (stats()).
  o.stats = boolean(options, 'stats') ?? true;
  if (o.robust && o.engine === 'lockfree') {
    fail(TypeError, 'ERR_INVALID_ARG_VALUE',
         "options.robust: only for engine 'mutex' (the lock-free engine is crash-safe by design)");
  }
  if (!o.robust && o.engine === 'robust') {
    fail(TypeError, 'ERR_INVALID_ARG_VALUE',
         "options.robust: false contradicts engine 'robust' (the mutex engine with robust locks)");
  }
  if (o.eviction && o.engine !== 'lockfree') {
    fail(TypeError, 'ERR_INVALID_ARG_VALUE',
         `options.eviction: only for engine 'lockfree' (engine '${o.engine}' keeps ` +
           "fast-shm-cache's behaviour: a full table refuses new keys)");
  }
  return o;
}

module.exports = { DEFAULTS, normalize, slotsFor, maxKeysFor, fail };
