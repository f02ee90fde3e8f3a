#!/usr/bin/env bash
# Seeds fuzz/corpus/parse_render (git-ignored) with real issues: the shipped
# example(s) in issues/, the test fixtures, and, when present beside the
# checkout, ../shared/seeds and ../shared/corpus (never committed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
dest=corpus/parse_render
mkdir -p "$dest"
n=0
for dir in ../issues ../tests/fixtures ../../shared/seeds ../../shared/corpus; do
    [ -d "$dir" ] || continue
    while IFS= read -r -d '' f; do
        # Name by content hash, as libFuzzer does, so re-seeding is idempotent.
        cp "$f" "$dest/$(sha1sum <"$f" | cut -c1-40)"
        n=$((n + 1))
    done < <(find "$dir" -type f \( -name '*.md' -o -name '*.markdown' \) -print0)
done
echo "seeded $dest with $n files ($(ls "$dest" | wc -l) distinct)"
