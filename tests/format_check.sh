#!/usr/bin/env bash
# Suite 'lint': every tracked C++ source and header (git ls-files) is formatted as
# .clang-format says: clang-format --dry-run --Werror fails on any change it would make.
#
#   format_check.sh CLANG_FORMAT SOURCE_ROOT
#
# The files are git's list, so a new file is checked without being listed anywhere. A
# source tree that is no git checkout (an unpacked tarball) has no such list: the test
# is skipped (exit 77) and says so. A checkout where git is missing or fails is a failure.
set -uo pipefail
clang_format=$1
root=$2
cd "$root" || exit 1
if [ ! -e .git ]; then
  echo "SKIP: $root is not a git checkout, so there is no list of tracked files to check"
  exit 77
fi
if ! command -v git >/dev/null 2>&1; then
  echo "FAIL: git is not installed; this test checks the files git ls-files lists"
  exit 1
fi
# results/ holds recorded runs, kept as they were made.
if ! files=$(git ls-files -- '*.cpp' '*.hpp' '*.h' '*.cc' ':!:results/**'); then
  echo "FAIL: git ls-files failed in $root (its error is above)"
  exit 1
fi
if [ -z "$files" ]; then
  echo "FAIL: git ls-files lists no C++ file in $root"
  exit 1
fi
mapfile -t list <<<"$files"
echo "$("$clang_format" --version): ${#list[@]} tracked files"
"$clang_format" --dry-run --Werror "${list[@]}" || exit 1
echo "all formatted"
