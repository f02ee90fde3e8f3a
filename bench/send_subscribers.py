#!/usr/bin/env python3
"""Writes a subscribers.toml with N generated subscribers, in the documented
one-key-per-line format, to stdout: send_subscribers.py N [DOMAIN]."""
import sys

n = int(sys.argv[1])
domain = sys.argv[2] if len(sys.argv) > 2 else "example.com"
out = sys.stdout
out.write(f"# {n} generated subscribers for letterpress benchmarks\n")
w = out.write
for i in range(n):
    w(
        f'[[subscriber]]\nemail = "reader{i}@{domain}"\nname = "Reader {i} Ünïcode"\n'
        f'status = "active"\ntags = ["bench", "t{i % 7}"]\njoined = 2024-{1 + i % 12:02d}-{1 + i % 28:02d}\n\n'
    )
