'use strict';
// Loads the native addon that `npm install` built (scripts/build.js), with an error that
// says what to do when it is missing. SHMTABLE_ADDON=/path/to/shmtable.node loads another
// build of it instead (meson's sanitized build uses this for suite node-sanitized).
const path = require('node:path');

const built = process.env.SHMTABLE_ADDON || path.join(__dirname, '..', 'build', 'Release', 'shmtable.node');

try {
  module.exports = require(built);
} catch (err) {
  const e = new Error(
    `addon '${built}': shmtable cannot load its native addon (${err.message.split('\n')[0]}). ` +
      'It is built at install time: run `npm rebuild shmtable` (or `npm install` in the ' +
      'package folder); the build needs a C++20 compiler and libxxhash.');
  e.code = 'ERR_SHMTABLE_ADDON_MISSING';
  e.cause = err;
  throw e;
}
