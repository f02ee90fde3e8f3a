#!/usr/bin/env bash
# Bounce classification rate (issue 9): `letterpress bounces --dry-run` on
# 10,000 real bounce messages (flufl.bounce's ~115 samples from real MTAs,
# cycled), beside flufl.bounce (Mailman's detector, Python) classifying the
# same files in the same run. Target: >= 5,000 messages/s.
#
# Usage: bash bench/bounces.sh          Env: COUNT (default 10000),
#        LETTERPRESS_BIN (a release binary to measure instead of building one)
# Needs: python3 with pip and flufl.bounce (pip install flufl.bounce).
set -euo pipefail
shopt -s inherit_errexit

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
# Each copy is a report of its own, as 10,000 real bounces would be: its
# top-level Message-ID gets the copy's number (the messages without one get
# an X-Bench-Copy header, which changes the digest they are known by), so
# no copy is "already counted" because an earlier copy was.
import re
mid = re.compile(rb"(?im)^(message-id:[ \t]*(?:\r?\n[ \t]+)?<?)([^>\s]*)")
for i in range(n):
    raw = data[i % len(data)]
    cut = re.search(rb"\r?\n\r?\n", raw)
    head, body = (raw[:cut.start()], raw[cut.start():]) if cut else (raw, b"")
    head, found = mid.subn(lambda m: m.group(1) + m.group(2) + b".copy%d" % i, head, count=1)
    if not found:
        eol = b"\r\n" if b"\r\n" in head else b"\n"
        head = b"X-Bench-Copy: %d" % i + eol + head
    with open(os.path.join(dst, f"{i:06}.txt"), "wb") as fp:
        fp.write(head + body)
PY
echo "== $COUNT messages ($(du -sh "$WORK/mail" | cut -f1)) from $(ls "$SAMPLES" | grep -c '\.txt$') samples"

if [ -n "${LETTERPRESS_BIN:-}" ]; then
    LP=$LETTERPRESS_BIN
else
    cargo build --release --quiet
    LP=$TARGET/release/letterpress
fi
# The shipped config only lets the command start; --dry-run reads nothing else.
echo "== letterpress (parse time only, files already read):"
"$LP" --config "$ROOT/letterpress.toml" bounces --dry-run "$WORK/mail" 2>&1 >/dev/null | tail -1

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

# ---------------------------------------------------------------------------
# End to end over IMAP (goal: at most 1.5x a bare imaplib fetch), in ROUNDS
# rounds (default 3) on one real Dovecot. Every measured run reads a user's
# INBOX of its own, all alike: the same messages, delivered to new/ and
# indexed once (EXAMINE) before anything is timed, so each run's SELECT
# does the same work (Dovecot moves them to cur/). Each round:
#  - imaplib, bare fetch: UID FETCH BODY.PEEK[] in batches of 500, as
#    letterpress fetches;
#  - imaplib, fetch + MOVE (for reference: no classifying, no store): the
#    same fetch, each batch moved on a second connection (in a thread)
#    while the next is fetched: what filing by MOVE costs the server, the
#    least any client that files its messages can take;
#  - letterpress bounces --imap: fetches, classifies, commits each batch to
#    a store of its own (one transaction per batch), and files every
#    message by the default MOVE to letterpress/processed (on a second
#    connection while the next batch is fetched);
#  - imaplib, fetch + STORE (reference, as above, with the flags
#    letterpress sets instead of a MOVE);
#  - letterpress with --flag-in-place (UID STORE of keywords, no MOVE).
# Each ratio is to the same round's bare fetch; the medians close the run.
# Needs dovecot-imapd and root (Dovecot's mail processes run as the dovecot
# user).
if [ ! -x /usr/sbin/dovecot ] || [ "$(id -u)" != 0 ]; then
    echo "== IMAP: skipped (needs /usr/sbin/dovecot and root)"
    exit 0
