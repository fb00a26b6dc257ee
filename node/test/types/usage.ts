// Compiled by types.test.js (tsc --noEmit --strict): index.d.ts must accept this usage.
import createCache = require('../..');
const c = createCache({ name: 'x', maxKeys: 10, engine: 'mutex' });
const ok: boolean = c.set('k', Buffer.from('v'));
const v: string | undefined = c.get('k');
const n: number = c.incr('k', 2);
const added: number = c.add('k') + c.add('k', 5); // delta defaults to 1, as incr's by
const waits = createCache({ name: 'x', readyTimeoutMs: 60_000 });
const timed = createCache({ name: 'x', ttl: 30_000 });
timed.set('k', 'v', { ttl: 1000 });
const inWindow: number = timed.incr('hits', 1, { ttl: 60_000 });
const first: boolean = timed.setIfAbsent('lock', 'me', { ttl: 5000 });
const purged: number = timed.purgeExpired();
// @ts-expect-error a ttl is a number of milliseconds
timed.set('k', 'v', { ttl: '1s' });
console.log(inWindow, first, purged);
const lru = createCache({ name: 'x', maxKeys: 10, eviction: true });
const evicting: boolean = lru.eviction && lru.stats().eviction && createCache.defaults.eviction;
const evicted: number = lru.stats().evictions;
console.log(evicting, evicted);
// @ts-expect-error eviction is a boolean
createCache({ eviction: 'clock' });
// @ts-expect-error readyTimeoutMs is a number of milliseconds
createCache({ readyTimeoutMs: '1m' });
const s: createCache.Stats = c.stats();
const buf = Buffer.alloc(256); const len: number | undefined = c.getInto('k', buf);
createCache.unlink('x');
// @ts-expect-error wrong engine
createCache({ engine: 'redis' });
console.log(ok, v, n, added, waits.persist, s.tableFull, len, c.size, createCache.limits.maxKeyBytes);
const m: createCache.Cache = createCache();
m.compareAndSet('k', 'a', new Uint8Array([1]));
const r: createCache.RecoveryReport = m.recover();
// @ts-expect-error keys are strings
m.get(42);
// @ts-expect-error get returns string | undefined
const wrong: number = m.get('k');
console.log(r.entries, wrong);
