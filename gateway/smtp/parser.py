"""SMTP command line parsing: pure, no I/O.

Grammar from RFC 5321 4.1.2 (paths, parameters), 4.1.1.1 (EHLO/HELO),
4.1.1.2 (MAIL), 4.1.1.3 (RCPT), 4.1.3 (address literals), with the
parameters of SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), DSN (RFC 3461),
SMTPUTF8 (RFC 6531) and AUTH (RFC 4954 5).

Every failure is an :class:`SMTPSyntaxError` carrying the reply to send.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from gateway.envelope import NOTIFY_VALUES, Address, AddressError
from gateway.smtp import codes
from gateway.smtp.codes import Reply


class SMTPSyntaxError(ValueError):
    """A command that cannot be accepted; :attr:`reply` says why."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply))
        self.reply = reply


@dataclass(frozen=True, slots=True)
class Command:
    verb: str  # upper case
    argument: str  # after the single SP following the verb; trailing SPs removed


@dataclass(frozen=True, slots=True)
class MailFrom:
    sender: Address | None  # None for the null reverse-path "<>"
    size: int | None = None  # RFC 1870
    body: str | None = None  # "7BIT" | "8BITMIME" | "BINARYMIME" (RFC 6152, 3030)
    ret: str | None = None  # "FULL" | "HDRS" (RFC 3461 4.3)
    envid: str | None = None  # xtext-decoded (RFC 3461 4.4)
    smtputf8: bool = False  # RFC 6531 3.4
    auth: str | None = None  # xtext-decoded AUTH= (RFC 4954 5); "<>" if given so


@dataclass(frozen=True, slots=True)
class RcptTo:
    address: Address
    notify: frozenset[str] | None = None  # None absent, empty = NEVER (RFC 3461 4.1)
    orcpt: tuple[str, str] | None = None  # (addr-type, xtext-decoded) (RFC 3461 4.2)
    postmaster: bool = False  # "<Postmaster>" without a domain (RFC 5321 4.1.1.3)


# --- command line -----------------------------------------------------------

_VERB = re.compile(rb"^[A-Za-z]{4}$")
_BAD_ARG_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def parse_command(line: bytes) -> Command:
    """Split one command line (without its CRLF) into verb and argument.

    RFC 5321 4.1.1: a verb of four letters (STARTTLS, RFC 3207, is the one
    longer verb we know), then optionally SP and the argument. Unknown verbs
    of that shape are returned; the protocol answers them with 500.
    """
    if not line.strip(b" "):
        raise SMTPSyntaxError(codes.UNRECOGNIZED)
    if b"\x00" in line:
        raise SMTPSyntaxError(codes.NUL_IN_COMMAND)
    if b"\r" in line or b"\n" in line:
        raise SMTPSyntaxError(codes.BARE_NEWLINE)
    verb, _, rest = line.partition(b" ")
    if not (_VERB.match(verb) or verb.upper() == b"STARTTLS"):
        raise SMTPSyntaxError(codes.UNRECOGNIZED)
    try:
        argument = rest.rstrip(b" ").decode("utf-8")
    except UnicodeDecodeError:
        raise SMTPSyntaxError(
            codes.SYNTAX_ARGUMENT.with_text("Command is not valid UTF-8")
        ) from None
    if _BAD_ARG_CHARS.search(argument):
        raise SMTPSyntaxError(codes.SYNTAX_ARGUMENT.with_text("Control character in command"))
    return Command(verb.decode("ascii").upper(), argument)


# --- xtext (RFC 3461 4) -----------------------------------------------------

_XTEXT = re.compile(r"^(?:[!-*,-<>-~]|\+[0-9A-F]{2})*$")


def xtext_decode(text: str) -> str:
    """Decode RFC 3461 4 xtext. ``+XX`` takes upper-case hex only (the
    grammar's ``hexchar``); the octets are read as UTF-8. Invalid input raises
    ValueError."""
    if not _XTEXT.match(text):
        raise ValueError(f"invalid xtext: {text!r}")
    if "+" not in text:
        return text
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "+":
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(ord(c))
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"xtext does not decode to UTF-8: {text!r}") from None


