'use strict';
// The seed module's README examples run as they are written there, with
// require('fast-shm-cache') resolving to this package (fixtures/aliases/, on NODE_PATH).
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { runFixture } = require('./helpers');

it('quick start: a session set in one process is seen by another', () => {
  const { result } = runFixture('seed/quick-start.js', []);
  assert.deepEqual(result, { seen: 'active' });
});

it('rate limiting: admits the first 100 calls of one client', () => {
  const { result } = runFixture('seed/rate-limit.js', []);
  assert.deepEqual(result, { admitted: 100, primary: true, stored: '100' });
});
