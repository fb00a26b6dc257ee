// Type declarations for shmtable (index.js). See README.md for the behaviour of each call.
// Values and getBuffer use Node's Buffer: the types need @types/node (an optional peer
// dependency), which the reference below names so that its absence is reported as such.
/// <reference types="node" />

declare namespace createCache {
  type Engine = 'lockfree' | 'mutex' | 'robust';
  type OpenMode = 'openOrCreate' | 'create' | 'open';
  /** A value to store: a string (stored as UTF-8) or any ArrayBufferView's bytes. */
  type Value = string | Buffer | Uint8Array | ArrayBufferView;

  interface Options {
    /** Shared-memory name: 1..200 bytes of [A-Za-z0-9._-], not starting with '.'. Default 'shmtable'. */
    name?: string;
    /** Or a file that backs the table (instead of name). */
    path?: string;
    /** Distinct keys that always fit. Default 1024 when creating; omitted, an existing table's is taken. */
    maxKeys?: number;
    /** Keep the contents after the last process closes the table (until unlink() or reboot). Default false when creating; omitted, an existing table's is taken. */
    persist?: boolean;
    /**
     * Engine 'lockfree' only. true: once the table holds 90 % of its slots, an insert evicts an
     * entry no get read since CLOCK's hand last passed (counted in stats().evictions) instead of
     * being refused. Default false (a full table refuses new keys, as fast-shm-cache's) when
     * creating; omitted, an existing table's is taken. true with engine 'mutex' or 'robust' is a TypeError.
     */
    eviction?: boolean;
    /** Default 'lockfree'. 'mutex': fast-shm-cache's design (a mutex per slot); 'robust': the same with robust mutexes (robust: true). */
    engine?: Engine;
    /** Longest key in UTF-8 bytes, 1..4096. Default 64. */
    maxKeyBytes?: number;
    /** Longest value in bytes, 1..1048576. Default 256. */
    maxValueBytes?: number;
    /** engine 'mutex' only: robust mutexes that recover when a holder dies, as engine 'robust'. Default false (true for engine 'robust'). */
    robust?: boolean;
    /** Permission bits of a created table, within 0o777 and including 0o600. Default 0o600. */
    mode?: number;
    /** Default 'openOrCreate'. */
    openMode?: OpenMode;
    /** false: this handle counts nothing in the table's shared statistics (stats()). Default true. */
    stats?: boolean;
    /** How long an open waits (ms, 0..2**32-1) for another process that is creating a mutex table of that name, opening or closing the table at that moment, or holding it in recover(). Default 10000. */
    readyTimeoutMs?: number;
    /** This handle's writes' time to live in ms (fractions allowed, 0..100 years; 0: none) where a call gives none: set, setIfAbsent, and incr/add of a key they create. Default none. */
    ttl?: number;
  }

  /** A write's options. */
  interface WriteOptions {
    /** Time to live in ms (fractions allowed, 0..100 years): from then on the entry is absent to every call. 0: no deadline (overrides the handle's ttl option). */
    ttl?: number;
  }

  interface Stats {
    engine: Engine;
    name: string | undefined;
    path: string | undefined;
    persist: boolean;
    /** Whether the table evicts (options.eviction). */
    eviction: boolean;
    maxKeys: number;
    /** Slots in the table. */
    capacity: number;
    size: number;
    /** size / capacity. */
    load: number;
    maxKeyBytes: number;
    maxValueBytes: number;
    /**
     * Shared by every process attached, since the table was created (a sum of per-thread
     * counters: exact once writers are done). Numbers: exact up to 2**53.
     * Keys looked up by get, getBuffer, getInto, getMany and has: present (hits) or absent (misses).
     */
    hits: number;
    misses: number;
    /** Writes that stored a value (set, incr/add, a successful compareAndSet or setIfAbsent); inserts: those that created the key. */
    sets: number;
    inserts: number;
    /** Keys removed by delete and clear. */
    erases: number;
    /** Entries evicted (a table with eviction: true; else 0), and expired entries freed. */
    evictions: number;
    expirations: number;
    /** Writes refused because the table was full. */
    tableFull: number;
    /** size. */
    entries: number;
    /** Lock-free engine: record buffers leaked by crashed processes since the last recover() (0 for mutex tables). */
    leakedBuffers: number;
    /** Counter stripes held by open handles, of `stripes`. */
    stripesInUse: number;
    stripes: number;
    /** This handle's own counters, since it was opened. */
    handle: HandleStats;
  }