def xtext_encode(text: str) -> str:
    """Encode as RFC 3461 4 xtext: octets outside ``!``..``~``, ``+`` and ``=``
    become ``+XX`` (non-ASCII characters as their UTF-8 octets)."""
    out: list[str] = []
    for byte in text.encode("utf-8"):
        if 33 <= byte <= 126 and byte not in (0x2B, 0x3D):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


# --- paths (RFC 5321 4.1.2) -------------------------------------------------

MAX_PATH = 256  # RFC 5321 4.5.3.1.3, including the angle brackets
MAX_ENVID = 100  # RFC 3461 4.4
MAX_ORCPT = 500  # RFC 3461 4.2

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_DOT_STRING_ASCII = re.compile(rf"^[{_ATEXT}]+(?:\.[{_ATEXT}]+)*$")
# RFC 6531 3.3: atext =/ UTF8-non-ascii.
_DOT_STRING_UTF8 = re.compile(rf"^[{_ATEXT}\x80-\U0010ffff]+(?:\.[{_ATEXT}\x80-\U0010ffff]+)*$")
# RFC 5321 4.1.2 qtextSMTP / quoted-pairSMTP (RFC 6531 3.3 adds UTF8-non-ascii).
_QUOTED_ASCII = re.compile(r'^"(?:[ !#-\[\]-~]|\\[ -~])*"$')
_QUOTED_UTF8 = re.compile(r'^"(?:[ !#-\[\]-~\x80-\U0010ffff]|\\[ -~])*"$')
# RFC 5321 4.1.2 sub-domain = Let-dig [Ldh-str]; RFC 6531 3.3 adds U-labels.
_LABEL_ASCII = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
_LABEL_UTF8 = (
    r"[A-Za-z0-9\x80-\U0010ffff](?:[A-Za-z0-9\-\x80-\U0010ffff]*[A-Za-z0-9\x80-\U0010ffff])?"
)
_DOMAIN_ASCII = re.compile(rf"^{_LABEL_ASCII}(?:\.{_LABEL_ASCII})*$")
_DOMAIN_UTF8 = re.compile(rf"^{_LABEL_UTF8}(?:\.{_LABEL_UTF8})*$")
# RFC 5321 4.1.3 General-address-literal = Standardized-tag ":" 1*dcontent.
_GENERAL_LITERAL = re.compile(r"^[A-Za-z0-9\-]*[A-Za-z0-9]:[!-Z^-~]+$")
# RFC 5321 4.1.2 A-d-l (the source route, ignored per 4.1.1.3 and Appendix C).
_ADL = re.compile(
    rf"^@{_LABEL_ASCII}(?:\.{_LABEL_ASCII})*(?:,@{_LABEL_ASCII}(?:\.{_LABEL_ASCII})*)*:"
)


def _is_address_literal(text: str) -> bool:
    """RFC 5321 4.1.3: ``[IPv4]``, ``[IPv6:...]`` or ``[tag:content]``."""
    if len(text) < 3 or text[0] != "[" or text[-1] != "]":
        return False
    inner = text[1:-1]
    if inner[:5].lower() == "ipv6:":
        try:
            ipaddress.IPv6Address(inner[5:])
        except ValueError:
            return False
        return "%" not in inner
    if ":" in inner:
        return bool(_GENERAL_LITERAL.match(inner)) and inner[:5].lower() != "ipv6:"
    try:
        ipaddress.IPv4Address(inner)
    except ValueError:
        return False
    return True


def _is_domain(text: str, utf8: bool) -> bool:
    if not text or len(text.encode("utf-8")) > 255:
        return False
    return bool((_DOMAIN_UTF8 if utf8 else _DOMAIN_ASCII).match(text))


