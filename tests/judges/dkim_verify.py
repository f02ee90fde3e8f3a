#!/usr/bin/env python3
"""Verifies DKIM signatures with dkimpy, an independent implementation.

  dkim_verify.py TXT FILE...

TXT is the DNS TXT record to answer for the selector (e.g.
"v=DKIM1; k=ed25519; p=..."). Prints "ok FILE" or "FAIL FILE: why" per file
and exits 0 only if every signature verifies.
"""
import logging
import sys

import dkim

txt = sys.argv[1].encode()
failed = 0
for path in sys.argv[2:]:
    msg = open(path, "rb").read()
    log = []

    class H(logging.Handler):
        def emit(self, record):
            log.append(record.getMessage())

    logger = logging.getLogger("dkimcheck")
    logger.handlers = [H()]
    logger.setLevel(logging.DEBUG)
    d = dkim.DKIM(msg, logger=logger)
    try:
        ok = d.verify(dnsfunc=lambda name, timeout=5: txt)
    except Exception as e:  # noqa: BLE001
        ok = False
        log.append(f"{type(e).__name__}: {e}")
    if ok:
        print(f"ok {path}")
    else:
        failed += 1
        print(f"FAIL {path}: {'; '.join(log)[-400:]}")
sys.exit(1 if failed else 0)
