'use strict';
// examples/rate-limiter.js in one process: windows, one key per client, a full table.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const createCache = require('..');
const { createRateLimiter } = require('../examples/rate-limiter');
const { uniqueName } = require('./helpers');

it('admits limit calls per window and client, and keeps one key per client', () => {
  const cache = createCache({ name: uniqueName('rl'), maxKeys: 4 });
  const allow = createRateLimiter(cache, { limit: 3, windowMs: 1000 });
  const calls = (id, now, n) => Array.from({ length: n }, () => allow(id, now));
  assert.deepEqual(calls('a', 5000, 5), [true, true, true, false, false]);
  assert.deepEqual(calls('b', 5999, 4), [true, true, true, false]);
  assert.deepEqual(calls('a', 6000, 4), [true, true, true, false], 'a new window starts over');
  for (let w = 7; w < 50; w++) allow('a', w * 1000);
  assert.deepEqual(cache.keys().sort(), ['rate:a', 'rate:b'], 'old windows leave no keys');
  cache.close();
});

it('a new client in a full table gets ERR_SHMTABLE_TABLE_FULL; known clients go on', () => {
  const cache = createCache({ name: uniqueName('rlfull'), maxKeys: 2 });
  const allow = createRateLimiter(cache, { limit: 1 });
  let id = 0;
  while (cache.size < cache.capacity) allow(`client-${id++}`, 0);
  assert.throws(() => allow('one-more', 0), { code: 'ERR_SHMTABLE_TABLE_FULL' });
  assert.equal(allow('client-0', 0), false);
  assert.equal(allow('client-0', 60_000), true);
  cache.close();
});