def _split_path(text: str, bad: Reply) -> tuple[str, str]:
    """Split ``<path> params`` at the closing bracket of the path.

    The path must be in angle brackets (RFC 5321 4.1.2 ``Path``); quoted
    strings inside may contain ``>``, spaces and quoted pairs.
    """
    if not text.startswith("<"):
        raise SMTPSyntaxError(bad.with_text(f"{bad.lines[0]}: address must be in <>"))
    i = 1
    quoted = False
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == ">":
            rest = text[i + 1 :]
            if rest and not rest.startswith(" "):
                raise SMTPSyntaxError(bad)
            return text[1:i], rest
        elif c in "< ":
            raise SMTPSyntaxError(bad)
        i += 1
    raise SMTPSyntaxError(bad)


def _mailbox(path: str, *, utf8: bool, bad: Reply, unqualified: Reply) -> Address:
    """Validate the inside of ``<...>`` (source route removed) as an RFC 5321
    Mailbox and return it as an :class:`Address`."""
    if len(path.encode("utf-8")) + 2 > MAX_PATH:
        raise SMTPSyntaxError(codes.PATH_TOO_LONG)
    m = _ADL.match(path)
    if m:  # RFC 5321 4.1.1.3 / Appendix C: accept and ignore the source route
        path = path[m.end() :]
    if not path.isascii() and not utf8:
        raise SMTPSyntaxError(codes.SMTPUTF8_REQUIRED)  # RFC 6531 3.7.4.1
    if path.startswith('"'):
        end = _closing_quote(path)
        if end is None:
            raise SMTPSyntaxError(bad)
        local, rest = path[: end + 1], path[end + 1 :]
        if not (_QUOTED_UTF8 if utf8 else _QUOTED_ASCII).match(local):
            raise SMTPSyntaxError(bad)
        if not rest:
            raise SMTPSyntaxError(unqualified)
        if not rest.startswith("@"):
            raise SMTPSyntaxError(bad)
        domain = rest[1:]
    else:
        local, sep, domain = path.rpartition("@")
        if not sep:
            if (_DOT_STRING_UTF8 if utf8 else _DOT_STRING_ASCII).match(path):
                raise SMTPSyntaxError(unqualified)
            raise SMTPSyntaxError(bad)
        if not (_DOT_STRING_UTF8 if utf8 else _DOT_STRING_ASCII).match(local):
            raise SMTPSyntaxError(bad)
    if not (_is_domain(domain, utf8) or _is_address_literal(domain)):
        raise SMTPSyntaxError(bad)
    try:
        return Address.parse(f"{local}@{domain}")
    except AddressError:
        raise SMTPSyntaxError(bad) from None


def _closing_quote(text: str) -> int | None:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return None


# --- parameters (RFC 5321 4.1.2 Mail-parameters / Rcpt-parameters) ----------

_KEYWORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")
# esmtp-value = 1*(%d33-60 / %d62-126); RFC 6531 3.3 adds UTF8-non-ascii.
_VALUE_ASCII = re.compile(r"^[!-<>-~]+$")
_VALUE_UTF8 = re.compile(r"^[!-<>-~\x80-\U0010ffff]+$")


def _parameters(text: str, *, utf8: bool) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for item in text.split(" "):
        if not item:
            continue  # tolerate runs of spaces, as Postfix does
        key, eq, value = item.partition("=")
        if not _KEYWORD.match(key):
            raise SMTPSyntaxError(codes.SYNTAX.with_text(f"Bad parameter syntax: {key[:40]}"))
        if eq and not (_VALUE_UTF8 if utf8 else _VALUE_ASCII).match(value):
            raise SMTPSyntaxError(codes.SYNTAX.with_text(f"Bad value for parameter {key}"))
        upper = key.upper()
        if upper in params:
            raise SMTPSyntaxError(codes.SYNTAX.with_text(f"Duplicate parameter {upper}"))
        params[upper] = value if eq else None
    return params


