#!/usr/bin/env bash
# `meson install` gives a user headers + library + shmtable.pc: install into a scratch
# DESTDIR, then build and run a program against it through pkg-config alone.
set -euo pipefail
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --destdir "$dest" --quiet >/dev/null
pc=$(find "$dest" -name shmtable.pc | head -1)
[[ -n $pc ]] || { echo "no shmtable.pc installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
cat >"$dest/user.cpp" <<'CPP'
#include <shmtable/shmtable.hpp>
#include <cstdio>
#include <unistd.h>
int main() {
  shmtable::Options o;
  o.name = "shmtable-install-check-" + std::to_string(::getpid());
  shmtable::MutexTable t(o);
  t.set("hello", "world");
  std::printf("%s\n", t.get("hello").value_or("?").c_str());
  return t.get("hello") == "world" ? 0 : 1;
}
CPP
# shellcheck disable=SC2046
c++ -std=c++20 "$dest/user.cpp" -o "$dest/user" $(pkg-config --cflags --libs shmtable)
libdir=$(pkg-config --variable=libdir shmtable)
LD_LIBRARY_PATH=$libdir "$dest/user"

# RedisTable's library, where it was built: a program that links it through its own .pc.
if [[ -n $(find "$dest" -name shmtable-redis.pc) ]]; then
  cat >"$dest/redis_user.cpp" <<'CPP'
#include <shmtable/redis_table.hpp>
#include <cstdio>
int main() {
  shmtable::RedisOptions o;
  o.connect_to("redis://:pw@cache.example:7000/2");
  std::printf("%s:%u/%u\n", o.host.c_str(), o.port, o.database);
  return o.port == 7000 && o.database == 2 ? 0 : 1;
}
CPP
  # shellcheck disable=SC2046
  c++ -std=c++20 "$dest/redis_user.cpp" -o "$dest/redis_user" \
    $(pkg-config --cflags --libs shmtable-redis)
  LD_LIBRARY_PATH=$libdir "$dest/redis_user"
fi
