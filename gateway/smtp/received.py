"""The ``Received:`` trace header (RFC 5321 4.4) with RFC 3848 / RFC 6531
protocol keywords.

Everything that came from the client (HELO name, reverse DNS name, user
name, recipient) is sanitised so that it cannot end the header, open or close
a comment, or otherwise change the header's structure.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from email.utils import format_datetime

MAX_WIDTH = 78  # RFC 5322 2.1.1 "SHOULD" line length
_MAX_FIELD = 255

# What may stand in a domain/atom position; anything else becomes "_".
_UNSAFE_DOMAIN = re.compile(r"[^A-Za-z0-9.\-_:\[\]]")
# Under UTF8SMTP, non-ASCII letters and digits too (\w), but no C1 controls or
# Unicode line separators.
_UNSAFE_DOMAIN_UTF8 = re.compile(r"[^\w.\-:\[\]]")
# Inside a comment: no parentheses, backslash, ";" (naive parsers take the
# date from after the last ";") or control characters.
_UNSAFE_COMMENT = re.compile(r"[();\\\x00-\x1f\x7f]")
# Inside the FOR path: none of those, nor brackets, quotes or spaces (trace
# only, so a quoted local part may lose some characters).
_UNSAFE_PATH = re.compile(r"[<>();\\\"\s\x00-\x1f\x7f]")

# RFC 3848 (ESMTP, LMTP) and RFC 6531 3.7.3 (UTF8SMTP, UTF8LMTP) with their
# S (TLS) and A (authenticated) suffixes. Plain SMTP (HELO) has no variants.
_BASES = ("SMTP", "ESMTP", "LMTP", "UTF8SMTP", "UTF8LMTP")


def with_keyword(protocol: str, *, tls: bool, auth: bool) -> str:
    """The WITH keyword: ``ESMTP`` + ``S`` under TLS + ``A`` if authenticated."""
    base = protocol.upper()
    if base not in _BASES:
        raise ValueError(f"unknown protocol for Received: {protocol!r}")
    if base == "SMTP":
        return base
    return base + ("S" if tls else "") + ("A" if auth else "")


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# C1 controls and the Unicode line/paragraph separators (and BOM).
_UNSAFE_UNICODE = re.compile(r"[\x80-\x9f\u2028\u2029\ufeff]")


def _clean(pattern: re.Pattern[str], text: str, fallback: str, utf8: bool = False) -> str:
    """Replace what may not appear in this position by "_"; non-ASCII only
    survives in a UTF8SMTP header (RFC 6532 3.2)."""
    cleaned = _UNSAFE_UNICODE.sub("_", pattern.sub("_", text))
    if not utf8:
        cleaned = _NON_ASCII.sub("_", cleaned)
    return cleaned[:_MAX_FIELD] or fallback


def _tcp_info(client_ip: str) -> str:
    """RFC 5321 4.4 TCP-info address literal: ``[192.0.2.1]`` or
    ``[IPv6:2001:db8::1]`` (RFC 5321 4.1.3)."""
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return "[" + _clean(_UNSAFE_DOMAIN, client_ip, "unknown").strip("[]") + "]"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"[{ip.ipv4_mapped}]"
        return f"[IPv6:{ip.compressed}]"
    return f"[{ip}]"


def _fold(logical_lines: list[list[str]]) -> str:
    """Join words into header lines of at most MAX_WIDTH where possible.

    Each logical line starts a new physical line (continuations begin with a
    TAB, RFC 5322 2.2.3); a logical line too long for one line is folded
    further at its spaces.
    """
    out: list[str] = []
    for words in logical_lines:
        line = "" if not out else "\t"
        for word in words:
            if line in ("", "\t"):
                line += word
            elif len(line) + 1 + len(word) > MAX_WIDTH:
                out.append(line)
                line = "\t" + word
            else:
                line += " " + word
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def received_header(
    *,
    helo: str,
    client_ip: str,
    client_name: str | None,
    by: str,
    protocol: str,
    tls: tuple[str, str] | None,
    auth_user: str | None,
    qid: str,
    recipient: str | None,
    when: float,
    authenticated: bool = False,
    encrypted: bool = False,
) -> bytes:
    """The complete ``Received:`` header, folded, ending with CRLF.

    ``protocol`` is the base keyword: "SMTP" (HELO), "ESMTP" (EHLO) or
    "UTF8SMTP" (EHLO with MAIL ... SMTPUTF8); the S and A suffixes are added
    from ``encrypted`` (or ``tls``, the version and cipher) and
    ``authenticated`` (or ``auth_user``).
    ``auth_user`` should be given only when configuration allows showing it. ``recipient`` goes in
    the FOR clause (RFC 5321 4.4: only when there is a single recipient).
    """
    keyword = with_keyword(
        protocol, tls=encrypted or tls is not None, auth=authenticated or auth_user is not None
    )
    utf8 = keyword.startswith("UTF8")
    domain_pattern = _UNSAFE_DOMAIN_UTF8 if utf8 else _UNSAFE_DOMAIN
    helo_text = _clean(domain_pattern, helo, "unknown", utf8)
    name = _clean(domain_pattern, client_name, "unknown", utf8) if client_name else "unknown"
    by_text = _clean(domain_pattern, by, "localhost", utf8)
    qid_text = _clean(_UNSAFE_DOMAIN, qid, "unknown")
    date = format_datetime(datetime.fromtimestamp(when, UTC))

    # From-domain with TCP-info (RFC 5321 4.4), By-domain, WITH, ID.
    lines: list[list[str]] = [
        ["Received:", "from", helo_text, f"({name}", f"{_tcp_info(client_ip)})"],
        ["by", by_text, "(mailgateway)", "with", keyword, "id", qid_text],
    ]
    if tls is not None:
        version = _clean(_UNSAFE_COMMENT, tls[0], "unknown", utf8).split()
        cipher = _clean(_UNSAFE_COMMENT, tls[1], "unknown", utf8).split()
        lines.append(["(using", *version, "with", "cipher", *cipher])
        lines[-1][-1] += ")"
    if auth_user is not None:
        user = _clean(_UNSAFE_COMMENT, auth_user, "unknown", utf8).split() or ["unknown"]
        lines.append(["(authenticated", "as", *user])
        lines[-1][-1] += ")"
    if recipient is not None:
        rcpt = _clean(_UNSAFE_PATH, recipient, "unknown", utf8)
        lines.append(["for", f"<{rcpt}>;", *date.split()])
    else:
        lines[-1][-1] += ";"
        lines.append(date.split())
    return _fold(lines).encode("utf-8")