fi
ROUNDS=${ROUNDS:-3}
IMAP=$WORK/imap
mkdir -p "$IMAP/run" "$IMAP/state"
UID_=$(id -u dovecot) GID_=$(id -g dovecot)
USERS=()
for r in $(seq "$ROUNDS"); do
    USERS+=("bare$r" "refmove$r" "refflag$r" "move$r" "flag$r")
done
: >"$IMAP/users"
for u in "${USERS[@]}"; do
    mkdir -p "$IMAP/mail/$u/new" "$IMAP/mail/$u/cur" "$IMAP/mail/$u/tmp"
    cp "$WORK"/mail/* "$IMAP/mail/$u/new/"
    printf '%s:{PLAIN}bench:%s:%s::%s::\n' "$u" "$UID_" "$GID_" "$IMAP/mail" >>"$IMAP/users"
done
chmod 755 "$WORK" "$IMAP"
chown -R "$UID_:$GID_" "$IMAP/mail"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$IMAP/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $IMAP/run
state_dir = $IMAP/state
log_path = $IMAP/dovecot.log
ssl = no
disable_plaintext_auth = no
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = $UID_
mail_location = maildir:$IMAP/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $IMAP/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $IMAP/users
}
service imap-login {
  inet_listener imap {
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
/usr/sbin/dovecot -F -c "$IMAP/dovecot.conf" &
DOVECOT_PID=$!
trap 'kill $DOVECOT_PID 2>/dev/null; wait $DOVECOT_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))" 2>/dev/null && break
    sleep 0.1
done
# Index every INBOX once (read-only: the mail stays in new/), so no run
# pays for that and every run finds the same state.
python3 - "$PORT" "${USERS[@]}" <<'PY'
import imaplib, sys
held = set()
for user in sys.argv[2:]:
    M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); M.login(user, "bench")
    held.add(M.select("INBOX", readonly=True)[1][0].decode())
    M.logout()
print(f"== {len(sys.argv) - 2} INBOXes indexed, each holding {', '.join(sorted(held))} messages")
PY

# imaplib USER [move|flag]: the bare fetch; with "move" or "flag", each
# fetched batch is also handed to a second connection (in a thread of its
# own) that MOVEs it or STOREs the same flags letterpress sets, while the
# next batch is fetched. Prints the seconds.
imaplib_run() {
    python3 - "$PORT" "$@" <<'PY'
import imaplib, queue, sys, threading, time
port, user = int(sys.argv[1]), sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "bare"
t = time.perf_counter()
M = imaplib.IMAP4("127.0.0.1", port); M.login(user, "bench")
M.select("INBOX")
if mode != "bare":
    F = imaplib.IMAP4("127.0.0.1", port); F.login(user, "bench")
    if mode == "move":
        F.create("done")
    F.select("INBOX")
    todo = queue.Queue()
    def filer():
        while (b := todo.get()) is not None:
            if mode == "move":
                r = F.uid("MOVE", f"{b[0]}:{b[-1]}", "done")
            else:
                r = F.uid("STORE", f"{b[0]}:{b[-1]}", "+FLAGS.SILENT", "(\\Seen $LetterpressProcessed)")
            assert r[0] == "OK", r
    filing = threading.Thread(target=filer); filing.start()
uids = sorted(int(u) for u in M.uid("SEARCH", None, "ALL")[1][0].split())
n = size = 0
for i in range(0, len(uids), 500):
    b = uids[i:i + 500]
    typ, data = M.uid("FETCH", f"{b[0]}:{b[-1]}", "(UID BODY.PEEK[])")
    for x in data:
        if isinstance(x, tuple):
            n += 1; size += len(x[1])
    if mode != "bare":
        todo.put(b)
if mode != "bare":
    todo.put(None); filing.join(); F.logout()
M.logout()
assert n == len(uids), (n, len(uids))
print(f"{time.perf_counter() - t:.4f} {n} {size}")
PY
}

# lp_imap USER [FLAGS...]: a run in a project (and store) of its own; prints
# the seconds and the run's summary line.
lp_imap() {
    local user=$1
    shift
    local project=$WORK/project-$user
    mkdir -p "$project"
    sed "s|^templates = .*|templates = \"$ROOT/templates\"|" "$ROOT/letterpress.toml" >"$project/letterpress.toml"
    printf '[[subscriber]]\nemail = "reader@example.com"\n' >"$project/subscribers.toml"
    local start end summary
    start=$(date +%s.%N)
    summary=$(LETTERPRESS_IMAP_PASSWORD=bench "$LP" --config "$project/letterpress.toml" \
        bounces --imap "imap://$user@127.0.0.1:$PORT/INBOX" "$@" 2>/dev/null | grep ' messages: ')
    end=$(date +%s.%N)
    echo "$(python3 -c "print(f'{$end - $start:.4f}')") $summary"
}

RATIOS=$WORK/ratios
: >"$RATIOS"
for r in $(seq "$ROUNDS"); do
    # $(...) so that a failed run stops the bench (set -e).
    out=$(imaplib_run "bare$r")
    read -r bare n size <<<"$out"
    out=$(imaplib_run "refmove$r" move)
    read -r refmove _ <<<"$out"
    out=$(lp_imap "move$r")
    read -r move move_summary <<<"$out"
    out=$(imaplib_run "refflag$r" flag)
    read -r refflag _ <<<"$out"
    out=$(lp_imap "flag$r" --flag-in-place)
    read -r flag flag_summary <<<"$out"
    echo "== round $r of $ROUNDS ($n messages, $((size / 1000000)) MB):"
    python3 - "$bare" "$refmove" "$move" "$refflag" "$flag" "$RATIOS" <<'PY'
import sys
bare, refmove, move, refflag, flag = map(float, sys.argv[1:6])
print(f"   imaplib, bare fetch                             {bare:.3f} s")
print(f"   imaplib, fetch + MOVE on a 2nd connection       {refmove:.3f} s  {refmove / bare:.2f}x")
print(f"   letterpress bounces (MOVE)                      {move:.3f} s  {move / bare:.2f}x")
print(f"   imaplib, fetch + STORE flags on a 2nd connection {refflag:.3f} s  {refflag / bare:.2f}x")
print(f"   letterpress bounces --flag-in-place             {flag:.3f} s  {flag / bare:.2f}x")
open(sys.argv[6], "a").write(f"{refmove / bare} {move / bare} {refflag / bare} {flag / bare}\n")
PY
    if [ "$r" = 1 ]; then
        echo "   (letterpress, each run: $move_summary)"
    fi
done
python3 - "$RATIOS" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
refmove, move, refflag, flag = (statistics.median(c) for c in zip(*rows))
print(f"== medians of {len(rows)} rounds, as multiples of the bare fetch (goal for letterpress <= 1.5x):")
print(f"   MOVE:  letterpress {move:.2f}x; imaplib fetching and moving, nothing else, {refmove:.2f}x")
print(f"   flags: letterpress {flag:.2f}x; imaplib fetching and flagging, nothing else, {refflag:.2f}x")
PY
python3 - "$PORT" "$ROUNDS" <<'PY'
import imaplib, sys
port, rounds = int(sys.argv[1]), int(sys.argv[2])
for r in range(1, rounds + 1):
    M = imaplib.IMAP4("127.0.0.1", port); M.login(f"move{r}", "bench")
    left = int(M.select("INBOX", readonly=True)[1][0])
    filed = sum(int(M.select(f, readonly=True)[1][0]) for f in ("letterpress.processed", "letterpress.needs-a-look"))
    M.logout()
    M = imaplib.IMAP4("127.0.0.1", port); M.login(f"flag{r}", "bench")
    M.select("INBOX", readonly=True)
    bare = len(M.search(None, "UNKEYWORD", "$LetterpressProcessed", "UNKEYWORD", "$LetterpressNeedsLook")[1][0].split())
    M.logout()
    assert left == 0 and filed > 0 and bare == 0, (r, left, filed, bare)
print("== checked: every message filed (MOVE runs: INBOX empty; flag runs: every message has a letterpress keyword)")
PY
