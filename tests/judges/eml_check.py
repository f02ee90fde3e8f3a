#!/usr/bin/env python3
"""An independent judge of the .eml that `letterpress preview` writes.

Usage: eml_check.py MESSAGE.eml EXPECTED_SUBJECT

Parses the message with Python's own `email` package under the *strict*
policy (any defect is an exception) and checks it against RFC 5322 / 2045 /
2047 / 2369 / 8058 and what letterpress promises:

- CRLF line endings throughout, no bare CR or LF, no line over 998 octets
  (header lines over 78 octets are reported as warnings only);
- every header is 7-bit ASCII (non-ASCII text RFC 2047-encoded), and the
  decoded Subject equals EXPECTED_SUBJECT;
- required headers, each exactly once: From, To, Subject, Date, Message-ID,
  MIME-Version, List-Id, List-Unsubscribe, and List-Unsubscribe-Post
  (`List-Unsubscribe=One-Click`) when List-Unsubscribe offers an https URL;
  Date parses, Message-ID looks like <left@right>;
- multipart/alternative with exactly two parts: text/plain first,
  text/html last, both charset=utf-8 with a valid Content-Transfer-Encoding
  whose encoded lines respect RFC 2045 (<= 76 characters for
  quoted-printable and base64, ASCII for 7bit);
- decoded bodies are valid UTF-8 with no recipient slot left unfilled, and
  the HTML has `<html` and `lang=`.

Exit status: 0 when every check passes, 1 when any fails (each failure on its
own line on stderr, prefixed `FAIL:`), 2 on bad usage or an unreadable file.
"""

import email.policy
import email.utils
import re
import sys
from email.parser import BytesParser

MAX_LINE = 998  # RFC 5322 2.1.1: MUST
SOFT_HEADER_LINE = 78  # RFC 5322 2.1.1: SHOULD
MAX_ENCODED_LINE = 76  # RFC 2045 6.7 (quoted-printable) and 6.8 (base64)
VALID_CTE = {"7bit", "8bit", "quoted-printable", "base64"}
REQUIRED = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Id",
    "List-Unsubscribe",
]
SLOT_MARK = "LPSLOTx"  # letterpress's per-recipient sentinels (src/message.rs)


