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
# Deep nesting (issue #14): just under, at and past the cap of 64, and far
# past it, for every kind of nesting the walkers and the renderer recurse on.
for depth in 63 64 65 200 10000; do
    for kind in list quote emph div mixed; do
        python3 - "$depth" "$kind" >"$dest/deep-$kind-$depth" <<'PY'
import sys
n, kind = int(sys.argv[1]), sys.argv[2]
body = {
    "list": "- " * n + "x\n",
    "quote": ">" * n + " x\n",
    "emph": "*a " * n + "x" + " b*" * n + "\n",
    "div": "<div>" * n + "x" + "</div>" * n + "\n",
    "mixed": "> - " * (n // 2) + "*x*\n\n" + "<b><i>" * (n // 2) + "y\n",
}[kind]
print("---\ntitle: Deep\ndate: 2026-11-22\nnumber: 90\n---\n\n" + body, end="")
PY
        n=$((n + 1))
    done
done
echo "seeded $dest with $n files ($(ls "$dest" | wc -l) distinct)"
