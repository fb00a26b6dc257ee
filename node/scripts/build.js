'use strict';
// `npm install` hook: builds the addon with node-gyp, offline.
//
// node-gyp downloads Node's headers unless it is given --nodedir. Every Node install we
// support has them beside the binary (<prefix>/include/node/node_api.h: Debian's nodejs,
// the official tarballs, nvm), so we point node-gyp there; npm_config_nodedir, when set,
// wins. The build also needs a C++20 compiler and libxxhash's header and library.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { SOURCES } = require('./paths');

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
const jobs = require('node:os').availableParallelism?.() || 2;
const args = [nodeGyp(), 'rebuild', `--jobs=${jobs}`];
if (dir) {
  args.push(`--nodedir=${dir}`);
} else {
  console.warn(`shmtable: no Node headers beside ${process.execPath}; node-gyp may download them`);
}
// The build compiles the C++ library with the addon: about 40 s on 2 cores. Say so up
// front, and say it is still going now and then, so that nobody takes it for a hang.
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
console.log(`shmtable: building the native addon (node-gyp${dir ? ` --nodedir=${dir}` : ''}, ` +
            `${jobs} jobs): it compiles the C++ library (${SOURCES.length} files) and the addon, ` +
            'which takes about a minute');
const heartbeat = setInterval(() => console.log(`shmtable: still building (${seconds()} s)`),
                              15_000);
spawn(process.execPath, args, { cwd: pkg, stdio: 'inherit' }).on('exit', (code, signal) => {
  clearInterval(heartbeat);
  if (code !== 0) {
    fail(`the addon build failed (node-gyp exit ${code ?? signal}); see the compiler ` +
         'output above');
  }
  console.log(`shmtable: addon built in ${seconds()} s`);
});
