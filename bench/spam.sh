#!/usr/bin/env bash
# SpamAssassin scores of what letterpress sends: every compose fixture
# (tests/fixtures/compose/*.md), the shipped example issue, and the reference
# issue (../shared/seeds/dynamically-typed-040.md repaired with
# `letterpress check --fix` on a temporary copy). Target (issue 12): <= 0.5.
#
# Offline rules only (`spamassassin -L`), no Bayes, no network, no user state.
# The unsubscribe URL is the opaque-token form `{public_url}/unsubscribe/{token}`
# (no address in any URL), set in a temporary copy of letterpress.toml.
#
# Usage: bench/spam.sh               (debug build; RELEASE=1 for --release)
# Env:   UNSUBSCRIBE_URL  another unsubscribe URL template (e.g. the old
#        `https://…/unsubscribe?email={email}&token={token}`, to compare)
# Output: one line per message (score, rules that fired), on stdout and in
#         bench/results/spam.txt (git-ignored).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
RESULTS=$ROOT/bench/results
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LIMIT=0.5

die() {
    printf 'bench/spam.sh: %s\n' "$*" >&2
    exit 1
}
command -v spamassassin >/dev/null || die "spamassassin not found: apt-get install spamassassin"
mkdir -p "$RESULTS"

if [ "${RELEASE:-0}" = 1 ]; then
    cargo build --release --quiet && LP=$TARGET/release/letterpress
else
    cargo build --quiet && LP=$TARGET/debug/letterpress
fi

# The shipped config with absolute paths and an address-free unsubscribe URL.
UNSUBSCRIBE_URL=${UNSUBSCRIBE_URL:-https://sourdough-ledger.example/unsubscribe/\{token\}}
python3 - "$ROOT/letterpress.toml" "$WORK/letterpress.toml" "$ROOT" "$UNSUBSCRIBE_URL" <<'PY'
import re, sys
src, dst, root, url = sys.argv[1:]
text = open(src).read()
text = re.sub(r'(?m)^url = "https://[^"]*unsubscribe[^"]*"', lambda _: f'url = "{url}"', text)
text = re.sub(r'(?m)^templates = "[^"]*"', f'templates = "{root}/templates"', text)
open(dst, "w").write(text)
PY

ISSUES=("$ROOT"/tests/fixtures/compose/*.md "$ROOT"/issues/*.md)
SEED=$ROOT/../shared/seeds/dynamically-typed-040.md
if [ -f "$SEED" ]; then
    cp "$SEED" "$WORK/dynamically-typed-040.md"
    "$LP" --config "$WORK/letterpress.toml" check --fix "$WORK/dynamically-typed-040.md" >/dev/null 2>&1 || true
    ISSUES+=("$WORK/dynamically-typed-040.md")
else
    echo "note: $SEED absent; the reference issue is not scored"
fi

OUT=$WORK/out
for issue in "${ISSUES[@]}"; do
    "$LP" --config "$WORK/letterpress.toml" preview "$issue" --out "$OUT" >/dev/null 2>"$WORK/err" ||
        die "preview $issue failed: $(cat "$WORK/err")"
done

score() { # prints "score<TAB>name<TAB>rules" for one .eml
    local eml=$1 report
    report=$(spamassassin -L -t --cf='use_bayes 0' --cf='bayes_auto_learn 0' <"$eml" 2>/dev/null |
        sed -n '/^Content analysis details/,$p')
    python3 - "$(basename "$eml" .eml)" "$report" <<'PY'
import re, sys
name, report = sys.argv[1:]
total = re.search(r"\(([-\d.]+) points", report).group(1)
rules = [f"{m[1]}({m[0]})" for m in re.findall(r"(?m)^\s*(-?[\d.]+) ([A-Z][A-Z0-9_]+)", report)
         if float(m[0]) != 0]
print(f"{total}\t{name}\t{' '.join(rules)}")
PY
}
export -f score
ls "$OUT"/*.eml | xargs -P 2 -I{} bash -c 'score "$@"' _ {} | sort -k2 >"$WORK/scores"

{
    echo "SpamAssassin $(spamassassin --version | head -1 | awk '{print $3}'), offline rules, no Bayes; $(date -u +%Y-%m-%dT%H:%M:%SZ); $("$LP" --version)"
    echo "unsubscribe URL: $UNSUBSCRIBE_URL"
    printf '%6s  %-40s %s\n' score message "rules with a non-zero score"
    awk -F'\t' '{printf "%6s  %-40s %s\n", $1, $2, $3}' "$WORK/scores"
    awk -F'\t' -v limit=$LIMIT '{ if ($1 + 0 > max || NR == 1) max = $1 + 0; if ($1 + 0 > limit) over++ }
        END { printf "max %.1f over %d messages; %d above the %.1f target\n", max, NR, over, limit }' "$WORK/scores"
} | tee "$RESULTS/spam.txt"
