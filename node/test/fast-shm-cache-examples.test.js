'use strict';
// The examples in fast-shm-cache's README run as they are written there, with
// require('fast-shm-cache') resolving to this package (fixtures/aliases/, on NODE_PATH).
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { runFixture } = require('./helpers');

it('quick start: a session set in one process is seen by another', () => {
  const { result } = runFixture('fast-shm-cache/quick-start.js', []);
  assert.deepEqual(result, { seen: 'active' });
});

it('rate limiting: admits the first 100 calls of one client', () => {
  const { result } = runFixture('fast-shm-cache/rate-limit.js', []);
  assert.deepEqual(result, { admitted: 100, primary: true, stored: '100' });
});