def _need_value(key: str, value: str | None) -> str:
    if value is None:
        raise SMTPSyntaxError(codes.SYNTAX.with_text(f"Parameter {key} needs a value"))
    return value


def _xtext_param(key: str, value: str) -> str:
    try:
        return xtext_decode(value)
    except ValueError:
        raise SMTPSyntaxError(codes.SYNTAX.with_text(f"Bad xtext in {key}")) from None


def _keyword_and_rest(argument: str, keyword: str, usage: str) -> str:
    """Strip ``FROM:``/``TO:`` (case-insensitive) and the spaces Postfix
    tolerates after the colon."""
    if argument[: len(keyword)].upper() != keyword:
        raise SMTPSyntaxError(codes.SYNTAX.with_text(f"Syntax: {usage}"))
    rest = argument[len(keyword) :].lstrip(" ")
    if not rest:
        raise SMTPSyntaxError(codes.SYNTAX.with_text(f"Syntax: {usage}"))
    return rest


def parse_mail_from(argument: str) -> MailFrom:
    """Parse the argument of MAIL (RFC 5321 4.1.1.2), e.g.
    ``FROM:<a@b> SIZE=100 BODY=8BITMIME``."""
    rest = _keyword_and_rest(argument, "FROM:", "MAIL FROM:<address>")
    path, tail = _split_path(rest, codes.BAD_SENDER_SYNTAX)
    # Parameters first: SMTPUTF8 decides whether a non-ASCII address is valid.
    params = _parameters(tail, utf8=True)
    smtputf8 = False
    size: int | None = None
    body: str | None = None
    ret: str | None = None
    envid: str | None = None
    auth: str | None = None
    for key, value in params.items():
        if key == "SIZE":  # RFC 1870 3: size-value = 1*20DIGIT
            v = _need_value(key, value)
            if not (v.isascii() and v.isdigit() and len(v) <= 20):
                raise SMTPSyntaxError(codes.SYNTAX.with_text("Bad SIZE value"))
            size = int(v)
        elif key == "BODY":  # RFC 6152 2, RFC 3030 3
            v = _need_value(key, value).upper()
            if v not in ("7BIT", "8BITMIME", "BINARYMIME"):
                raise SMTPSyntaxError(codes.SYNTAX.with_text("Bad BODY value"))
            body = v
        elif key == "RET":  # RFC 3461 4.3
            v = _need_value(key, value).upper()
            if v not in ("FULL", "HDRS"):
                raise SMTPSyntaxError(codes.SYNTAX.with_text("Bad RET value"))
            ret = v
        elif key == "ENVID":  # RFC 3461 4.4: xtext, printable ASCII, <= 100
            v = _need_value(key, value)
            if len(v) > MAX_ENVID:
                raise SMTPSyntaxError(codes.SYNTAX.with_text("ENVID too long"))
            envid = _xtext_param(key, v)
            if not all(" " <= c <= "~" for c in envid):
                raise SMTPSyntaxError(codes.SYNTAX.with_text("Bad ENVID value"))
        elif key == "SMTPUTF8":  # RFC 6531 3.4: no value
            if value is not None:
                raise SMTPSyntaxError(codes.SYNTAX.with_text("SMTPUTF8 takes no value"))
            smtputf8 = True
        elif key == "AUTH":  # RFC 4954 5: AUTH=<mailbox as xtext> or AUTH=<>
            v = _need_value(key, value)
            auth = v if v == "<>" else _xtext_param(key, v)
        else:
            raise SMTPSyntaxError(codes.UNKNOWN_PARAM)
    if not smtputf8 and not tail.isascii():
        raise SMTPSyntaxError(codes.SYNTAX.with_text("Non-ASCII parameter without SMTPUTF8"))
    sender: Address | None = None
    if path != "":
        sender = _mailbox(
            path, utf8=smtputf8, bad=codes.BAD_SENDER_SYNTAX, unqualified=codes.BAD_SENDER
        )
    return MailFrom(sender, size, body, ret, envid, smtputf8, auth)


