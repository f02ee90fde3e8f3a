#!/usr/bin/env python3
"""Counts the presentational attributes Word-engine Outlook relies on
(valign, bgcolor, align, width, height) in an HTML file, by element, outside
conditional comments (the layout's <!--[if mso]> tables are the same in both
renderers). Usage: outlook_attrs.py FILE.html [FILE.html...]; prints one
line per file: total, then name=count per attribute."""
import sys
from collections import Counter
from html.parser import HTMLParser

ATTRS = ("valign", "bgcolor", "align", "width", "height")


class Count(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.counts = Counter()

    def handle_starttag(self, tag, attrs):
        for key, _ in attrs:
            if key in ATTRS:
                self.counts[key] += 1

    handle_startendtag = handle_starttag


for path in sys.argv[1:]:
    c = Count()
    c.feed(open(path, encoding="utf-8").read())
    total = sum(c.counts.values())
    detail = " ".join(f"{a}={c.counts[a]}" for a in ATTRS)
    print(f"{total}\t{detail}\t{path}")
