#!/usr/bin/env bash
# Benchmark: `letterpress preview` of the seed issue as a whole process,
# against the reference `mjml` CLI (npm package mjml, pinned in
# bench/package.json) rendering the very .mjml letterpress wrote, side by side
# in one run. Target (issue 2): letterpress at least 100x faster.
#
# Usage: bench/compose.sh [ISSUE.md]      (default: ../shared/seeds/dynamically-typed-040.md)
# Env:   RUNS (default 30), WARMUP (default 3)
# Output: the means, the ratio, the seed's HTML and text sizes, on stdout and
#         in bench/results/ (git-ignored): summary.txt, hyperfine.json.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
ISSUE=${1:-$ROOT/../shared/seeds/dynamically-typed-040.md}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
RESULTS=$ROOT/bench/results
WORK=$RESULTS/work
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

say() { printf '\n== %s\n' "$*"; }
die() {
    printf 'bench/compose.sh: %s\n' "$*" >&2
    exit 1
}

[ -f "$ISSUE" ] || die "no issue file at $ISSUE (the seed lives in ../shared/seeds/)"
ISSUE=$(cd "$(dirname "$ISSUE")" && pwd)/$(basename "$ISSUE")
STEM=$(basename "$ISSUE" .md)
mkdir -p "$RESULTS" "$WORK"

say "building letterpress (cargo build --release)"
cargo build --release --quiet
LP=$TARGET/release/letterpress
[ -x "$LP" ] || die "no binary at $LP"

say "installing the reference peer (mjml, pinned in bench/package.json)"
MJML=$ROOT/bench/node_modules/.bin/mjml
if [ ! -x "$MJML" ]; then
    command -v npm >/dev/null || die "npm not found: install Node.js 20+ to run the reference mjml CLI"
    (cd bench && npm ci --silent --no-fund --no-audit </dev/null)
fi
echo "mjml: $("$MJML" --version | tr '\n' ' ')"
echo "letterpress: $("$LP" --version)"

say "composing $STEM once, to get the .mjml letterpress wrote"
"$LP" preview "$ISSUE" --out "$WORK/lp" >"$WORK/preview.stdout" 2>"$WORK/preview.stderr" ||
    die "letterpress preview failed: $(cat "$WORK/preview.stderr")"
MJML_IN=$WORK/lp/$STEM.mjml
[ -f "$MJML_IN" ] || die "letterpress wrote no $MJML_IN"
"$MJML" "$MJML_IN" -o "$WORK/mjml.html" 2>"$WORK/mjml.stderr" || die "mjml failed: $(cat "$WORK/mjml.stderr")"
HTML_BYTES=$(wc -c <"$WORK/lp/$STEM.html")
TEXT_BYTES=$(wc -c <"$WORK/lp/$STEM.txt")
MJML_BYTES=$(wc -c <"$MJML_IN")
MJML_HTML_BYTES=$(wc -c <"$WORK/mjml.html")

LP_CMD=("$LP" preview "$ISSUE" --out "$WORK/lp")
PEER_CMD=("$MJML" "$MJML_IN" -o "$WORK/mjml.html")
q() { printf '%q ' "$@"; }

if ! command -v hyperfine >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing hyperfine (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine </dev/null >/dev/null 2>&1 ||
        { apt-get update -qq </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine </dev/null >/dev/null; } ||
        echo "could not install hyperfine; falling back to a timing loop"
fi

if command -v hyperfine >/dev/null; then
    say "timing with $(hyperfine --version): $WARMUP warm-up + $RUNS runs each"
    hyperfine --shell=none --warmup "$WARMUP" --runs "$RUNS" --style basic \
        --export-json "$RESULTS/hyperfine.json" \
        --command-name letterpress "$(q "${LP_CMD[@]}")" \
        --command-name mjml "$(q "${PEER_CMD[@]}")"
    read -r LP_MEAN LP_SD PEER_MEAN PEER_SD LP_CPU PEER_CPU < <(python3 -c '
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
lp, peer = r["letterpress"], r["mjml"]
print(lp["mean"], lp["stddev"] or 0, peer["mean"], peer["stddev"] or 0,
      lp["user"] + lp["system"], peer["user"] + peer["system"])
' "$RESULTS/hyperfine.json")
    METHOD="hyperfine --shell=none, $WARMUP warm-up + $RUNS runs"
else
    say "timing with a date +%s%N loop: $WARMUP warm-up + $RUNS runs each"
    mean_of() { # runs "$@" WARMUP+RUNS times, prints the mean in seconds
        local i t0 total=0
        for ((i = 0; i < WARMUP; i++)); do "$@" >/dev/null 2>&1; done
        for ((i = 0; i < RUNS; i++)); do
            t0=$(date +%s%N)
            "$@" >/dev/null 2>&1
            total=$((total + $(date +%s%N) - t0))
        done
        python3 -c "print($total / $RUNS / 1e9)"
    }
    LP_MEAN=$(mean_of "${LP_CMD[@]}")
    PEER_MEAN=$(mean_of "${PEER_CMD[@]}")
    LP_SD=nan PEER_SD=nan LP_CPU=nan PEER_CPU=nan
    METHOD="date +%s%N loop, $WARMUP warm-up + $RUNS runs"
fi

SUMMARY=$(python3 - "$LP_MEAN" "$LP_SD" "$PEER_MEAN" "$PEER_SD" "$LP_CPU" "$PEER_CPU" <<EOF
import math, sys
lp, lp_sd, peer, peer_sd, lp_cpu, peer_cpu = map(float, sys.argv[1:])
ratio = peer / lp
kb = lambda n: f"{n} bytes ({n / 1024:.1f} KB)"
print(f"issue:        $STEM")
print(f"method:       $METHOD")
print(f"letterpress:  mean {lp * 1000:8.2f} ms  (sd {lp_sd * 1000:.2f} ms)  whole process: preview -> .html .txt .mjml .eml")
print(f"mjml CLI:     mean {peer * 1000:8.2f} ms  (sd {peer_sd * 1000:.2f} ms)  whole process: .mjml -> .html")
print(f"ratio:        {ratio:.0f}x  (mjml time / letterpress time, wall clock; target >= 100x: {'MET' if ratio >= 100 else 'NOT MET'})")
if not math.isnan(lp_cpu):
    print(f"CPU ratio:    {peer_cpu / lp_cpu:.0f}x  (user+sys: mjml {peer_cpu * 1000:.0f} ms, letterpress {lp_cpu * 1000:.1f} ms; steadier than wall clock on a busy machine)")
print(f"seed HTML:    {kb($HTML_BYTES)}   (mjml's HTML of the same MJML: {kb($MJML_HTML_BYTES)})")
print(f"seed text:    {kb($TEXT_BYTES)}")
print(f"seed MJML:    {kb($MJML_BYTES)}")
EOF
)
{
    echo "letterpress compose benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores"
    echo "mjml $("$MJML" --version | tr '\n' ' '); $("$LP" --version)"
    echo "$SUMMARY"
} >"$RESULTS/summary.txt"

say "result (also in bench/results/summary.txt)"
echo "$SUMMARY"
