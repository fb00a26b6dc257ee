'use strict';
// `npm install` hook: builds the addon with node-gyp, offline.
//
// node-gyp downloads Node's headers unless it is given --nodedir. Every Node install we
// support has them beside the binary (<prefix>/include/node/node_api.h: Debian's nodejs,
// the official tarballs, nvm), so we point node-gyp there; npm_config_nodedir, when set,
// wins. The build also needs a C++20 compiler and libxxhash's header and library.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');

function fail(message) {
  console.error(`shmtable: ${message}`);
  process.exit(1);
}

function nodedir() {
  if (process.env.npm_config_nodedir) {
    return process.env.npm_config_nodedir;
  }
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

// npm exports its bundled node-gyp to install scripts as npm_config_node_gyp; outside
// npm (e.g. `node scripts/build.js`), look for the copy that ships with npm.
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm',
                 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package: fine if npm's own copy exists
  }
  return candidates.find((c) => c && fs.existsSync(c)) ||
    fail('node-gyp not found (it ships with npm; or `npm install -g node-gyp`)');
}

function hasXxhash() {
  const dirs = ['/usr/include', '/usr/local/include',
                ...(process.env.CPATH || '').split(':').filter(Boolean)];
  return dirs.some((d) => fs.existsSync(path.join(d, 'xxhash.h')));
}

if (!hasXxhash()) {
  fail('xxhash.h not found: install libxxhash (Debian/Ubuntu: apt-get install libxxhash-dev; ' +
       'Fedora: dnf install xxhash-devel)');
}
const dir = nodedir();
const args = [nodeGyp(), 'rebuild', `--jobs=${require('node:os').availableParallelism?.() || 2}`];
if (dir) {
  args.push(`--nodedir=${dir}`);
} else {
  console.warn(`shmtable: no Node headers beside ${process.execPath}; node-gyp may download them`);
}
const started = Date.now();
console.log(`shmtable: building the addon (node-gyp${dir ? ` --nodedir=${dir}` : ''})`);
const r = spawnSync(process.execPath, args, { cwd: pkg, stdio: 'inherit' });
if (r.status !== 0) {
  fail(`the addon build failed (node-gyp exit ${r.status ?? r.signal}); see the compiler ` +
       'output above');
}
console.log(`shmtable: addon built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
