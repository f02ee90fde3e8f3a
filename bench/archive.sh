#!/usr/bin/env bash
# Benchmark: `letterpress archive` of the 77 (+4 .markdown) issues of
# ../shared/corpus into a site with an Atom feed, against Debian's `hugo`
# building the same Markdown files into pages and RSS with a minimal theme
# written here, side by side in one hyperfine run. Also times a no-change
# re-run of letterpress. Targets (issue 11): letterpress full build at least
# 2x faster than hugo (median), and a no-change rebuild at least 10x faster
# than a full one.
#
# Usage: bench/archive.sh
# Env:   RUNS (default 20), WARMUP (default 3)
# Everything is built in a temporary folder (the corpus is copied there,
# never into the repository); results go to bench/results/archive/ (git-ignored).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
CORPUS=$ROOT/../shared/corpus
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
RESULTS=$ROOT/bench/results/archive
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

say() { printf '\n== %s\n' "$*"; }
die() {
    printf 'bench/archive.sh: %s\n' "$*" >&2
    exit 1
}

[ -d "$CORPUS" ] || die "no corpus at $CORPUS (../shared/corpus beside the checkout)"
command -v hugo >/dev/null || die "hugo not found (apt-get install hugo)"
command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install hyperfine)"
mkdir -p "$RESULTS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/letterpress-archive-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

say "building letterpress (cargo build --release)"
cargo build --release --quiet
LP=$TARGET/release/letterpress
[ -x "$LP" ] || die "no binary at $LP"
echo "letterpress: $("$LP" --version)"
echo "hugo: $(hugo version)"

say "copying the corpus to $WORK (one folder; the newsletter's name after the date-led stem)"
mkdir -p "$WORK/lp/issues" "$WORK/hugo/content/posts"
n=0
for letter in "$CORPUS"/*/; do
    name=$(basename "$letter")
    for f in "$letter"*; do
        base=$(basename "$f")
        to="${base%.*}--$name.${base##*.}"
        cp "$f" "$WORK/lp/issues/$to"
        cp "$f" "$WORK/hugo/content/posts/$to"
        n=$((n + 1))
    done
done
echo "$n issue files"

cat >"$WORK/lp/letterpress.toml" <<EOF
[newsletter]
name = "Corpus"
from = "Corpus <news@example.org>"
web_url = "https://example.org/"
postal_address = "1 Example Road"
[paths]
issues = "issues"
templates = "$ROOT/templates"
[archive]
base_url = "https://example.org/archive/"
cache = "cache.json"
EOF

# A minimal hugo theme: a list page, a single page, and an RSS feed with
# the full content of the newest 20 (what letterpress's Atom feed carries).
H=$WORK/hugo
mkdir -p "$H/layouts/_default"
cat >"$H/config.toml" <<'EOF'
baseURL = "https://example.org/archive/"
title = "Corpus"
disableKinds = ["taxonomy", "term"]
[outputs]
home = ["HTML", "RSS"]
section = ["HTML"]
[frontmatter]
date = ["date", ":filename", ":default"]
EOF
cat >"$H/layouts/_default/baseof.html" <<'EOF'
<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ .Title }}</title><link rel="canonical" href="{{ .Permalink }}"></head>
<body><header><a href="{{ "" | relURL }}">{{ site.Title }}</a></header><main>{{ block "main" . }}{{ end }}</main></body></html>
EOF
cat >"$H/layouts/_default/single.html" <<'EOF'
{{ define "main" }}<article><h1>{{ .Title }}</h1>{{ .Content }}</article>
<nav>{{ with .PrevInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }} {{ with .NextInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}</nav>{{ end }}
EOF
cat >"$H/layouts/_default/list.html" <<'EOF'
{{ define "main" }}<ol>{{ range site.RegularPages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>{{ end }}</ol>{{ end }}
EOF
cat >"$H/layouts/_default/rss.xml" <<'EOF'
{{ printf "<?xml version=\"1.0\" encoding=\"utf-8\"?>" | safeHTML }}
<rss version="2.0"><channel><title>{{ site.Title }}</title><link>{{ .Permalink }}</link><description>{{ site.Title }}</description>
{{ range first 20 site.RegularPages }}<item><title>{{ .Title }}</title><link>{{ .Permalink }}</link><guid>{{ .Permalink }}</guid><pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</pubDate><description>{{ .Content | html }}</description></item>
{{ end }}</channel></rss>
EOF

LP_CLEAN="rm -rf $WORK/lp/public $WORK/lp/cache.json $WORK/lp/cache.site.json"
LP_FULL="$LP --config $WORK/lp/letterpress.toml archive --out $WORK/lp/public"
LP_AGAIN=$LP_FULL
HUGO_CLEAN="rm -rf $H/public $H/resources"
HUGO="hugo --source $H --quiet"

say "one build each, to check what they make"
sh -c "$LP_CLEAN && $LP_FULL"
sh -c "$HUGO_CLEAN && $HUGO" 2>"$RESULTS/hugo.stderr" || die "hugo failed: $(cat "$RESULTS/hugo.stderr")"
lp_pages=$(find "$WORK/lp/public" -name index.html | wc -l)
hugo_pages=$(find "$H/public" -name index.html | wc -l)
echo "letterpress: $lp_pages pages + feed.xml ($(wc -c <"$WORK/lp/public/feed.xml") bytes) + sitemap.xml"
echo "hugo:        $hugo_pages pages + index.xml ($(wc -c <"$H/public/index.xml") bytes) + sitemap.xml"
sh -c "$LP_AGAIN" | tail -1

say "timing with $(hyperfine --version): $WARMUP warm-up + $RUNS runs each"
# A full build starts from nothing on both sides: the output (and for
# letterpress its cache, for hugo its resources) is removed before each run,
# untimed (--prepare, one per command in order). The no-change run starts
# from the site the run before it left.
hyperfine --shell=none --warmup "$WARMUP" --runs "$RUNS" --style basic \
    --export-json "$RESULTS/hyperfine.json" \
    --prepare "$LP_CLEAN" --prepare "$HUGO_CLEAN" --prepare true \
    --command-name "letterpress full" "$LP_FULL" \
    --command-name "hugo full" "$HUGO" \
    --command-name "letterpress no-change" "$LP_AGAIN"

python3 - "$RESULTS/hyperfine.json" <<'EOF' | tee "$RESULTS/summary.txt"
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
full, hugo, again = r["letterpress full"], r["hugo full"], r["letterpress no-change"]
ms = lambda x: x["median"] * 1000
print(f"median: letterpress full {ms(full):.1f} ms, hugo full {ms(hugo):.1f} ms, letterpress no-change {ms(again):.1f} ms")
a = hugo["median"] / full["median"]
b = full["median"] / again["median"]
print(f"letterpress full vs hugo full: {a:.2f}x faster (target >= 2x): {'PASS' if a >= 2 else 'FAIL'}")
print(f"no-change rebuild vs full: {b:.1f}x faster (target >= 10x): {'PASS' if b >= 10 else 'FAIL'}")
EOF
