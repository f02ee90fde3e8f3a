"""Print flufl.bounce's verdict on every sample in a folder, one JSON line each.

usage: flufl_verdicts.py DIR
Each line: {"file": NAME, "temporary": [...], "permanent": [...]} or
{"file": NAME, "error": TYPE} when a flufl detector raises on the sample.
"""
import email
import json
import os
import sys

from flufl.bounce import all_failures

folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    if not name.endswith(".txt"):
        continue
    with open(os.path.join(folder, name), "rb") as fp:
        msg = email.message_from_binary_file(fp)
    try:
        temporary, permanent = all_failures(msg)
    except Exception as e:  # a detector bug on one sample: report, go on
        print(json.dumps({"file": name, "error": type(e).__name__}))
        continue
    dec = lambda s: sorted(x.decode("latin-1") for x in s)
    print(json.dumps({"file": name, "temporary": dec(temporary), "permanent": dec(permanent)}))
