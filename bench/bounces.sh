#!/usr/bin/env bash
# Bounce classification rate (issue 9): `letterpress bounces --dry-run` on
# 10,000 real bounce messages (flufl.bounce's ~115 samples from real MTAs,
# cycled), beside flufl.bounce (Mailman's detector, Python) classifying the
# same files in the same run. Target: >= 5,000 messages/s.
#
# Usage: bash bench/bounces.sh          Env: COUNT (default 10000)
# Needs: python3 with pip and flufl.bounce (pip install flufl.bounce).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
COUNT=${COUNT:-10000}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/letterpress-bounces-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

python3 -m pip download --quiet --no-deps --no-binary :all: flufl.bounce==6.0.0 -d "$WORK" >/dev/null
tar xzf "$WORK"/flufl_bounce-6.0.0.tar.gz -C "$WORK"
SAMPLES=$WORK/flufl_bounce-6.0.0/tests/data
mkdir -p "$WORK/mail"
python3 - "$SAMPLES" "$WORK/mail" "$COUNT" <<'PY'
import os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(f for f in os.listdir(src) if f.endswith(".txt"))
data = [open(os.path.join(src, f), "rb").read() for f in files]
for i in range(n):
    with open(os.path.join(dst, f"{i:06}.txt"), "wb") as fp:
        fp.write(data[i % len(data)])
PY
echo "== $COUNT messages ($(du -sh "$WORK/mail" | cut -f1)) from $(ls "$SAMPLES" | grep -c '\.txt$') samples"

cargo build --release --quiet
# The shipped config only lets the command start; --dry-run reads nothing else.
echo "== letterpress (parse time only, files already read):"
"$TARGET/release/letterpress" --config "$ROOT/letterpress.toml" bounces --dry-run "$WORK/mail" 2>&1 >/dev/null | tail -1

echo "== flufl.bounce 6.0.0 (all_failures, files already read):"
python3 - "$WORK/mail" <<'PY'
import email, os, sys, time
from flufl.bounce import all_failures
d = sys.argv[1]
raws = [open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))]
t = time.perf_counter()
for r in raws:
    try:
        all_failures(email.message_from_bytes(r))
    except Exception:
        pass
s = time.perf_counter() - t
print(f"classified {len(raws)} messages in {s:.3f} s ({len(raws)/s:.0f} messages/s)")
PY
