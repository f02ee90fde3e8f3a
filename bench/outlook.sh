#!/usr/bin/env bash
# Outlook's presentational attributes (valign, bgcolor, align, width, height)
# in letterpress's HTML against the reference mjml CLI's HTML of the very
# same .mjml, on two corpus issues (one with tables, one with images and
# tables). Issue 12: letterpress writes them where mjml's inliner does.
#
# Usage: bench/outlook.sh [ISSUE.md...]
# Output: per issue, the count by attribute for both, on stdout.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
die() {
    printf 'bench/outlook.sh: %s\n' "$*" >&2
    exit 1
}
if [ "$#" -eq 0 ]; then
    set -- "$ROOT/../shared/corpus/this-week-in-rust/2024-01-03-this-week-in-rust.md" \
        "$ROOT/../shared/corpus/bitcoin-optech/2018-12-28-newsletter.md"
fi
cargo build --quiet
LP=$TARGET/debug/letterpress
MJML=$ROOT/bench/node_modules/.bin/mjml
if [ ! -x "$MJML" ]; then
    command -v npm >/dev/null || die "npm not found: install Node.js 20+ for the reference mjml CLI"
    (cd bench && npm ci --silent --no-fund --no-audit </dev/null)
fi
for issue in "$@"; do
    [ -f "$issue" ] || die "no issue at $issue (the corpus lives in ../shared/corpus/)"
    stem=$(basename "$issue" .md)
    "$LP" preview "$issue" --out "$WORK" >/dev/null 2>&1 || true
    [ -f "$WORK/$stem.mjml" ] || die "letterpress wrote no $WORK/$stem.mjml"
    "$MJML" "$WORK/$stem.mjml" -o "$WORK/$stem.mjml.html"
    echo "== $stem"
    python3 bench/outlook_attrs.py "$WORK/$stem.html" "$WORK/$stem.mjml.html" |
        sed -e "s|$WORK/$stem.mjml.html|mjml CLI|" -e "s|$WORK/$stem.html|letterpress|"
done
