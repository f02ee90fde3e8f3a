#!/usr/bin/env bash
# Benchmark: `letterpress import` of a generated 1,000,000-row Mailchimp-style
# export (subscribed_/unsubscribed_/cleaned_ CSVs with Mailchimp's 22+
# columns, quoted fields, embedded newlines, tags, 1% duplicate rows in
# another spelling) into an empty list, as a whole process under
# /usr/bin/time -v, next to Python's csv module merely reading the same files
# in the same run. Targets (issue 10): at most 10 s and at most 256 MB peak RSS.
#
# Usage: bench/import.sh    Env: ROWS (default 1000000), LP (a letterpress binary to use
#        instead of building the release one)
# Output: wall time and peak RSS of both, the ratio, on stdout and in
#         bench/results/import.txt (git-ignored).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
ROWS=${ROWS:-1000000}
RESULTS=$ROOT/bench/results
WORK=$RESULTS/import
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

say() { printf '\n== %s\n' "$*"; }
die() {
    printf 'bench/import.sh: %s\n' "$*" >&2
    exit 1
}
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is needed for peak RSS: apt-get install time"
command -v python3 >/dev/null || die "python3 is needed for the reference reader"

if [ -z "${LP:-}" ]; then
    say "building letterpress (cargo build --release)"
    cargo build --release --quiet
    LP=$TARGET/release/letterpress
fi
[ -x "$LP" ] || die "no binary at $LP"

rm -rf "$WORK"
mkdir -p "$WORK/project"
say "generating a $ROWS-row Mailchimp-style export"
python3 - "$WORK" "$ROWS" <<'PY'
import csv, random, sys
work, rows = sys.argv[1], int(sys.argv[2])
random.seed(10)
head = ["Email Address", "First Name", "Last Name", "Address", "Phone Number", "MEMBER_RATING",
        "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "LATITUDE", "LONGITUDE", "GMTOFF",
        "DSTOFF", "TIMEZONE", "CC", "REGION", "LAST_CHANGED", "LEID", "EUID", "NOTES", "TAGS"]
parts = {"subscribed": int(rows * 0.90), "unsubscribed": int(rows * 0.07)}
parts["cleaned"] = rows - sum(parts.values())
extra = {"subscribed": [], "unsubscribed": ["UNSUB_TIME", "UNSUB_CAMPAIGN_TITLE", "UNSUB_CAMPAIGN_ID",
         "UNSUB_REASON", "UNSUB_REASON_OTHER"], "cleaned": ["CLEAN_TIME", "CLEAN_CAMPAIGN_TITLE", "CLEAN_CAMPAIGN_ID"]}
firsts = ["Ada", "Grace", "José", "Zoë", "Li", "Amara", "Søren", "Priya", "Tomás", "Emma"]
lasts = ["Lovelace", "Hopper", "Müller", "O'Brien", "Smith, Jr.", "Nakamura", "Okafor", "García"]
n = 0
for part, count in parts.items():
    with open(f"{work}/{part}_members_export_bench.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head + extra[part])
        for i in range(count):
            n += 1
            # 1% of rows repeat an earlier address in upper case.
            addr = f"reader{n}@example{n % 97}.com"
            if n > 100 and n % 100 == 0:
                addr = f"READER{n - 50}@EXAMPLE{(n - 50) % 97}.COM"
            tags = '"newsletter","vip"' if n % 7 == 0 else ('"early, bird"' if n % 11 == 0 else "")
            row = [addr, random.choice(firsts), random.choice(lasts),
                   f"{n} Main St\nApt {n % 50}\nSpringfield" if n % 5 == 0 else "", "", str(n % 5 + 1),
                   f"2020-{n % 12 + 1:02d}-{n % 28 + 1:02d} 10:00:00", "192.0.2.1", "", "", "", "", "", "", "",
                   "US", "", "2023-01-01 00:00:00", str(100000 + n), f"e{n:x}", "", tags]
            if part == "unsubscribed":
                row += ["2023-02-01 10:00:00", "Issue 9", "c9", "No longer interested", ""]
            elif part == "cleaned":
                row += ["2023-03-01 10:00:00", "Issue 10", "c10"]
            w.writerow(row)
PY
FILES=("$WORK"/subscribed_members_export_bench.csv "$WORK"/unsubscribed_members_export_bench.csv "$WORK"/cleaned_members_export_bench.csv)
BYTES=$(cat "${FILES[@]}" | wc -c)
echo "$(printf '%s\n' "$ROWS") rows, $((BYTES / 1000000)) MB in ${#FILES[@]} files"
cp "$ROOT/letterpress.toml" "$WORK/project/letterpress.toml"

measure() { # label, command...: prints "seconds peak_kb"
    local label=$1
    shift
    /usr/bin/time -v "$@" >"$WORK/$label.stdout" 2>"$WORK/$label.time" || {
        cat "$WORK/$label.time" >&2
        die "$label failed"
    }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/$label.time")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$label.time")
    # m:ss.ss -> seconds
    wall=$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')
    echo "$wall $rss"
}

say "python3 csv.reader, reading every row of the same files (the peer)"
read -r PY_S PY_KB < <(measure python python3 -c '
import csv, sys
n = 0
for path in sys.argv[1:]:
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            n += 1
print(n)' "${FILES[@]}")
echo "python csv: ${PY_S} s, peak RSS $((PY_KB / 1024)) MB ($(cat "$WORK/python.stdout") rows incl. headers)"

say "letterpress import (into an empty list)"
read -r LP_S LP_KB < <(measure letterpress "$LP" --config "$WORK/project/letterpress.toml" import "${FILES[@]}")
echo "letterpress: ${LP_S} s, peak RSS $((LP_KB / 1024)) MB: $(tail -n 2 "$WORK/letterpress.stdout" | head -n 1)"
ENTRIES=$(grep -c '^\[\[subscriber\]\]' "$WORK/project/subscribers.toml")

say "summary"
{
    echo "import of $ROWS Mailchimp-style rows ($((BYTES / 1000000)) MB, ${#FILES[@]} CSVs) -> $ENTRIES entries"
    echo "letterpress import: ${LP_S} s, peak RSS $((LP_KB / 1024)) MB   (targets: <= 10 s, <= 256 MB)"
    echo "python csv.reader (read only): ${PY_S} s, peak RSS $((PY_KB / 1024)) MB"
    awk -v a="$LP_S" -v b="$PY_S" 'BEGIN { printf "letterpress / python-read time ratio: %.2f\n", a / b }'
    awk -v s="$LP_S" -v k="$LP_KB" 'BEGIN { exit !(s <= 10 && k <= 256 * 1024) }' && echo "targets: met" || echo "targets: MISSED"
} | tee "$RESULTS/import.txt"
