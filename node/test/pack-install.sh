#!/usr/bin/env bash
# The package as a user gets it: `npm pack` here, then `npm install <tarball>` in a fresh
# directory outside the repository, with a fresh HOME (no ~/.npmrc, so no nodedir
# setting to lean on). Checks that the tarball carries the C++ headers and sources, that
# the install builds the addon without downloading Node's headers (node-gyp's devdir
# stays empty), and that two processes share a table through the installed package.
# Prints TAP (one test per check) for meson's suite `node`.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/shmtable-pack.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
failed=0
check() { # check NAME COMMAND...
  n=$((n + 1))
  if "${@:2}" >"$work/out.$n" 2>&1; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1"
    sed 's/^/# /' "$work/out.$n" | tail -40
    failed=$((failed + 1))
  fi
}
echo "1..6"

# The npm cache stays the user's (the dependency node-addon-api comes from it or the registry).
cache=$(npm config get cache 2>/dev/null)
export npm_config_cache=$cache npm_config_devdir=$work/node-gyp-devdir
mkdir -p "$work/home" "$work/app" "$npm_config_devdir"

check "npm pack makes a tarball" bash -c "cd '$here' && npm pack --pack-destination '$work' --silent"
tarball=$(ls "$work"/shmtable-*.tgz 2>/dev/null | head -1)
check "the tarball ships the headers and sources, not build outputs" bash -c "
  tar -tzf '$tarball' > '$work/list' &&
  grep -qx 'package/native/include/shmtable/lockfree_table.hpp' '$work/list' &&
  grep -qx 'package/native/src/lockfree_table.cpp' '$work/list' &&
  grep -qx 'package/native/src/cas128.hpp' '$work/list' &&
  grep -qx 'package/index.d.ts' '$work/list' &&
  grep -qx 'package/binding.gyp' '$work/list' &&
  ! grep -q '^package/build/' '$work/list' &&
  ! grep -q '^package/test/' '$work/list' &&
  [ ! -e '$here/native' ]"
check "npm install <tarball> in a fresh directory builds the addon" bash -c "
  cd '$work/app' && HOME='$work/home' npm init -y >/dev/null &&
  HOME='$work/home' npm install --no-audit --no-fund '$tarball' &&
  [ -f node_modules/shmtable/build/Release/shmtable.node ]"
check "node-gyp built without downloading headers" bash -c "
  [ -f '$work/app/node_modules/shmtable/build/Release/shmtable.node' ] &&
  [ -z \"\$(ls -A '$npm_config_devdir')\" ]"
cat >"$work/app/demo.js" <<'JS'
const { execFileSync } = require('node:child_process');
const name = `pack_check_${process.pid}`;
const cache = require('shmtable')({ name, maxKeys: 100 });
cache.set('greeting', 'hello from the parent');
const seen = execFileSync(process.execPath, ['-e',
  `const c = require('shmtable')({ name: '${name}' }); process.stdout.write(c.get('greeting'))`],
  { cwd: __dirname, encoding: 'utf8' });
if (seen !== 'hello from the parent') throw new Error(`child saw ${JSON.stringify(seen)}`);
cache.close();
console.log('shared across processes');
JS
check "the installed package shares a table across processes" bash -c "cd '$work/app' && node demo.js"
check "the installed package works from outside the repository" bash -c "
  cd '$work/app' && node -p \"require.resolve('shmtable')\" | grep -q '^$work/app/node_modules/shmtable/'"
exit $((failed > 0))