def parse_rcpt_to(argument: str, postmaster_domain: str, *, utf8: bool = False) -> RcptTo:
    """Parse the argument of RCPT (RFC 5321 4.1.1.3), e.g.
    ``TO:<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b``.

    ``utf8`` says whether the transaction's MAIL had SMTPUTF8 (RFC 6531).
    ``<Postmaster>`` (any case, no domain) is postmaster@``postmaster_domain``.
    """
    rest = _keyword_and_rest(argument, "TO:", "RCPT TO:<address>")
    path, tail = _split_path(rest, codes.BAD_RCPT_SYNTAX)
    params = _parameters(tail, utf8=utf8)
    notify: frozenset[str] | None = None
    orcpt: tuple[str, str] | None = None
    for key, value in params.items():
        if key == "NOTIFY":  # RFC 3461 4.1
            items = _need_value(key, value).upper().split(",")
            if items == ["NEVER"]:
                notify = frozenset()
            elif all(i in NOTIFY_VALUES for i in items):
                notify = frozenset(items)
            else:
                raise SMTPSyntaxError(codes.SYNTAX.with_text("Bad NOTIFY value"))
        elif key == "ORCPT":  # RFC 3461 4.2: addr-type ";" xtext
            v = _need_value(key, value)
            addr_type, semi, encoded = v.partition(";")
            if len(v) > MAX_ORCPT or not semi or not _KEYWORD.match(addr_type) or not encoded:
                raise SMTPSyntaxError(codes.SYNTAX.with_text("Bad ORCPT value"))
            decoded = _xtext_param(key, encoded)
            if _BAD_ARG_CHARS.search(decoded):
                raise SMTPSyntaxError(codes.SYNTAX.with_text("Bad ORCPT value"))
            orcpt = (addr_type, decoded)
        else:
            raise SMTPSyntaxError(codes.UNKNOWN_PARAM)
    if path.lower() == "postmaster":  # RFC 5321 4.1.1.3
        try:
            address = Address.parse(f"postmaster@{postmaster_domain}")
        except AddressError:
            raise ValueError(f"bad postmaster domain: {postmaster_domain!r}") from None
        return RcptTo(address, notify, orcpt, postmaster=True)
    if path == "":
        raise SMTPSyntaxError(codes.BAD_RCPT_SYNTAX)
    address = _mailbox(
        path, utf8=utf8, bad=codes.BAD_RCPT_SYNTAX, unqualified=codes.BAD_DESTINATION
    )
    return RcptTo(address, notify, orcpt)


# --- HELO / EHLO (RFC 5321 4.1.1.1) -----------------------------------------

# Lenient like Postfix: labels may hold "_" (common in Windows host names);
# RFC 6531 3.3 allows U-labels.
_HELO_LABEL = (
    r"[A-Za-z0-9_\x80-\U0010ffff](?:[A-Za-z0-9_\-\x80-\U0010ffff]*[A-Za-z0-9_\x80-\U0010ffff])?"
)
_HELO_DOMAIN = re.compile(rf"^{_HELO_LABEL}(?:\.{_HELO_LABEL})*\.?$")


def parse_helo(argument: str) -> str:
    """The domain or address literal given to HELO/EHLO, else SMTPSyntaxError."""
    text = argument.strip(" ")
    usage = codes.SYNTAX.with_text("Syntax: EHLO hostname")
    if not text or len(text.encode("utf-8")) > 255:
        raise SMTPSyntaxError(usage)
    if text.startswith("["):
        if _is_address_literal(text):
            return text
        raise SMTPSyntaxError(codes.SYNTAX.with_text("Invalid address literal"))
    if not _HELO_DOMAIN.match(text):
        raise SMTPSyntaxError(usage)
    return text
