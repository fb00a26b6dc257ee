'use strict';
// A rate limiter shared by every process of a cluster, exact under contention.
//
// The usual get-then-set limiter (read the count, compare, write count + 1) is racy: two
// workers can read the same count and both admit. Here every admission is one successful
// compareAndSet from "window:count" to "window:count+1" on the shared table, so across all
// workers exactly `limit` calls per window and client get `true`, however they interleave.
// A client has one key, whatever the number of windows: size maxKeys for the number of
// distinct clients you expect (or clear() the table now and then). When the table is
// full, a new client's first call throws ERR_SHMTABLE_TABLE_FULL: catch it, and admit or
// refuse as your policy says.
//
//   const cache = require('shmtable')({ name: 'rate_limits', maxKeys: 100000 });
//   const allow = createRateLimiter(cache, { limit: 100, windowMs: 60_000 });
//   if (!allow(req.socket.remoteAddress)) res.writeHead(429).end();
//
// Run this file to see it: `node examples/rate-limiter.js [workers] [limit] [attempts]`
// forks the workers, hammers one client id and prints how many calls each one admitted.

function createRateLimiter(cache, { limit = 100, windowMs = 60_000 } = {}) {
  return function allow(id, now = Date.now()) {
    const key = `rate:${id}`;
    const window = Math.floor(now / windowMs);
    for (;;) {
      const current = cache.get(key); // "window:count", or undefined for a new client
      if (current === undefined) {
        if (cache.setIfAbsent(key, `${window}:1`)) return limit >= 1;
        continue; // another worker created it first: read theirs
      }
      const colon = current.indexOf(':');
      const seen = Number(current.slice(0, colon));
      const count = seen === window ? Number(current.slice(colon + 1)) : 0; // a new window
      if (count >= limit) return false;
      if (cache.compareAndSet(key, current, `${window}:${count + 1}`)) return true;
      // Another worker changed it between our get and our compareAndSet: try again.
    }
  };
}

module.exports = { createRateLimiter };

if (require.main === module) {
  const cluster = require('node:cluster');
  const createCache = require('..');
  const [workers = 4, limit = 1000, attempts = 5000] = process.argv.slice(2).map(Number);
  const name = `rate_limits_example_${cluster.isPrimary ? process.pid : process.ppid}`;
  const cache = createCache({ name, maxKeys: 1024 });
  const allow = createRateLimiter(cache, { limit });
  if (cluster.isPrimary) {
    let admitted = 0;
    let done = 0;
    // One instant for every worker's calls: a run that straddled the end of a window
    // would rightly admit `limit` more in the next one, and the total would not show the
    // limit. A server passes its own clock (allow(id) uses Date.now()).
    const now = String(Date.now());
    for (let i = 0; i < workers; i++) {
      cluster.fork({ RATE_LIMIT_EXAMPLE_NOW: now }).on('message', (n) => {
        admitted += n;
        done += 1;
        if (done === workers) {
          console.log(`${workers} workers x ${attempts} calls, limit ${limit}: ${admitted} admitted`);
          cache.close();
        }
      });
    }
  } else {
    let mine = 0;
    const now = Number(process.env.RATE_LIMIT_EXAMPLE_NOW);
    for (let i = 0; i < attempts; i++) mine += allow('203.0.113.7', now) ? 1 : 0;
    console.log(`worker ${process.pid}: admitted ${mine}`);
    process.send(mine, () => process.exit(0));
  }
}