  interface HandleStats {
    gets: number;
    hits: number;
    misses: number;
    sets: number;
    /** Writes refused because the table was full (set returned false, or incr/setIfAbsent threw). */
    tableFull: number;
    deletes: number;
    /** incr/add, compareAndSet and setIfAbsent calls. */
    rmw: number;
  }

  interface RecoveryReport {
    entries: number;
    pendingCleared: number;
    buffersReclaimed: number;
    /** lock-free: spare-buffer permits held by processes that died, reset */
    sparesCleared: number;
    boundsLowered: number;
    boundsRaised: number;
    duplicateKeys: number;
    corruptSlots: number;
    /** lock-free: records whose key padding held garbage (hiding the key from get), zeroed */
    keysRepaired: number;
    locksReset: number;
  }

  /** Errors carry a code: ERR_SHMTABLE_KEY_TOO_LARGE, ERR_SHMTABLE_LAYOUT_MISMATCH, ERR_SHMTABLE_CLOSED, ... */
  interface ShmtableError extends Error {
    code: string;
  }

  interface Cache {
    /** Stores the value (with options.ttl, or the handle's ttl, it expires then; else it has no deadline); false if the key is new and the table is full. */
    set(key: string, value: Value, options?: WriteOptions): boolean;
    /** The value as a string (UTF-8), or undefined. */
    get(key: string): string | undefined;
    /** The value's bytes in a new Buffer, or undefined. */
    getBuffer(key: string): Buffer | undefined;
    /** Each key's value (undefined where absent), read as a batch: for big tables several times faster than a get() per key. Each read is atomic on its own; the batch is not one snapshot. */
    getMany(keys: readonly string[]): (string | undefined)[];
    /** Copies the value into target without allocating; its length in bytes, or undefined. */
    getInto(key: string, target: Buffer | Uint8Array | ArrayBufferView): number | undefined;
    /** true if the key was present. */
    delete(key: string): boolean;
    has(key: string): boolean;
    keys(): string[];
    clear(): void;
    /** Atomically adds `by` (default 1) to the key's decimal value (absent counts as 0); the new value. */
    incr(key: string, by?: number, options?: WriteOptions): number;
    /** incr under another name: adds `delta` (default 1). A ttl goes to a key it creates; a present key keeps its deadline (a fixed-window counter). */
    add(key: string, delta?: number, options?: WriteOptions): number;
    /** Stores desired only if the key holds exactly expected; true if stored. */
    compareAndSet(key: string, expected: Value, desired: Value): boolean;
    /** Inserts only if the key is absent; true if inserted. */
    setIfAbsent(key: string, value: Value, options?: WriteOptions): boolean;
    /** Frees every expired entry now (writers also free those they meet); how many. */
    purgeExpired(): number;
    /** Entries in the table (best effort while others write). */
    readonly size: number;
    stats(): Stats;
    /** Reclaims what crashed processes left; only while this is the table's only handle. */
    recover(): RecoveryReport;
    /** Detaches (idempotent); later calls throw ERR_SHMTABLE_CLOSED. Tables still open when the process exits are closed then. */
    close(): void;
    /** Removes the table's name; open handles keep their table. false if already gone. */
    unlink(): boolean;
    readonly closed: boolean;
    /** true if this handle created the table. */
    readonly created: boolean;
    readonly engine: Engine;
    readonly name: string | undefined;
    readonly path: string | undefined;
    readonly persist: boolean;
    /** Whether the table evicts (options.eviction, or the existing table's); readable after close(). */
    readonly eviction: boolean;
    readonly maxKeys: number;
    readonly capacity: number;
    readonly maxKeyBytes: number;
    readonly maxValueBytes: number;
  }

  const createCache: (options?: Options) => Cache;
  /** Removes a table by name; false if there was none. */
  function unlink(name: string): boolean;
  /** Slots a table gets for maxKeys keys. */
  function slotsFor(maxKeys: number): number;
  const defaults: Readonly<{
    name: string;
    maxKeys: number;
    maxKeyBytes: number;
    maxValueBytes: number;
    persist: boolean;
    eviction: boolean;
    engine: Engine;
  }>;
  const limits: Readonly<{ maxKeyBytes: number; maxValueBytes: number; maxNameBytes: number }>;
}

/** require('shmtable')({ name, maxKeys, persist, ... }): opens or creates a shared table. */
declare function createCache(options?: createCache.Options): createCache.Cache;

export = createCache;
