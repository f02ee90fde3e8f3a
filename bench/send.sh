#!/usr/bin/env bash
# Sending benchmark (issue 3). Run from anywhere: bash bench/send.sh
#
# 1. Throughput: Postfix's smtp-source (C load generator) vs `letterpress send`,
#    both against Postfix's smtp-sink on loopback, 8 connections, 20,000
#    messages of the seed issue's real .eml, side by side in one run.
#    letterpress personalizes, journals (write + batched fsync) and reports
#    every message; smtp-source replays one file. Target: ratio >= 1.0.
#    Measured twice per round: with an empty audience store, and with
#    100,000 suppressions in it (other addresses, recorded through
#    `letterpress audience unsubscribe`): looking them up must not cost
#    throughput (issue 8; target: ratio >= 1.0 too).
# 2. Memory: peak RSS of a 100,000-recipient send (target <= 64 MB).
# 3. Growth: time of a 100,000-recipient send / a 10,000-recipient one
#    (target <= 11).
# 4. Subscriber list loading: 1,000,000 subscribers (time and peak RSS).
#
# The machine is shared by both clients and the sink (2 cores here), so the
# CPU seconds each client used are printed too: steadier than wall time on a
# busy machine.
#
# Installs postfix (for smtp-sink/smtp-source) if missing. Uses a release
# build. Env: ROUNDS (default 2), N (default 20000), PORT (default 25250).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-2}
N=${N:-20000}
PORT=${PORT:-25250}
SEED=${SEED:-$ROOT/../shared/seeds/dynamically-typed-040.md}
[ -f "$SEED" ] || { echo "seed issue not found: $SEED" >&2; exit 1; }

if ! [ -x /usr/sbin/smtp-sink ] || ! [ -x /usr/sbin/smtp-source ]; then
    echo "installing postfix (smtp-sink, smtp-source)…" >&2
    apt-get update >/dev/null
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y postfix >/dev/null
fi

