#!/usr/bin/env python3
"""Reads every captured message in DIR (*.eml + *.json from smtp_capture.py)
with Python's email package in strict mode and prints one JSON object per
message on stdout, for the Rust test to check:

  file, envelope (mail_from, rcpt_tos, tls, auth), defects, crlf_only,
  max_line, headers (decoded, str), parts (content types in order),
  text / html (decoded bodies)
"""
import email
import email.policy
import json
import os
import sys

d = sys.argv[1]
policy = email.policy.default.clone(raise_on_defect=True)
for name in sorted(os.listdir(d)):
    if not name.endswith(".eml"):
        continue
    raw = open(os.path.join(d, name), "rb").read()
    env = json.load(open(os.path.join(d, name[:-4] + ".json")))
    out = {"file": name, "envelope": env, "defects": []}
    lines = raw.split(b"\r\n")
    out["crlf_only"] = b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    out["max_line"] = max(len(l) for l in lines)
    try:
        msg = email.message_from_bytes(raw, policy=policy)
        headers = {}
        for k in ["From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Id",
                  "List-Unsubscribe", "List-Unsubscribe-Post", "List-Archive", "Precedence",
                  "MIME-Version", "DKIM-Signature"]:
            v = msg.get(k)
            headers[k] = None if v is None else str(v)
        to = msg["To"].addresses[0]
        out["to_name"] = to.display_name
        out["to_addr"] = to.addr_spec
        out["headers"] = headers
        out["content_type"] = msg.get_content_type()
        parts = [p for p in msg.iter_parts()] if msg.is_multipart() else []
        out["parts"] = [p.get_content_type() for p in parts]
        for p in parts:
            key = {"text/plain": "text", "text/html": "html"}.get(p.get_content_type())
            if key:
                out[key] = p.get_content()
        for part in msg.walk():
            out["defects"] += [repr(x) for x in part.defects]
    except Exception as e:  # a defect raised in strict mode
        out["defects"].append(f"{type(e).__name__}: {e}")
    print(json.dumps(out))
