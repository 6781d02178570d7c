"""``mailgateway sendmail``: sendmail-compatible mail injection.

Reads a message on standard input and writes it, with its envelope, into the
maildrop directory (:mod:`gateway.bus.maildrop`), from which the daemon picks
it up; so it works while the daemon is stopped, like Postfix's sendmail. It
exits 0 only once the drop file is durable.

Command line as used by cron, scripts and PHP (``sendmail -t -i``)::

    sendmail [-t] [-i | -oi] [-f ADDR | -r ADDR] [-F NAME] [--] [RECIPIENT ...]

``-t`` takes recipients from To/Cc/Bcc (or the Resent- ones when present),
adding the command-line recipients as Postfix does. Bcc and Resent-Bcc
headers are always removed. ``-oXXX -OXXX -bm -v`` are accepted and ignored.
Unqualified addresses (``root``) get ``@<hostname>`` appended.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from typing import IO, TYPE_CHECKING

from gateway.bus.maildrop import write_drop
from gateway.envelope import Address, AddressError, Envelope, Origin, Recipient
from gateway.message import body_type, needs_smtputf8

if TYPE_CHECKING:
    from gateway.config import Settings

# sysexits(3); the same values as gateway.cli.main (not imported: main imports us).
EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_CANTCREAT = 73
EX_TEMPFAIL = 75

PROG = "mailgateway sendmail"

# RFC 5322 3.6.8: field-name = 1*ftext, ftext = %d33-57 / %d59-126; optional
# WSP before the colon is the obsolete syntax of RFC 5322 4.5.8.
_FIELD = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:")

# Options taking a value (attached, "-fADDR", or as the next argument).
_WITH_VALUE = frozenset("fFrobO")
# Options accepted and ignored.
_IGNORED_FLAGS = frozenset("v")


class SendmailUsageError(ValueError):
    """A command line that this sendmail does not accept (EX_USAGE)."""


class MessageFormatError(ValueError):
    """A message whose header is not well-formed (EX_DATAERR)."""


@dataclass(frozen=True, slots=True)
class SendmailOptions:
    """The parsed sendmail command line.

    ``sender`` is None when no ``-f``/``-r`` was given, ``""`` for the null
    reverse-path (``-f ''`` or ``-f '<>'``), else the address as given.
    """

    recipients: tuple[str, ...] = ()
    extract_recipients: bool = False  # -t
    sender: str | None = None  # -f / -r
    full_name: str | None = None  # -F
    ignore_dots: bool = False  # -i / -oi


def parse_sendmail_args(argv: Sequence[str]) -> SendmailOptions:
    """Parse a sendmail command line, getopt style (bundling, ``-fADDR``).

    Raises :class:`SendmailUsageError` for an unknown option or a missing
    option value.
    """
    recipients: list[str] = []
    extract = False
    ignore_dots = False
    sender: str | None = None
    full_name: str | None = None
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            recipients.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            recipients.append(arg)
            continue
        j = 1
        while j < len(arg):
            letter = arg[j]
            j += 1
            if letter in _WITH_VALUE:
                if j < len(arg):
                    value = arg[j:]
                elif i < len(args):
                    value = args[i]
                    i += 1
                else:
                    raise SendmailUsageError(f"option -{letter} needs a value")
                j = len(arg)
                if letter in "fr":
                    sender = value.strip()
                elif letter == "F":
                    full_name = value
                elif letter == "o":
                    if value == "i":  # -oi: same as -i
                        ignore_dots = True
                elif letter == "b" and value != "m":
                    raise SendmailUsageError(f"unsupported mode -b{value} (only -bm)")
                # -oXXX (other) and -OXXX: accepted and ignored.
            elif letter == "t":
                extract = True
            elif letter == "i":
                ignore_dots = True
            elif letter in _IGNORED_FLAGS:
                pass
            else:
                raise SendmailUsageError(f"unknown option -{letter}")
    if sender is not None and sender in ("<>", ""):
        sender = ""
    elif sender is not None and sender.startswith("<") and sender.endswith(">"):
        sender = sender[1:-1]
    return SendmailOptions(tuple(recipients), extract, sender, full_name, ignore_dots)


def read_input(stream: IO[bytes], ignore_dots: bool, limit: int) -> bytes | None:
    """Read the message and normalise line endings to CRLF.

    Without ``ignore_dots`` a line consisting of "." ends the input (no
    dot-unstuffing: that is SMTP's business, not sendmail's). Returns None
    when more than ``limit`` bytes (after normalisation) arrive.
    """
    out: list[bytes] = []
    size = 0
    for raw_line in stream:
        line = raw_line[:-2] if raw_line.endswith(b"\r\n") else raw_line.rstrip(b"\n")
        if not ignore_dots and line == b".":
            break
        out.append(line + b"\r\n")
        size += len(line) + 2
        if size > limit:
            return None
    return b"".join(out)


def split_header(message: bytes) -> tuple[list[bytes], bytes]:
    """Split a CRLF message into its header fields (unfolded lines kept) and body.

    Each field is returned with its continuation lines, CRLFs included. The
    header ends at the first empty line (RFC 5322 2.1); a message of headers
    only is fine. Raises :class:`MessageFormatError` naming the line number.
    """
    fields: list[bytes] = []
    pos = 0
    lineno = 0
    while pos < len(message):
        end = message.find(b"\r\n", pos)
        end = len(message) if end < 0 else end + 2
        line = message[pos:end]
        lineno += 1
        if line in (b"\r\n", b""):
            return fields, message[end:]
        if line[:1] in (b" ", b"\t"):  # RFC 5322 2.2.3 folding
            if not fields:
                raise MessageFormatError(
                    f"line {lineno}: continuation line before any header field"
                )
            fields[-1] += line
        elif _FIELD.match(line):
            fields.append(line)
        else:
            shown = line.rstrip(b"\r\n")[:60].decode("ascii", "replace")
            raise MessageFormatError(
                f"line {lineno}: not a header field ('Name: value') and no empty "
                f"line before it: {shown!r}"
            )
        pos = end
    return fields, b""


def _name(field: bytes) -> str:
    match = _FIELD.match(field)
    assert match is not None
    return match.group(1).decode("ascii").lower()


def _value(field: bytes) -> str:
    text = field.split(b":", 1)[1].decode("utf-8", "replace")
    return text.replace("\r\n", "").strip()


def _qualify(text: str, hostname: str) -> Address:
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if "@" not in text:
        text = f"{text}@{hostname}"
    return Address.parse(text)


def header_recipients(fields: Sequence[bytes], hostname: str) -> list[Address]:
    """Recipients for ``-t``: To/Cc/Bcc, or Resent-To/Cc/Bcc when any Resent- field exists."""
    names = [_name(f) for f in fields]
    resent = any(n.startswith("resent-") for n in names)
    wanted = ("resent-to", "resent-cc", "resent-bcc") if resent else ("to", "cc", "bcc")
    values = [_value(f) for f, n in zip(fields, names, strict=True) if n in wanted]
    result: list[Address] = []
    for _, addr in getaddresses(values):
        if addr:
            result.append(_qualify(addr, hostname))
    return result


def _fail(stderr: IO[str], message: str, status: int) -> int:
    print(f"{PROG}: {message}", file=stderr)
    return status


def sendmail(argv: Sequence[str], stdin: IO[bytes], stderr: IO[str], settings: Settings) -> int:
    """The command itself, with its streams injected; returns a sysexits code."""
    try:
        options = parse_sendmail_args(argv)
    except SendmailUsageError as e:
        return _fail(stderr, str(e), EX_USAGE)
    hostname = settings.hostname
    login = getpass.getuser()
    default_address = f"{login}@{hostname}"

    try:
        sender = (
            None if options.sender == "" else _qualify(options.sender or default_address, hostname)
        )
        cmdline_rcpts = [
            _qualify(addr, hostname) for _, addr in getaddresses(list(options.recipients)) if addr
        ]
    except AddressError as e:
        return _fail(stderr, str(e), EX_USAGE)

    limit = settings.limits.max_message_size
    message = read_input(stdin, options.ignore_dots, limit)
    if message is None:
        return _fail(stderr, f"message exceeds the size limit of {limit} bytes", EX_DATAERR)
    try:
        fields, body = split_header(message)
        header_rcpts = header_recipients(fields, hostname) if options.extract_recipients else []
    except MessageFormatError as e:
        return _fail(stderr, f"malformed message header: {e}", EX_DATAERR)
    except AddressError as e:
        return _fail(stderr, f"bad recipient in header: {e}", EX_DATAERR)

    recipients: list[Address] = []
    for address in header_rcpts + cmdline_rcpts:  # Postfix: -t adds, never removes
        if address not in recipients:
            recipients.append(address)
    if not recipients:
        return _fail(stderr, "no recipients", EX_USAGE)

    names = {_name(f) for f in fields}
    fields = [f for f in fields if _name(f) not in ("bcc", "resent-bcc")]
    added: list[str] = []
    if "from" not in names:
        from_address = str(sender) if sender is not None else default_address
        added.append(f"From: {formataddr((options.full_name or '', from_address))}")
    if "date" not in names:  # RFC 5322 3.6.1
        added.append(f"Date: {format_datetime(datetime.now(UTC).astimezone())}")
    if "message-id" not in names:  # RFC 5322 3.6.4
        added.append(f"Message-ID: {make_msgid(domain=hostname)}")
    header = b"".join(fields) + b"".join(h.encode("utf-8") + b"\r\n" for h in added)
    content = header + b"\r\n" + body
    if len(content) > limit:
        return _fail(stderr, f"message exceeds the size limit of {limit} bytes", EX_DATAERR)

    envelope = Envelope(
        sender,
        tuple(Recipient(a) for a in recipients),
        Origin(protocol="sendmail", authenticated_as=login),
        body=body_type(content),
        smtputf8=needs_smtputf8(
            content, any(a.utf8 for a in recipients) or bool(sender and sender.utf8)
        ),
    )
    try:
        write_drop(settings.maildrop_dir, envelope, content)
    except OSError as e:
        status = EX_TEMPFAIL if e.errno in (errno.ENOSPC, errno.EDQUOT) else EX_CANTCREAT
        return _fail(stderr, f"cannot write to {settings.maildrop_dir}: {e.strerror or e}", status)
    return EX_OK


def run(args: argparse.Namespace, settings: Settings) -> int:
    """The CLI handler: ``sendmail`` over the process's stdin and stderr."""
    return sendmail(args.sendmail_args, sys.stdin.buffer, sys.stderr, settings)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sendmail`` command (its arguments are parsed by us, not argparse)."""
    parser = subparsers.add_parser(
        "sendmail",
        add_help=False,
        # No prefix character can start an argv string (NUL), so argparse sees
        # every argument, "-t" included, as part of the REMAINDER.
        prefix_chars="\0",
        help="inject a message read on stdin (sendmail compatible)",
        description=__doc__,
    )
    parser.add_argument("sendmail_args", nargs=argparse.REMAINDER)
    parser.set_defaults(func=run)
