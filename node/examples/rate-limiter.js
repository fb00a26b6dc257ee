'use strict';
// A rate limiter shared by every process of a cluster, exact under contention.
//
// The usual get-then-set limiter (read the count, compare, write count + 1) is racy: two
// workers can read the same count and both admit. incr() is one atomic read-modify-write
// on the shared table, so across all workers exactly `limit` calls per window get
// `true`, however they interleave.
//
//   const cache = require('shmtable')({ name: 'rate_limits', maxKeys: 100000 });
//   const allow = createRateLimiter(cache, { limit: 100, windowMs: 60_000 });
//   if (!allow(req.ip)) res.writeHead(429).end();
//
// Run this file to see it: `node examples/rate-limiter.js [workers] [limit] [attempts]`
// forks the workers, hammers one client id and prints how many calls each one admitted.

function createRateLimiter(cache, { limit = 100, windowMs = 60_000 } = {}) {
  return function allow(id, now = Date.now()) {
    const window = Math.floor(now / windowMs);
    const count = cache.incr(`rate:${id}:${window}`);
    if (count === 1) {
      // Exactly one call sees 1 per window and id: it drops the previous window's counter.
      cache.delete(`rate:${id}:${window - 1}`);
    }
    return count <= limit;
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
    for (let i = 0; i < workers; i++) {
      cluster.fork().on('message', (n) => {
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
    for (let i = 0; i < attempts; i++) mine += allow('203.0.113.7') ? 1 : 0;
    console.log(`worker ${process.pid}: admitted ${mine}`);
    process.send(mine, () => process.exit(0));
  }
}