class Judge:
    def __init__(self, path):
        self.path = path
        self.failures = []
        self.warnings = []

    def fail(self, msg):
        self.failures.append(msg)

    def warn(self, msg):
        self.warnings.append(msg)

    def check_lines(self, raw):
        """CRLF everywhere, line lengths, and an ASCII header block."""
        if not raw.endswith(b"\r\n"):
            self.fail("the message does not end with CRLF")
        physical = raw.split(b"\n")
        if physical and physical[-1] == b"":
            physical.pop()
        in_header = True
        bare_lf, bare_cr = [], []
        for n, line in enumerate(physical, 1):
            if line.endswith(b"\r"):
                line = line[:-1]
            elif n < len(physical) or raw.endswith(b"\n"):
                bare_lf.append(n)
            if b"\r" in line:
                bare_cr.append(n)
            if len(line) > MAX_LINE:
                self.fail(f"line {n} is {len(line)} octets long (RFC 5322 limit: {MAX_LINE})")
            if in_header:
                if line == b"":
                    in_header = False
                    continue
                if len(line) > SOFT_HEADER_LINE:
                    self.warn(
                        f"header line {n} is {len(line)} octets (RFC 5322 recommends <= {SOFT_HEADER_LINE}): "
                        f"{line[:60]!r}..."
                    )
                if any(b > 127 for b in line):
                    self.fail(
                        f"header line {n} has non-ASCII bytes; encode it per RFC 2047: {line[:80]!r}"
                    )
        if in_header:
            self.fail("no blank line ends the header block")
        for what, where in (("a bare LF instead of CRLF", bare_lf), ("a bare CR", bare_cr)):
            if where:
                shown = ", ".join(map(str, where[:10]))
                more = ", ..." if len(where) > 10 else ""
                self.fail(f"{len(where)} line(s) end with {what}: lines {shown}{more}")

    def check_headers(self, msg, expected_subject):
        for name in REQUIRED:
            values = msg.get_all(name) or []
            if len(values) != 1:
                self.fail(f"header {name} must appear exactly once, found {len(values)}")
        subject = msg.get("Subject")
        if subject is not None and str(subject) != expected_subject:
            self.fail(
                f"decoded Subject differs:\n    got      {str(subject)!r}\n    expected {expected_subject!r}"
            )
        date = msg.get("Date")
        if date is not None:
            try:
                when = email.utils.parsedate_to_datetime(str(date))
            except (TypeError, ValueError) as e:
                when = None
                self.fail(f"Date {str(date)!r} does not parse: {e}")
            if when is not None and when.tzinfo is None:
                self.fail(f"Date {str(date)!r} has no usable time zone")
        mid = msg.get("Message-ID")
        if mid is not None and not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(mid).strip()):
            self.fail(f"Message-ID {str(mid)!r} is not of the form <left@right>")
        mv = msg.get("MIME-Version")
        if mv is not None and str(mv).strip() != "1.0":
            self.fail(f"MIME-Version is {str(mv)!r}, expected 1.0")
        for name in ("From", "To"):
            v = msg.get(name)
            if v is not None:
                addrs = getattr(v, "addresses", ())
                if not addrs or not all(a.addr_spec and "@" in a.addr_spec for a in addrs):
                    self.fail(f"{name} {str(v)!r} holds no valid address")
        lu = msg.get("List-Unsubscribe")
        if lu is not None:
            targets = re.findall(r"<([^>]*)>", str(lu))
            if not targets:
                self.fail(f"List-Unsubscribe {str(lu)!r} has no <URI> (RFC 2369)")
            for t in targets:
                if not (t.startswith("https://") or t.startswith("http://") or t.startswith("mailto:")):
                    self.fail(f"List-Unsubscribe target {t!r} is neither http(s) nor mailto")
            if any(t.startswith("https://") for t in targets):
                post = msg.get_all("List-Unsubscribe-Post") or []
                if len(post) != 1 or str(post[0]).strip() != "List-Unsubscribe=One-Click":
                    self.fail(
                        "List-Unsubscribe has an https URL, so List-Unsubscribe-Post: "
                        f"List-Unsubscribe=One-Click is required once (RFC 8058); found {[str(p) for p in post]}"
                    )
        lid = msg.get("List-Id")
        if lid is not None and not re.search(r"<[^<>\s]+\.[^<>\s]+>", str(lid)):
            self.fail(f"List-Id {str(lid)!r} has no <list.id> (RFC 2919)")
        for name, value in msg.items():
            if SLOT_MARK in str(value):
                self.fail(f"header {name} still holds an unfilled recipient slot: {str(value)!r}")

    def check_part(self, part, want_type):
        ctype = part.get_content_type()
        label = want_type
        if ctype != want_type:
            self.fail(f"part should be {want_type}, is {ctype}")
            return None
        charset = part.get_content_charset()
        if (charset or "").lower() != "utf-8":
            self.fail(f"{label} part charset is {charset!r}, expected utf-8")
        cte = (part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
        if cte not in VALID_CTE:
            self.fail(f"{label} part has Content-Transfer-Encoding {cte!r}, expected one of {sorted(VALID_CTE)}")
            return None
        raw = part.get_payload(decode=False)
        if not isinstance(raw, str):
            self.fail(f"{label} part is not a leaf part")
            return None
        for n, line in enumerate(raw.splitlines(), 1):
            if cte in ("quoted-printable", "base64") and len(line) > MAX_ENCODED_LINE:
                self.fail(
                    f"{label} part line {n} is {len(line)} characters of {cte} (RFC 2045 limit: {MAX_ENCODED_LINE})"
                )
                break
            if cte == "7bit" and not line.isascii():
                self.fail(f"{label} part is declared 7bit but line {n} is not ASCII")
                break
        if cte == "quoted-printable" and re.search(r"=(?![0-9A-F]{2}|\r?$)", raw, re.M):
            self.fail(f"{label} part has an '=' that is not a valid quoted-printable escape")
        data = part.get_payload(decode=True)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail(f"{label} body is not valid UTF-8 after decoding {cte}: {e}")
            return None
        if SLOT_MARK in text:
            self.fail(f"{label} body still holds an unfilled recipient slot ({SLOT_MARK}...)")
        if not text.strip():
            self.fail(f"{label} body is empty")
        return text

    def check_structure(self, msg):
        if msg.get_content_type() != "multipart/alternative":
            self.fail(f"top-level Content-Type is {msg.get_content_type()}, expected multipart/alternative")
            return
        if not msg.get_boundary():
            self.fail("multipart/alternative without a boundary")
        parts = msg.get_payload()
        if not isinstance(parts, list) or len(parts) != 2:
            n = len(parts) if isinstance(parts, list) else "no"
            self.fail(f"multipart/alternative must have exactly 2 parts (text, then HTML); has {n}")
            return
        self.check_part(parts[0], "text/plain")
        html = self.check_part(parts[1], "text/html")
        if html is not None:
            if "<html" not in html.lower():
                self.fail("the HTML part has no <html element")
            if not re.search(r"<html[^>]*\slang=", html, re.I):
                self.fail("the HTML part's <html> element has no lang= attribute")

    def run(self, expected_subject):
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except OSError as e:
            print(f"eml_check: cannot read {self.path}: {e}", file=sys.stderr)
            return 2
        self.check_lines(raw)
        try:
            msg = BytesParser(policy=email.policy.strict).parsebytes(raw)
        except Exception as e:  # strict policy: any defect raises
            self.fail(f"Python's email parser (strict policy) rejects the message: {type(e).__name__}: {e}")
            msg = None
        if msg is not None:
            try:
                self.check_headers(msg, expected_subject)
                self.check_structure(msg)
            except Exception as e:  # a header the strict policy cannot even read
                self.fail(f"strict parsing failed while reading the message: {type(e).__name__}: {e}")
        for w in self.warnings:
            print(f"{self.path}: warning: {w}", file=sys.stderr)
        if self.failures:
            for f in self.failures:
                print(f"{self.path}: FAIL: {f}", file=sys.stderr)
            print(f"{self.path}: {len(self.failures)} check(s) failed", file=sys.stderr)
            return 1
        print(f"{self.path}: ok ({len(raw)} octets, {len(self.warnings)} warning(s))")
        return 0


def main(argv):
    if len(argv) != 3:
        print("usage: eml_check.py MESSAGE.eml EXPECTED_SUBJECT", file=sys.stderr)
        return 2
    return Judge(argv[1]).run(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
