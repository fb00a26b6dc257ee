'use strict';
// `npm pack` hooks. prepack copies the C++ library (include/shmtable/*.hpp and the src/
// files the addon compiles) into node/native/, so that the tarball builds anywhere;
// postpack (--clean) removes the copy again. native/ is git-ignored: the repository
// keeps one copy of every file.
const fs = require('node:fs');
const path = require('node:path');
const { SOURCES } = require('./paths');

const pkg = path.resolve(__dirname, '..');
const repo = path.resolve(pkg, '..');
const native = path.join(pkg, 'native');

fs.rmSync(native, { recursive: true, force: true });
if (process.argv[2] === '--clean') {
  process.exit(0);
}

function copyDir(from, to, keep) {
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from)) {
    if (keep(name)) {
      fs.copyFileSync(path.join(from, name), path.join(to, name));
    }
  }
}

copyDir(path.join(repo, 'include', 'shmtable'), path.join(native, 'include', 'shmtable'),
        (n) => n.endsWith('.hpp'));
// The sources, and the private headers they include (src/*.hpp).
copyDir(path.join(repo, 'src'), path.join(native, 'src'),
        (n) => n.endsWith('.hpp') || SOURCES.includes(n));
console.log(`shmtable: copied the C++ library into ${path.relative(process.cwd(), native) || '.'}`);