command -v bc >/dev/null || { apt-get update >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y bc >/dev/null; }
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/letterpress
TMP=$(mktemp -d)
SINK_PID=
cleanup() { [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

# A config like the shipped one, with the journal in the scratch folder.
sed -e "s|^templates = .*|templates = \"$ROOT/templates\"|" \
    -e "s|^issues = .*|issues = \"$ROOT/issues\"|" \
    -e "s|^\[paths\]|[paths]\njournal = \"$TMP/journal\"|" \
    "$ROOT/letterpress.toml" > "$TMP/letterpress.toml"
export LETTERPRESS_UNSUBSCRIBE_SECRET=bench-secret-not-for-production-use
# The same with an audience store holding 100,000 suppressions.
cp "$TMP/letterpress.toml" "$TMP/letterpress-supp.toml"
printf '\n[audience]\nstore = "%s"\n' "$TMP/suppressed.db" >> "$TMP/letterpress-supp.toml"
for chunk in $(seq 0 9); do
    seq $((chunk * 10000)) $((chunk * 10000 + 9999)) | sed 's/^/gone/; s/$/@suppressed.example/' \
        | xargs "$BIN" --config "$TMP/letterpress-supp.toml" audience unsubscribe >/dev/null
done
# (Read the whole answer first: `grep -q` leaving early would end `audience`
# by SIGPIPE, which pipefail reports as a failure.)
COUNTS=$("$BIN" --config "$TMP/letterpress-supp.toml" audience --recent 0)
grep -q "^unsubscribed: 100000$" <<<"$COUNTS" \
    || { echo "the store does not hold 100,000 suppressions: $COUNTS" >&2; exit 1; }

"$BIN" --config "$TMP/letterpress.toml" preview "$SEED" --out "$TMP/preview" >/dev/null 2>&1
EML=$(ls "$TMP"/preview/*.eml)
SIZE=$(stat -c %s "$EML")
echo "seed .eml: $SIZE bytes ($EML)"

/usr/sbin/smtp-sink -u nobody 127.0.0.1:$PORT 1024 &
SINK_PID=$!
sleep 0.5

for n in "$N" 10000 100000; do
    [ -f "$TMP/subs-$n.toml" ] || python3 "$ROOT/bench/send_subscribers.py" "$n" > "$TMP/subs-$n.toml"
done

now() { date +%s.%N; }
# lp_send N [CONFIG] -> prints "seconds maxrss_kb user_s sys_s"
lp_send() {
    rm -rf "$TMP/journal"
    /usr/bin/time -f "%e %M %U %S" -o "$TMP/time" "$BIN" --config "${2:-$TMP/letterpress.toml}" send "$SEED" \
        --force --yes --connections 8 --smtp "smtp://127.0.0.1:$PORT" \
        --subscribers "$TMP/subs-$1.toml" > "$TMP/send.log" 2>"$TMP/send.err" \
        || { cat "$TMP/send.log" "$TMP/send.err" >&2; exit 1; }
    grep -q "^sent $1 of $1 " "$TMP/send.log" || { echo "letterpress did not send all $1:" >&2; cat "$TMP/send.log" >&2; exit 1; }
    tail -n 1 "$TMP/time"
}

echo
echo "== throughput: $N messages, 8 connections, smtp-sink on 127.0.0.1:$PORT =="
best_src=0; best_lp=0; best_supp=0
for r in $(seq 1 "$ROUNDS"); do
    t0=$(now)
    /usr/bin/time -f "%U %S" -o "$TMP/srctime" /usr/sbin/smtp-source -d -s 8 -m "$N" -F "$EML" \
        -f letters@sourdough-ledger.example -t reader@example.com 127.0.0.1:$PORT
    t1=$(now)
    read -r su ss < <(tail -n 1 "$TMP/srctime")
    src=$(echo "$N / ($t1 - $t0)" | bc -l)
    read -r secs _rss lu ls < <(lp_send "$N")
    lp=$(echo "$N / $secs" | bc -l)
    printf "round %d: smtp-source %.0f msg/s (%.2f s, %.2f s CPU)   letterpress send %.0f msg/s (%.2f s whole process, %.2f s CPU)   ratio %.2f\n" \
        "$r" "$src" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$su + $ss" | bc -l)" "$lp" "$secs" "$(echo "$lu + $ls" | bc -l)" "$(echo "$lp / $src" | bc -l)"
    read -r ssecs _rss slu sls < <(lp_send "$N" "$TMP/letterpress-supp.toml")
    supp=$(echo "$N / $ssecs" | bc -l)
    printf "         with 100,000 suppressions in the store: letterpress send %.0f msg/s (%.2f s whole process, %.2f s CPU)   ratio %.2f\n" \
        "$supp" "$ssecs" "$(echo "$slu + $sls" | bc -l)" "$(echo "$supp / $src" | bc -l)"
    best_src=$(echo "if ($src > $best_src) $src else $best_src" | bc -l)
    best_lp=$(echo "if ($lp > $best_lp) $lp else $best_lp" | bc -l)
    best_supp=$(echo "if ($supp > $best_supp) $supp else $best_supp" | bc -l)
done
printf "best: smtp-source %.0f msg/s, letterpress %.0f msg/s, ratio %.2f (target >= 1.0)\n" \
    "$best_src" "$best_lp" "$(echo "$best_lp / $best_src" | bc -l)"
printf "best with 100,000 suppressions: letterpress %.0f msg/s, ratio %.2f to smtp-source (target >= 1.0)\n" \
    "$best_supp" "$(echo "$best_supp / $best_src" | bc -l)"

echo
echo "== growth and memory =="
read -r t10 rss10 _ _ < <(lp_send 10000)
read -r t100 rss100 _ _ < <(lp_send 100000)
printf "10,000 recipients: %.2f s, peak RSS %.1f MB\n" "$t10" "$(echo "$rss10 / 1024" | bc -l)"
printf "100,000 recipients: %.2f s, peak RSS %.1f MB (target <= 64 MB)\n" "$t100" "$(echo "$rss100 / 1024" | bc -l)"
printf "time ratio 100k / 10k: %.2f (target <= 11)\n" "$(echo "$t100 / $t10" | bc -l)"

echo
echo "== loading 1,000,000 subscribers =="
python3 "$ROOT/bench/send_subscribers.py" 1000000 > "$TMP/subs-1m.toml"
printf "file: %.0f MB\n" "$(echo "$(stat -c %s "$TMP/subs-1m.toml") / 1000000" | bc -l)"
# `send` without --yes and without a terminal loads the list, then refuses: a
# clean way to time the load through the real binary.
rm -rf "$TMP/journal"
/usr/bin/time -f "%e %M" -o "$TMP/time" "$BIN" --config "$TMP/letterpress.toml" send "$SEED" --force \
    --smtp "smtp://127.0.0.1:$PORT" --subscribers "$TMP/subs-1m.toml" </dev/null >"$TMP/load.log" 2>&1 || true
grep -q "1000000 active" "$TMP/load.log" || { cat "$TMP/load.log" >&2; exit 1; }
read -r secs rss < <(tail -n 1 "$TMP/time")
printf "1,000,000 subscribers: %.2f s, peak RSS %.0f MB (whole process: compose + load + refuse)\n" "$secs" "$(echo "$rss / 1024" | bc -l)"
