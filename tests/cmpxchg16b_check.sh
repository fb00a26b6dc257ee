#!/usr/bin/env bash
# Proves, on the built library, what src/cas128.hpp claims: the lock-free engine's
# 128-bit CAS is an inline `lock cmpxchg16b`, and nothing calls libatomic's 16-byte
# CAS (whose fallback is a per-process lock: no lock at all across processes).
set -euo pipefail
lib=$1
command -v objdump >/dev/null || { echo "objdump missing (binutils)"; exit 77; }
asm=$(objdump -d --no-show-raw-insn "$lib")
n=$(grep -c 'lock cmpxchg16b' <<<"$asm" || true)
echo "lock cmpxchg16b instructions in $lib: $n"
if ((n == 0)); then
  echo "FAIL: no inline lock cmpxchg16b in the library"
  exit 1
fi
if grep -E '__atomic_(compare_exchange|load|store|exchange|fetch_[a-z]+)_16' <<<"$asm"; then
  echo "FAIL: the library calls libatomic's 16-byte atomics"
  exit 1
fi
if objdump -p "$lib" | grep -E 'NEEDED +libatomic'; then
  echo "FAIL: the library links libatomic"
  exit 1
fi
# Every cmpxchg16b carries the lock prefix (a bare one is not atomic).
bare=$(grep -E '\scmpxchg16b' <<<"$asm" | grep -vc 'lock cmpxchg16b' || true)
if ((bare != 0)); then
  echo "FAIL: $bare cmpxchg16b without a lock prefix"
  exit 1
fi
# The readers' one-load path (cas128.hpp, load128_vector): an aligned 16-byte MOVDQA,
# never an unaligned MOVDQU, on the control words.
n=$(grep -cE '\smovdqa\s' <<<"$asm" || true)
echo "movdqa instructions in $lib: $n"
if ((n == 0)); then
  echo "FAIL: no movdqa: the one-load read of a control word is missing"
  exit 1
fi
echo "OK: inline, locked, no libatomic; the one-load read is there"
