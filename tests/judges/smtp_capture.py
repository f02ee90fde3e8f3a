#!/usr/bin/env python3
"""A capturing SMTP server for letterpress's end-to-end tests (aiosmtpd).

Every accepted message is written to DIR/NNNNNNN.eml exactly as received
(after dot-unstuffing), with DIR/NNNNNNN.json holding the envelope:
{"mail_from": ..., "rcpt_tos": [...], "tls": bool, "auth": user-or-null}.

Prints "READY <port>" on stdout once listening (use --port 0 for any port).

  --starttls CERT KEY   offer STARTTLS with this certificate (and require it)
  --implicit CERT KEY   speak TLS from the first byte (smtps)
  --auth USER:PASS      require AUTH PLAIN/LOGIN with these credentials
  --no-smtputf8         do not offer SMTPUTF8
  --reject ADDR=REPLY   answer RCPT TO:<ADDR> with REPLY (e.g. "550 5.1.1 no such
                        user"), every time; repeatable. ADDR is compared as sent.
"""
import argparse
import asyncio
import itertools
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Capture:
    def __init__(self, directory, reject=None):
        self.dir = directory
        self.n = itertools.count(1)
        self.reject = reject or {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.n)
        base = os.path.join(self.dir, f"{n:07d}")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json", "w") as f:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                    "auth": session.authenticated and (session.auth_data.login.decode() if session.auth_data else True),
                },
                f,
            )
        os.rename(base + ".eml.tmp", base + ".eml")
        return f"250 2.0.0 Ok: queued as {n}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--implicit", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth")
    p.add_argument("--no-smtputf8", action="store_true")
    p.add_argument("--reject", action="append", default=[])
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    kw = dict(enable_SMTPUTF8=not a.no_smtputf8, hostname="capture.test")
    implicit_ctx = None
    if a.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*a.starttls)
        kw.update(tls_context=ctx, require_starttls=True)
    if a.implicit:
        implicit_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        implicit_ctx.load_cert_chain(*a.implicit)
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(a.starttls))  # implicit TLS: aiosmtpd cannot tell, but it is TLS

    handler = Capture(a.dir, dict(r.split("=", 1) for r in a.reject))

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, **kw), a.host, a.port, ssl=implicit_ctx
        )
        print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
