#!/usr/bin/env bash
# The JSON-lines history round trip: a recorded run re-checks clean from its file, and
# the same file with one read changed to a value nobody wrote is found non-linearizable.
# A file without the expiry fields (an older one) still checks; a run with expiry
# re-checks clean, and the same file with its ttls removed fails (entries vanish that no
# deadline explains).
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

# An older file: no table clock readings, no ttls.
python3 - "$dir/run.jsonl" "$dir/old.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        op = json.loads(line)
        for field in ("ttl", "invoke_clock", "response_clock"):
            op.pop(field, None)
        out.write(json.dumps(op) + "\n")
PY
"$stress" check "$dir/old.jsonl" --quiet

# Expiry: every write with a 1 ms ttl, and the workers meet the entries as they expire.
"$stress" mix --keys 2 --ttl-ms 1 --ttl-percent 100 --on-tick 16 --ops 8000 --seed 7 --quiet \
  --history "$dir/ttl.jsonl"
"$stress" check "$dir/ttl.jsonl" --quiet
python3 - "$dir/ttl.jsonl" "$dir/no-ttl.jsonl" <<'PY'
import json, sys
removed = 0
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        op = json.loads(line)
        removed += op.pop("ttl", None) is not None
        out.write(json.dumps(op) + "\n")
assert removed, "no operation had a ttl"
PY
if "$stress" check "$dir/no-ttl.jsonl" --quiet; then
  echo "FAIL: the checker accepted a history whose entries vanish with no deadline" >&2
  exit 1
fi
echo "history round trip: clean files pass (with and without expiry, and an older file's" \
  "fields), tampered ones fail"
