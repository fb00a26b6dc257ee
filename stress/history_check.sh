#!/usr/bin/env bash
# The JSON-lines history round trip: a recorded run re-checks clean from its file, and
# the same file with one read changed to a value nobody wrote is found non-linearizable.
set -euo pipefail
stress=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$stress" mix --ops 100000 --seed 7 --quiet --history "$dir/run.jsonl"
"$stress" check "$dir/run.jsonl" --quiet

# Tamper: the first get that returned a value now returns one no process wrote.
python3 - "$dir/run.jsonl" "$dir/tampered.jsonl" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
done = False
with open(src) as f, open(dst, "w") as out:
    for line in f:
        op = json.loads(line)
        if not done and op["op"] == "get" and isinstance(op["result"], str) and op["result"][0] == "v":
            op["result"] = "v" + "f" * 16 + op["result"][17:]
            done = True
        out.write(json.dumps(op) + "\n")
assert done, "no get returned a value"
PY
if "$stress" check "$dir/tampered.jsonl" --quiet; then
  echo "FAIL: the checker accepted a history with a read of a value nobody wrote" >&2
  exit 1
fi
echo "history round trip: clean file passes, tampered file fails"
