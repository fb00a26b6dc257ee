// The ad-hoc get loop of this folder's README: one process, 1000 keys 'session:<i>', 256-byte
// values, a table of maxKeys 10000, 3 s of gets in a fixed pseudo-random order.
//   node getloop.js ENGINE   (SHMTABLE_NODE=path/to/node/package to test another build)
const createCache = require(process.env.SHMTABLE_NODE || '../../node');
const engine = process.argv[2];
const t = createCache({ name: `gx_${engine}`, maxKeys: 10000, engine });
const keys = Array.from({ length: 1000 }, (_, i) => `session:${i}`);
const val = 'v'.repeat(256);
keys.forEach((k) => t.set(k, val));
const seq = new Uint32Array(4096);
let x = 12345;
for (let i = 0; i < seq.length; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; seq[i] = x % 1000; }
const end = Date.now() + 3000; let ops = 0, bad = 0;
while (Date.now() < end) { for (let i = 0; i < 4096; i++) if (t.get(keys[seq[i]]) === undefined) bad++; ops += 4096; }
console.log(`${engine} get ${(ops / 3e6).toFixed(2)} M/s bad ${bad}`);
t.close(); t.unlink();
