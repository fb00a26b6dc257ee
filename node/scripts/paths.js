'use strict';
// Where binding.gyp finds the C++ library: the repository's own include/ and src/ when
// this package sits in its repository (so a leftover native/ copy is never built from),
// else node/native/ inside a packed tarball (copied there by scripts/vendor.js).
// Prints paths relative to this package, as gyp wants them.
//   node scripts/paths.js include   -> the include directory
//   node scripts/paths.js sources   -> the library's .cpp files, one per line
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');
// The library's translation units the addon needs (src/meson.build lists them too).
const SOURCES = ['error.cpp', 'segment.cpp', 'mutex_table.cpp', 'lockfree_table.cpp',
                 'stats_handle.cpp'];

function root() {
  const repo = path.join(pkg, '..');
  const inRepo = fs.existsSync(path.join(repo, 'meson.build'));
  for (const candidate of inRepo ? [repo] : [path.join(pkg, 'native')]) {
    if (fs.existsSync(path.join(candidate, 'include', 'shmtable', 'shmtable.hpp'))) {
      return candidate;
    }
  }
  throw new Error(
    `shmtable: the C++ library is neither in ${path.join(pkg, 'native')} (a packed tarball) ` +
      `nor in ${path.join(pkg, '..')} (the repository)`);
}

function rel(p) {
  return path.relative(pkg, p).split(path.sep).join('/');
}

module.exports = { root, SOURCES };

if (require.main === module) {
  const r = root();
  switch (process.argv[2]) {
    case 'include':
      console.log(rel(path.join(r, 'include')));
      break;
    case 'sources':
      console.log(SOURCES.map((s) => rel(path.join(r, 'src', s))).join('\n'));
      break;
    default:
      console.error('usage: node scripts/paths.js include|sources');
      process.exit(2);
  }
}
