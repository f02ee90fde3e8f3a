#!/usr/bin/env bash
# `letterpress listen` benchmark (issue 8). Run from anywhere: bash bench/listen.sh
#
# wrk at 64 connections on loopback into a release `listen`; every request
# is an RFC 8058 one-click POST for a distinct reader (tokens pre-generated
# by bench/listen_tokens.rs, iterated by bench/listen.lua), answered 2xx only
# once its unsubscribe is committed with synchronous=FULL (group commit).
# Side by side in the same run: the floor, the same server committing each
# request in its own transaction (`listen --commit-each`). Afterwards the
# store is counted with sqlite3: every 2xx must be an event on disk.
#
# Targets: >= 5,000 durable unsubscribes/s with p99 <= 50 ms; >= 10x the floor.
# Env: SECONDS_GROUP (default 10), SECONDS_FLOOR (default 10), CONNECTIONS (64),
# THREADS (2), PORT (28041), N readers (400000).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DUR_GROUP=${SECONDS_GROUP:-10}
DUR_FLOOR=${SECONDS_FLOOR:-10}
CONNS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-28041}

for tool in wrk sqlite3 bc; do
    command -v $tool >/dev/null || { apt-get update >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y $tool >/dev/null; }
done
# PROFILE=debug only to try the script itself; figures come from release.
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
    cargo build --release --quiet --bin letterpress --example listen_tokens
else
    cargo build --quiet --bin letterpress --example listen_tokens
fi
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE
BIN=$TARGET/letterpress
TMP=$(mktemp -d)
LISTEN_PID=
cleanup() { [ -n "$LISTEN_PID" ] && kill "$LISTEN_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

cat > "$TMP/letterpress.toml" <<TOML
[newsletter]
name = "Bench Weekly"
from = "Bench Weekly <news@bench.example>"
web_url = "https://bench.example"
postal_address = "1 Bench Street"

[listen]
public_url = "https://bench.example"
TOML
export LETTERPRESS_UNSUBSCRIBE_SECRET=bench-secret-not-for-production-0123456789
unset LETTERPRESS_REMOTE_TOKEN

# More distinct readers than the group-commit run can reach.
N=${N:-400000}
"$TARGET/examples/listen_tokens" "$TMP/letterpress.toml" "$N" > "$TMP/paths.txt"
echo "$N distinct readers' one-click paths generated"

# run NAME SECONDS [listen flags...]: prints "rate p99_ms requests in_store"
run() {
    local name=$1 secs=$2; shift 2
    local store="$TMP/$name.db"
    sed -i "/^\[audience\]/,\$d" "$TMP/letterpress.toml"
    printf '[audience]\nstore = "%s"\n' "$store" >> "$TMP/letterpress.toml"
    "$BIN" --config "$TMP/letterpress.toml" listen --bind 127.0.0.1:$PORT "$@" \
        > "$TMP/$name.out" 2> "$TMP/$name.log" &
    LISTEN_PID=$!
    for _ in $(seq 100); do grep -q "serving" "$TMP/$name.out" 2>/dev/null && break; sleep 0.05; done
    LP_PATHS="$TMP/paths.txt" LP_THREADS=$THREADS \
        wrk -t "$THREADS" -c "$CONNS" -d "${secs}s" --timeout 5s -s "$ROOT/bench/listen.lua" \
        "http://127.0.0.1:$PORT" > "$TMP/$name.wrk"
    kill "$LISTEN_PID"; wait "$LISTEN_PID" 2>/dev/null || true; LISTEN_PID=
    local r; r=$(grep '^RESULT ' "$TMP/$name.wrk" | sed 's/^RESULT //')
    local get; get() { echo "$r" | sed -E "s/.*\"$1\":([0-9]+).*/\1/"; }
    local req dur non2xx sockerr p99 wrapped stored
    req=$(get requests); dur=$(get duration_us); non2xx=$(get non_2xx)
    sockerr=$(get socket_errors); p99=$(get p99_us); wrapped=$(get wrapped)
    stored=$(sqlite3 "$store" "SELECT count(*) FROM events WHERE kind = 'unsubscribe'")
    local ok=$((req - non2xx))
    if [ "$wrapped" != 0 ]; then echo "$name: $wrapped requests reused a reader; raise N" >&2; exit 1; fi
    if [ "$stored" -lt "$ok" ]; then echo "$name: $ok answered 2xx but only $stored in the store" >&2; exit 1; fi
    echo "$(echo "scale=0; $ok * 1000000 / $dur" | bc) $(echo "scale=2; $p99 / 1000" | bc) $ok $stored $non2xx $sockerr"
}

GROUP=$(run group "$DUR_GROUP")
FLOOR=$(run floor "$DUR_FLOOR" --commit-each)
read -r G_RATE G_P99 G_OK G_STORED G_NON G_SOCK <<< "$GROUP"
read -r F_RATE F_P99 F_OK F_STORED F_NON F_SOCK <<< "$FLOOR"

printf '\n%-38s %12s %10s %10s %10s %8s\n' "one-click unsubscribes, $CONNS connections" "2xx/s" "p99 ms" "2xx" "in store" "errors"
printf '%-38s %12s %10s %10s %10s %8s\n' "listen (group commit, synchronous=FULL)" "$G_RATE" "$G_P99" "$G_OK" "$G_STORED" "$((G_NON + G_SOCK))"
printf '%-38s %12s %10s %10s %10s %8s\n' "floor: one transaction per request" "$F_RATE" "$F_P99" "$F_OK" "$F_STORED" "$((F_NON + F_SOCK))"
echo "ratio group / floor: $(echo "scale=1; $G_RATE / $F_RATE" | bc)x   (targets: >= 5000/s, p99 <= 50 ms, ratio >= 10x)"
