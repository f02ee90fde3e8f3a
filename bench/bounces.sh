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
# End to end over IMAP (goal: at most 1.5x a bare imaplib fetch): the same
# messages in two users' INBOXes of a real Dovecot; first Python's imaplib
# only fetches them all (UID FETCH BODY.PEEK[] in batches of 500, as
# letterpress does), then `letterpress bounces --imap` fetches, classifies,
# commits each batch to the store (one transaction per batch of 500) and
# files every message, twice, each with a store of its own: by the default
# MOVE to letterpress/processed (on a second connection while the next
# batch is fetched), and with --flag-in-place (STORE of flags).
# Needs dovecot-imapd and root (Dovecot's mail processes run as the dovecot
# user).
if [ ! -x /usr/sbin/dovecot ] || [ "$(id -u)" != 0 ]; then
    echo "== IMAP: skipped (needs /usr/sbin/dovecot and root)"
    exit 0
fi
IMAP=$WORK/imap
mkdir -p "$IMAP/run" "$IMAP/state"
for u in bounces flags; do
    mkdir -p "$IMAP/mail/$u/new" "$IMAP/mail/$u/cur" "$IMAP/mail/$u/tmp"
    cp "$WORK"/mail/* "$IMAP/mail/$u/new/"
done
chmod 755 "$WORK" "$IMAP"
UID_=$(id -u dovecot) GID_=$(id -g dovecot)
chown -R "$UID_:$GID_" "$IMAP/mail"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '%s:{PLAIN}bench:%s:%s::%s::\n' bounces "$UID_" "$GID_" "$IMAP/mail" flags "$UID_" "$GID_" "$IMAP/mail" >"$IMAP/users"
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
# Let Dovecot index the new mail once, so no side pays for it.
python3 - "$PORT" <<'PY'
import imaplib, sys
for user in ("bounces", "flags"):
    M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); M.login(user, "bench")
    print(f"== IMAP INBOX of {user} holds", M.select("INBOX", readonly=True)[1][0].decode(), "messages")
    M.logout()
PY

echo "== Python imaplib, bare fetch of every message:"
python3 - "$PORT" "$WORK/bare.s" <<'PY'
import imaplib, sys, time
t = time.perf_counter()
M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); M.login("bounces", "bench")
M.select("INBOX")
uids = sorted(int(u) for u in M.uid("SEARCH", None, "ALL")[1][0].split())
n = size = 0
for i in range(0, len(uids), 500):
    b = uids[i:i + 500]
    typ, data = M.uid("FETCH", f"{b[0]}:{b[-1]}", "(UID BODY.PEEK[])")
    for x in data:
        if isinstance(x, tuple):
            n += 1; size += len(x[1])
M.logout()
s = time.perf_counter() - t
print(f"fetched {n} messages ({size / 1e6:.0f} MB) in {s:.3f} s")
open(sys.argv[2], "w").write(f"{s}")
PY

# lp_imap NAME USER [FLAGS...]: a run in a project (and store) of its own.
lp_imap() {
    local name=$1 user=$2
    shift 2
    local project=$WORK/project-$name
    mkdir -p "$project"
    sed "s|^templates = .*|templates = \"$ROOT/templates\"|" "$ROOT/letterpress.toml" >"$project/letterpress.toml"
    printf '[[subscriber]]\nemail = "reader@example.com"\n' >"$project/subscribers.toml"
    local start end
    start=$(date +%s.%N)
    LETTERPRESS_IMAP_PASSWORD=bench "$LP" --config "$project/letterpress.toml" \
        bounces --imap "imap://$user@127.0.0.1:$PORT/INBOX" "$@" 2>/dev/null | grep ' messages: '
    end=$(date +%s.%N)
    python3 -c "
s = $end - $start
bare = float(open('$WORK/bare.s').read())
print(f'took {s:.3f} s: {s / bare:.2f}x the bare fetch (goal <= 1.5x)')"
}

echo "== letterpress bounces --imap (fetch, classify, commit, MOVE every message):"
lp_imap move bounces
echo "== letterpress bounces --imap --flag-in-place (fetch, classify, commit, flag every message):"
lp_imap flag flags --flag-in-place
python3 - "$PORT" <<'PY'
import imaplib, sys
M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); M.login("bounces", "bench")
left = M.select("INBOX", readonly=True)[1][0].decode()
done = M.select("letterpress.processed", readonly=True)[1][0].decode()
look = M.select("letterpress.needs-a-look", readonly=True)[1][0].decode()
print(f"bounces: left in INBOX: {left}, in letterpress.processed: {done}, in letterpress.needs-a-look: {look}")
M.logout()
M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); M.login("flags", "bench")
M.select("INBOX", readonly=True)
unflagged = len(M.search(None, "UNKEYWORD", "$LetterpressProcessed", "UNKEYWORD", "$LetterpressNeedsLook")[1][0].split())
print(f"flags: {unflagged} messages of INBOX left without a letterpress keyword")
M.logout()
PY
