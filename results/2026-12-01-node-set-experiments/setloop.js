// The ad-hoc set loop of this folder's README: the parent creates one table (maxKeys 10000,
// 1000 keys 'session:<i>', 256-byte values) and forks N workers that set random keys for S s.
//   node setloop.js parent ENGINE N S [KEYS]
const { fork } = require('child_process');
const createCache = require(process.env.SHMTABLE_NODE || '../../node');
const [,, role, engine, nprocStr, secsStr, nkeysStr] = process.argv;
const nkeys = Number(nkeysStr || 1000);
const keys = Array.from({ length: nkeys }, (_, i) => `session:${i}`);
const vals = Array.from({ length: 64 }, (_, i) => (`v${i}-`.repeat(64)).slice(0, 256));
const name = `nx_${engine}`;
if (role === 'parent') {
  const t = createCache({ name, maxKeys: 10000, engine });
  keys.forEach((k, i) => t.set(k, vals[i % 64]));
  const n = Number(nprocStr);
  let done = 0, total = 0;
  for (let w = 0; w < n; w++) {
    const c = fork(__filename, ['worker', engine, nprocStr, secsStr, nkeysStr]);
    c.on('message', (m) => { total += m; if (++done === n) { console.log(`${engine} ${n}p ${nkeys} keys: ${(total / Number(secsStr) / 1e6).toFixed(2)} M sets/s`); t.close(); t.unlink(); } });
  }
} else {
  const t = createCache({ name, maxKeys: 10000, engine });
  const seq = new Uint32Array(1 << 16);
  let x = process.pid >>> 0;
  for (let i = 0; i < seq.length; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; seq[i] = x % nkeys; }
  const end = Date.now() + Number(secsStr) * 1000;
  let ops = 0, j = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 4096; i++) { t.set(keys[seq[j++ & 0xffff]], vals[i & 63]); }
    ops += 4096;
  }
  process.send(ops);
  t.close();
}
