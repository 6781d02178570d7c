"""``mailgateway x400 ...``: look at X.400 values and the MIXER mapping.

- ``x400 decode FILE``: a readable dump of an MTS-APDU (P1 message, report
  or probe), a P22 InformationObject or a bare IPM: a summary in words (the
  MIXER text forms of RFC 2156: MTS identifiers, std-or addresses,
  X400-Received trace, report codes; the heading fields and body parts of an
  IPM) and then the ASN.1 value as pyasn1 prints it.
- ``x400 to-mime FILE``: the Internet message (RFC 2156 4.6.2, 5.3) of an
  MTS-APDU message, or the DSN (5.3.8) of a report; the SMTP envelope goes
  to stderr as the commands the gateway would send, or with ``--envelope``
  in front of the message as ``X-Envelope-From:``/``X-Envelope-To:`` fields.
- ``x400 from-mime FILE.eml``: an Internet message as the BER of an MTS-APDU
  message (RFC 2156 5.1), for the envelope addresses given or those of the
  header.
- ``x400 map ADDRESS``: an O/R address (std-or text) or an RFC 822 address,
  mapped both ways (RFC 2156 4.3.4, 4.3.5), with the table lines that
  matched and whether the mapping comes back to where it started.
- ``x400 ping PEER``: to a peer of ``[x400.peers]``: TCP connection, MTA-bind
  with our credentials, release, each step on a line with its time; exit 0,
  or 69 (EX_UNAVAILABLE) with the reason.

Bad input is one line on stderr naming the problem (for BER, the offset and
the reason) and exit status 65 (EX_DATAERR), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli import main as cli
from gateway.x400.context import Gateway
from gateway.x400.mapping import (
    MappingError,
    MappingTables,
    TableError,
    format_dmn_or_address,
    hierarchy_of,
)
from gateway.x400.model import (
    IPM,
    IPN,
    BinaryPart,
    BodyPart,
    Delivered,
    FilePart,
    Message,
    MessageEnvelope,
    MessagePart,
    ORName,
    Probe,
    Receipt,
    Report,
    TextPart,
    TraceElement,
)
from gateway.x400.orname import ORAddressError, format_std_or, parse_std_or

if TYPE_CHECKING:
    from gateway.config import Settings

EX_NOINPUT = 66  # sysexits(3): an input file did not exist or was not readable
EX_UNAVAILABLE = 69  # sysexits(3): a service is unavailable

#: RFC 3461 4.1 NOTIFY keywords
NOTIFY_WORDS = ("SUCCESS", "FAILURE", "DELAY", "NEVER")

DECODE_EPILOG = """\
The summary is "Label:  value" lines: the kind of MTS-APDU, identifiers as
[/PRMD=.../ADMD=.../C=../;local], O/R addresses as std-or text, trace as
X400-Received values (newest first), report outcomes with the X.411 reason
and diagnostic names; for P22 content, the header fields its heading maps to
and one "Body part N" line each. Then "ASN.1:" and the value as pyasn1
prints it. Input that does not decode: one line on stderr naming the problem
(for BER, the offset), exit status 65.
"""

TO_MIME_EPILOG = """\
The Internet message goes to stdout (CR LF line ends). The SMTP envelope
goes to stderr as the commands the gateway would send:

  MAIL FROM:<originator> RET=FULL|HDRS ENVID=<xtext>
  RCPT TO:<recipient> NOTIFY=...          (one per recipient)

With --envelope it goes to stdout instead, in front of the message, as
header fields that a later step can strip:

  X-Envelope-From: <originator> RET=HDRS ENVID=<xtext>
  X-Envelope-To: <recipient> NOTIFY=FAILURE

A report becomes a DSN (RFC 3464) with MAIL FROM:<> and NOTIFY=NEVER; an
IPN becomes an MDN (RFC 8098).
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("x400", help="X.400: decode, translate, map addresses")
    sub = parser.add_subparsers(dest="x400_command", required=True, metavar="<x400-command>")

    decode = sub.add_parser(
        "decode",
        help="readable dump of an MTS-APDU, a P22 content or an IPM (BER)",
        description="Summary in MIXER words (RFC 2156), then the ASN.1 value.",
        epilog=DECODE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    decode.add_argument("file", help="BER file; - for stdin")
    decode.set_defaults(func=run_decode)

    to_mime = sub.add_parser(
        "to-mime",
        help="MTS-APDU (message or report) -> Internet message or DSN (RFC 2156 5.3)",
        description="Translate an MTS-APDU (BER) to an Internet message.",
        epilog=TO_MIME_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    to_mime.add_argument("file", help="BER file; - for stdin")
    to_mime.add_argument(
        "--envelope",
        action="store_true",
        help="write the SMTP envelope as X-Envelope-* fields in front of the message",
    )
    to_mime.set_defaults(func=run_to_mime)

    from_mime = sub.add_parser(
        "from-mime",
        help="Internet message -> MTS-APDU message in BER (RFC 2156 5.1)",
        description="Translate an Internet message (.eml) to a P1 message with P22 content.",
    )
    from_mime.add_argument("file", help="the message (LF or CR LF line ends); - for stdin")
    from_mime.add_argument(
        "--from",
        dest="mail_from",
        metavar="ADDR",
        help="MAIL FROM (default: the address of the From: field)",
    )
    from_mime.add_argument(
        "--to",
        dest="rcpt_to",
        metavar="ADDR",
        action="append",
        help="RCPT TO, repeatable (default: the To: and Cc: addresses)",
    )
    from_mime.add_argument(
        "--notify",
        metavar="WORDS",
        help="RFC 3461 NOTIFY for every recipient: NEVER, or SUCCESS,FAILURE,DELAY",
    )
    from_mime.add_argument("--envid", help="RFC 3461 ENVID (the content correlator)")
    from_mime.add_argument("--ret", choices=("FULL", "HDRS"), type=str.upper, help="RFC 3461 RET")
    from_mime.add_argument(
        "--1984",
        dest="peer_1984",
        action="store_true",
        help="for an X.400(1984) peer: content type 2, header fields in a first body part",
    )
    from_mime.add_argument(
        "-o", "--output", type=Path, metavar="OUT", help="write the BER here (default: stdout)"
    )
    from_mime.set_defaults(func=run_from_mime)

    mapper = sub.add_parser(
        "map", help="map an O/R address or an RFC 822 address both ways (RFC 2156 4.3)"
    )
    mapper.add_argument("address", help="std-or text (/S=.../C=GB/) or local@domain")
    mapper.set_defaults(func=run_map)

    pinger = sub.add_parser(
        "ping",
        help="connect to an X.400 peer, bind with our credentials, release (P1)",
        description="Each step on a line with its time; exit 69 with the reason on failure.",
    )
    pinger.add_argument("peer", help="the name of an [x400.peers.<name>] table")
    pinger.set_defaults(func=run_ping)


def gateway(settings: Settings) -> Gateway:
    return Gateway.from_settings(settings, datetime.now(UTC))


# The translator and the codecs (pyasn1, every ASN.1 module) are imported by
# the commands that use them, not by ``mailgateway`` at start: ``sendmail``
# from cron should not pay for them.


class _Failed(Exception):
    """Stop the command: ``message`` to stderr, ``status`` as exit status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _run(
    command: str,
    body: Callable[[argparse.Namespace, Settings], int],
    args: argparse.Namespace,
    settings: Settings,
) -> int:
    """``body(args, settings)``; a :class:`_Failed` becomes one stderr line."""
    try:
        return body(args, settings)
    except _Failed as failed:
        print(f"mailgateway: x400 {command}: {failed.message}", file=sys.stderr)
        return failed.status
    except BrokenPipeError:  # `x400 decode FILE | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return cli.EX_IOERR


def _gateway(settings: Settings) -> Gateway:
    try:
        return gateway(settings)
    except (TableError, ORAddressError, OSError) as e:
        raise _Failed(cli.EX_CONFIG, f"x400 tables: {e}") from None


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as e:
        raise _Failed(EX_NOINPUT, f"{name}: {e.strerror or e}") from None


def _limits(settings: Settings) -> dict[str, int]:
    """The BER limits of ``[x400]``, as the decoders take them."""
    x400 = settings.x400
    return {
        "max_depth": x400.max_depth,
        "max_length": x400.max_length,
        "max_total": x400.max_total,
    }


def _check_ber(name: str, data: bytes, limits: dict[str, int]) -> None:
    """Refuse what is not one BER element within the limits (offset and
    reason, X.690), before a decoder for a particular type sees it."""
    from gateway.x400.asn1 import ber

    try:
        ber.check(data, **limits)
    except ber.BERError as e:
        raise _Failed(cli.EX_DATAERR, f"{name}: {e}") from None


def _p22(data: bytes, limits: dict[str, int]) -> tuple[IPM | IPN | None, str]:
    """The P22 content in ``data``, or None and why not."""
    from gateway.x400.p22codec import ContentError, decode_content

    try:
        return decode_content(data, **limits), ""
    except ContentError as e:
        return None, _reason(e)


# X.690 8.1.2.2 tag classes, as pyasn1 numbers them (bits 8 and 7 of the
# identifier octet).
_TAG_CLASSES = {0: "UNIVERSAL", 64: "APPLICATION", 128: "", 192: "PRIVATE"}
_UNIVERSAL_NAMES = {16: "SEQUENCE", 17: "SET", 4: "OCTET STRING", 2: "INTEGER", 6: "OID"}
_PYASN1_TAG = re.compile(r"<TagSet object, tags (\d+):(\d+):(\d+)> not in asn1Spec: <(\w+) ")
_WHAT = (
    "an MTS-APDU ([0] message, [1] report, [2] probe),"
    " a P22 content ([0] IPM, [1] IPN) or an IPM (SEQUENCE)"
)


def _tag_name(tag_class: int, number: int) -> str:
    if tag_class == 0 and number in _UNIVERSAL_NAMES:
        return _UNIVERSAL_NAMES[number]
    prefix = _TAG_CLASSES.get(tag_class, "?")
    return f"[{prefix} {number}]" if prefix else f"[{number}]"


def _outer_tag(data: bytes) -> tuple[int, int, bool]:
    """(class, number, constructed) of the first identifier (X.690 8.1.2);
    ``data`` has passed :func:`_check_ber`."""
    first = data[0]
    number = first & 0x1F
    if number == 0x1F:  # high tag number form, base 128
        number = 0
        for octet in data[1:5]:
            number = number << 7 | octet & 0x7F
            if not octet & 0x80:
                break
    return first & 0xC0, number, bool(first & 0x20)


def _reason(exc: BaseException) -> str:
    """The message of a decoder's error, with pyasn1's (which embeds whole
    schemas) cut down to the tag it did not expect and where."""
    from pyasn1.error import PyAsn1Error

    text = str(exc)
    cut = re.search(r"does not decode as \w+", text)
    if cut is None:
        return text
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, PyAsn1Error):
        cause = cause.__cause__ or cause.__context__
    found = _PYASN1_TAG.match(str(cause)) if cause is not None else None
    if found is None:
        return text[: cut.end()]
    tag_class, _, number, schema = found.groups()
    return f"{text[: cut.end()]}: unexpected {_tag_name(int(tag_class), int(number))} in {schema}"


def _decode_apdu(name: str, data: bytes, limits: dict[str, int]) -> Message | Report | Probe:
    from gateway.x400 import p1codec

    _check_ber(name, data, limits)
    try:
        return p1codec.decode_apdu(data, **limits)
    except p1codec.APDUError as e:
        raise _Failed(cli.EX_DATAERR, f"{name}: {_reason(e)}") from None


# --- decode ------------------------------------------------------------------


@dataclass(frozen=True)
class _Decoded:
    """What a BER file turned out to be: an MTS-APDU or a P22 content, and
    its pyasn1 dump."""

    value: Message | Report | Probe | IPM | IPN
    asn1: str


def _decode_any(name: str, data: bytes, limits: dict[str, int]) -> _Decoded:
    """An MTS-APDU, a P22 InformationObject or a bare IPM, chosen by the
    outer tag (X.419 MTS-APDU, X.420 InformationObject and IPM)."""
    from gateway.x400 import p1codec
    from gateway.x400.asn1 import ber, ipms
    from gateway.x400.p22codec import ContentError, decode_content, ipm_from_asn1

    _check_ber(name, data, limits)
    tag_class, number, constructed = _outer_tag(data)
    errors = []
    if tag_class == 128 and constructed and number in (0, 1, 2):
        try:
            apdu = p1codec.decode_apdu(data, **limits)
            return _Decoded(apdu, p1codec.dump_apdu(data, **limits))
        except p1codec.APDUError as e:
            errors.append(_reason(e))
    if tag_class == 128 and constructed and number in (0, 1):
        try:
            content = decode_content(data, **limits)
            value = ber.decode(data, ipms.InformationObject(), **limits)
            return _Decoded(content, value.prettyPrint())
        except ContentError as e:
            errors.append(f"not a P22 content: {_reason(e)}")
    if tag_class == 0 and constructed and number == 16:
        try:
            value = ber.decode(data, ipms.IPM(), **limits)
            return _Decoded(ipm_from_asn1(value, limits), value.prettyPrint())
        except (ber.BERError, ContentError) as e:
            errors.append(f"not an IPM: {_reason(e)}")
    if not errors:
        errors.append(f"outer tag {_tag_name(tag_class, number)}: not {_WHAT}")
    raise _Failed(cli.EX_DATAERR, f"{name}: " + "; ".join(errors))


def _field(label: str, value: object) -> str:
    """``Label:  value``, the values in one column (two spaces at least);
    the lines of a value of several lines indented to that column."""
    lines = str(value).splitlines() or [""]
    return f"{label + ':':<20}  " + ("\n" + " " * 22).join(lines)


def _or(name: ORName) -> str:
    try:
        text = format_std_or(name.address)
    except ORAddressError as e:
        return f"(unreadable: {e})"
    return f"{text} (directory name {name.directory_name})" if name.directory_name else text


def _content_type(value: int | str | None) -> str:
    """X.411 BuiltInContentType by number and name, or the extended OID."""
    from gateway.x400.asn1.mts import BuiltInContentType

    if isinstance(value, int):
        label = BuiltInContentType.namedValues.getName(value)
        return f"{value} ({label})" if label else str(value)
    return str(value)


def _trace_lines(
    label: str, external: tuple[TraceElement, ...], internal: tuple[TraceElement, ...], gw: Gateway
) -> list[str]:
    """One X400-Received value per element, newest first (RFC 2156 5.3.7)."""
    from gateway.x400.trace import format_x400_received, merged_trace

    return [
        _field(label, format_x400_received(e, fallback=gw.now))
        for e in merged_trace(external, internal)
    ]


def _envelope_summary(env: MessageEnvelope, gw: Gateway, *, probe: bool = False) -> list[str]:
    from gateway.x400.msgid import format_mts_id
    from gateway.x400.trace import format_eits

    out = [
        _field("Probe identifier" if probe else "MTS identifier", format_mts_id(env.identifier)),
        _field("Originator", _or(env.originator)),
    ]
    for r in env.recipients:
        notes = [f"originator report {r.originator_report}"]
        if not r.responsibility:
            notes.insert(0, "not responsible")
        out.append(_field(f"Recipient {r.number}", f"{_or(r.name)}  ({', '.join(notes)})"))
    out.append(_field("Content type", _content_type(env.content_type)))
    if env.content_identifier is not None:
        out.append(_field("Content identifier", env.content_identifier))
    if env.original_eits is not None:
        out.append(_field("Original EITs", format_eits(env.original_eits)))
    if env.priority != "normal":
        out.append(_field("Priority", env.priority))
    if env.indicators:
        out.append(_field("Indicators", ", ".join(sorted(env.indicators))))
    if env.content_correlator is not None:
        out.append(_field("Content correlator", env.content_correlator))
    for ext in env.extensions:
        critical = (
            f", critical for {', '.join(sorted(ext.criticality))}" if ext.criticality else ""
        )
        out.append(_field("Extension", f"{ext.type}, {len(ext.value)} octets{critical}"))
    out += _trace_lines("X400-Received", env.trace, env.internal_trace, gw)
    return out


def _report_summary(report: Report, gw: Gateway) -> list[str]:
    from gateway.x400.codes import diagnostic_code_text
    from gateway.x400.msgid import format_mts_id

    out = [
        _field("Report identifier", format_mts_id(report.identifier)),
        _field("Report destination", _or(report.destination)),
        _field("Subject identifier", format_mts_id(report.subject)),
    ]
    if report.content_type is not None:
        out.append(_field("Content type", _content_type(report.content_type)))
    if report.content_identifier is not None:
        out.append(_field("Content identifier", report.content_identifier))
    for r in report.recipients:
        if isinstance(r.outcome, Delivered):
            outcome = f"delivered {r.outcome.time}"
        else:  # RFC 2156 5.3.8.1 dr-diagnostic, with the X.411 names
            outcome = "not delivered: " + diagnostic_code_text(
                r.outcome.reason, r.outcome.diagnostic
            )
        out.append(_field(f"Recipient {r.number}", f"{_or(r.actual)}  {outcome}"))
        if r.supplementary_info is not None:
            out.append(_field("  Supplementary", r.supplementary_info))
    out += _trace_lines("X400-Received", report.trace, report.internal_trace, gw)
    out += _trace_lines("Subject trace", report.subject_intermediate_trace, (), gw)
    if report.returned_content is not None:
        out.append(_field("Returned content", f"{len(report.returned_content)} octets"))
    return out


def _body_part_line(part: BodyPart) -> str:
    if isinstance(part, TextPart):
        charsets = f" charsets {','.join(map(str, part.charsets))}" if part.charsets else ""
        return f"text ({part.kind}{charsets}), {len(part.text)} characters"
    if isinstance(part, FilePart):
        return f"file {part.name!r}, {len(part.data)} octets"
    if isinstance(part, BinaryPart):
        return f"bilaterally defined, {len(part.data)} octets"
    if isinstance(part, MessagePart):
        subject = part.ipm.heading.subject
        return f"forwarded IPM, subject {subject!r}, {len(part.ipm.body)} body parts"
    return f"{part.kind} (kept as BER), {len(part.data)} octets"


def _content_summary(content: IPM | IPN, gw: Gateway) -> list[str]:
    """The heading fields in MIXER form (RFC 2156 5.3.4) and one line per
    body part; for an IPN, its kind and the IPM it is about."""
    from gateway.x400.heading import heading_fields
    from gateway.x400.msgid import ipm_id_to_msgid

    if isinstance(content, IPN):
        kind = "receipt" if isinstance(content.fields, Receipt) else "non-receipt"
        return [_field("IPN", kind), _field("Subject IPM", ipm_id_to_msgid(content.subject_ipm))]
    out = [_field(name, value) for name, value in heading_fields(content.heading, gw)]
    out += [_field(f"Body part {n}", _body_part_line(p)) for n, p in enumerate(content.body, 1)]
    return out


def run_decode(args: argparse.Namespace, settings: Settings) -> int:
    return _run("decode", _decode, args, settings)


def _summary(
    value: Message | Report | Probe | IPM | IPN, gw: Gateway, limits: dict[str, int]
) -> list[str]:
    out: list[str] = []
    if isinstance(value, Message):
        out.append(_field("MTS-APDU", "message"))
        out += _envelope_summary(value.envelope, gw)
        size = f"{len(value.content)} octets"
        if value.envelope.content_type not in (2, 22):
            return [*out, _field("Content", size)]
        content, error = _p22(value.content, limits)
        if content is None:
            return [*out, "", _field("Content", f"{size}, unreadable: {error}")]
        out += ["", _field("Content", f"{size}, {type(content).__name__}")]
        return out + _content_summary(content, gw)
    if isinstance(value, Report):
        return [_field("MTS-APDU", "report"), *_report_summary(value, gw)]
    if isinstance(value, Probe):
        out.append(_field("MTS-APDU", "probe"))
        out += _envelope_summary(value.envelope, gw, probe=True)
        if value.content_length is not None:
            out.append(_field("Content length", value.content_length))
        return out
    return [_field("P22 content", type(value).__name__), *_content_summary(value, gw)]


def _decode(args: argparse.Namespace, settings: Settings) -> int:
    gw = _gateway(settings)
    limits = _limits(settings)
    decoded = _decode_any(args.file, _read(args.file), limits)
    problem = None
    try:
        out = _summary(decoded.value, gw, limits)
    except ValueError as e:  # a field the MIXER forms cannot show (a time, an address)
        problem = f"{args.file}: decoded, but {e}"
        out = [_field("Summary", f"unavailable: {e}")]
    print("\n".join([*out, "", "ASN.1:", decoded.asn1.rstrip("\n")]))
    if problem is not None:
        raise _Failed(cli.EX_DATAERR, problem)
    return cli.EX_OK


# --- to-mime -----------------------------------------------------------------

# One envelope recipient: the address and its RFC 3461 NOTIFY (None: none given).
_Rcpt = tuple[str, frozenset[str] | None]


def _notify_param(words: frozenset[str] | None) -> str:
    if words is None:
        return ""
    return " NOTIFY=" + ",".join([w for w in NOTIFY_WORDS if w in words] or ["NEVER"])


def _envelope_lines(
    mail_from: str, rcpt: list[_Rcpt], *, envid: str | None, ret: str | None, as_fields: bool
) -> list[str]:
    """The SMTP envelope as commands, or as X-Envelope-* header fields."""
    from gateway.smtp.parser import xtext_encode

    params = (f" RET={ret}" if ret else "") + (f" ENVID={xtext_encode(envid)}" if envid else "")
    sender, recipient = (
        ("X-Envelope-From: ", "X-Envelope-To: ")
        if as_fields
        else (
            "MAIL FROM:",
            "RCPT TO:",
        )
    )
    lines = [f"{sender}<{mail_from}>{params}"]
    lines += [f"{recipient}<{to}>{_notify_param(n)}" for to, n in rcpt]
    return lines


def _internet(
    name: str, apdu: Message | Report, gw: Gateway, limits: dict[str, int]
) -> tuple[str, list[_Rcpt], str | None, str | None, bytes]:
    """(MAIL FROM, recipients, ENVID, RET, content) for ``apdu``."""
    from gateway.x400.notifications import ipn_to_internet
    from gateway.x400.reports import report_to_dsn
    from gateway.x400.translate import PARSE_POLICY, ipm_to_mime, message_to_internet

    if isinstance(apdu, Report):  # RFC 2156 5.3.8
        returned = None
        if apdu.returned_content is not None:
            content, _ = _p22(apdu.returned_content, limits)
            if isinstance(content, IPM):
                returned = ipm_to_mime(content, gw).as_bytes(policy=PARSE_POLICY)
        dsn = report_to_dsn(apdu, gw, returned=returned)
        return dsn.mail_from, [(r, dsn.notify) for r in dsn.rcpt_to], None, None, dsn.content
    if apdu.envelope.content_type not in (2, 22):
        kind = _content_type(apdu.envelope.content_type)
        raise _Failed(cli.EX_DATAERR, f"{name}: content type {kind} is not interpersonal mail")
    content, error = _p22(apdu.content, limits)
    if content is None:
        raise _Failed(cli.EX_DATAERR, f"{name}: P22 content: {error}")
    if isinstance(content, IPN):  # RFC 2156 5.3.5, sent with MAIL FROM:<> (RFC 8098 3)
        rcpt = [gw.to_rfc822(r.name) for r in apdu.envelope.recipients if r.responsibility]
        mdn = ipn_to_internet(content, gw, to=rcpt[0] if rcpt else "")
        return "", [(r, frozenset({"NEVER"})) for r in rcpt], None, None, mdn
    msg = message_to_internet(apdu, content, gw)  # RFC 2156 4.6.2, 5.3
    rcpt_notify = list(zip(msg.rcpt_to, msg.notify, strict=True))
    return msg.mail_from, rcpt_notify, msg.envid, msg.ret, msg.content


def run_to_mime(args: argparse.Namespace, settings: Settings) -> int:
    return _run("to-mime", _to_mime, args, settings)


def _to_mime(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.x400.translate import TranslationError

    gw = _gateway(settings)
    limits = _limits(settings)
    name = args.file
    apdu = _decode_apdu(name, _read(name), limits)
    if isinstance(apdu, Probe):
        raise _Failed(
            cli.EX_DATAERR,
            f"{name}: a probe has no Internet form (the gateway answers it with a report)",
        )
    try:
        mail_from, rcpt, envid, ret, content = _internet(name, apdu, gw, limits)
    except TranslationError as e:
        raise _Failed(cli.EX_DATAERR, f"{name}: {e}") from None
    except ValueError as e:  # an address that does not map, an unreadable field
        raise _Failed(cli.EX_DATAERR, f"{name}: {e}") from None
    envelope = _envelope_lines(mail_from, rcpt, envid=envid, ret=ret, as_fields=args.envelope)
    if args.envelope:
        sys.stdout.buffer.write("".join(f"{line}\r\n" for line in envelope).encode())
    else:
        print("\n".join(envelope), file=sys.stderr, flush=True)
    sys.stdout.buffer.write(content)
    sys.stdout.buffer.flush()
    return cli.EX_OK


# --- from-mime ---------------------------------------------------------------

_LINE_END = re.compile(rb"\r?\n")


def _header_addresses(data: bytes, *names: str) -> list[str]:
    msg = BytesParser(policy=email_policy.compat32).parsebytes(data, headersonly=True)
    values = [str(v) for name in names for v in msg.get_all(name, [])]
    return [addr for _, addr in getaddresses(values) if addr]


def _notify_words(text: str | None) -> frozenset[str] | None:
    """RFC 3461 4.1: NEVER, or a list of SUCCESS, FAILURE and DELAY."""
    if text is None:
        return None
    words = frozenset(w.strip().upper() for w in text.split(",") if w.strip())
    if not words or words - set(NOTIFY_WORDS) or ("NEVER" in words and len(words) > 1):
        raise _Failed(cli.EX_USAGE, f"--notify {text}: NEVER, or any of SUCCESS, FAILURE, DELAY")
    return words


def _write_output(path: Path | None, data: bytes) -> None:
    if path is None:
        if sys.stdout.isatty():
            raise _Failed(cli.EX_USAGE, "not writing BER to a terminal; use -o FILE or a pipe")
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        path.write_bytes(data)
    except OSError as e:
        raise _Failed(cli.EX_CANTCREAT, f"{path}: {e.strerror or e}") from None


def run_from_mime(args: argparse.Namespace, settings: Settings) -> int:
    return _run("from-mime", _from_mime, args, settings)


def _from_mime(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.x400 import p1codec
    from gateway.x400.p22codec import encode_content
    from gateway.x400.translate import TranslationError, internet_to_message

    notify_words = _notify_words(args.notify)
    gw = _gateway(settings)
    name = args.file
    data = _LINE_END.sub(b"\r\n", _read(name))
    mail_from: str | None = args.mail_from
    if mail_from is None:
        found = _header_addresses(data, "From")
        if not found:
            raise _Failed(cli.EX_USAGE, f"{name}: no From: address; give --from")
        mail_from = found[0]
    else:
        mail_from = parseaddr(mail_from)[1] or mail_from
    rcpt_to = [parseaddr(a)[1] or a for a in args.rcpt_to or []]
    rcpt_to = rcpt_to or _header_addresses(data, "To", "Cc")
    if not rcpt_to:
        raise _Failed(cli.EX_USAGE, f"{name}: no To: or Cc: address; give --to")
    try:
        envelope, ipm = internet_to_message(
            data,
            mail_from,
            rcpt_to,
            gw,
            notify=None if notify_words is None else [notify_words] * len(rcpt_to),
            envid=args.envid,
            ret=args.ret,
            peer_1984=args.peer_1984,
        )
        encoded = p1codec.encode_apdu(Message(envelope, encode_content(ipm)))
    except TranslationError as e:
        raise _Failed(cli.EX_DATAERR, f"{name}: {e}") from None
    except ValueError as e:  # addresses, mapping, BER encoding (APDUError)
        raise _Failed(cli.EX_DATAERR, f"{name}: {e}") from None
    _write_output(args.output, encoded)
    return cli.EX_OK


# --- map ---------------------------------------------------------------------


def _or_matches(tables: MappingTables, text: str) -> list[str]:
    addr = parse_std_or(text)
    lines = []
    for table in (tables.or_to_domain, tables.or_to_gateway):
        hit = table.match(addr)
        if hit is not None:
            levels, domain, line = hit
            prefix = format_dmn_or_address(hierarchy_of(addr)[:levels])
            lines.append(f"{table.source} line {line}: {prefix} -> {domain}")
    return lines


def _domain_matches(tables: MappingTables, address: str) -> list[str]:
    domain = address.rpartition("@")[2]
    lines = []
    for table in (tables.domain_to_or, tables.domain_to_gateway):
        hit = table.lookup(domain) if domain else None
        if hit is not None:
            entry = hit[1]
            prefix = format_dmn_or_address(entry.prefix, entry.dda)
            lines.append(f"{table.source} line {entry.line}: {entry.domain} -> {prefix}")
    return lines


def run_map(args: argparse.Namespace, settings: Settings) -> int:
    try:
        gw = gateway(settings)
    except (TableError, ORAddressError, OSError) as e:
        print(f"mailgateway: x400 tables: {e}", file=sys.stderr)
        return cli.EX_CONFIG
    text: str = args.address
    try:
        if "@" in text:
            addr = gw.to_or(text)
            back = gw.to_rfc822(addr)
            print(f"RFC 822:      {text}")
            print(f"O/R address:  {format_std_or(addr)}")
            matched = _domain_matches(gw.tables, text)
            original = text
        else:
            addr = parse_std_or(text)
            mapped = gw.to_rfc822(addr)
            back = format_std_or(gw.to_or(mapped))
            print(f"O/R address:  {format_std_or(addr)}")
            print(f"RFC 822:      {mapped}")
            matched = _or_matches(gw.tables, text)
            original = format_std_or(addr)
    except (ORAddressError, MappingError) as e:
        print(f"mailgateway: {e}", file=sys.stderr)
        return cli.EX_DATAERR
    for line in matched or ["no table line (algorithmic mapping, or the gateway's own domain)"]:
        print(f"  matched:    {line}")
    same = back == original if "@" not in text else back.casefold() == original.casefold()
    print(f"mapped back:  {back}" + ("  (same)" if same else "  (differs)"))
    return cli.EX_OK


# --- ping --------------------------------------------------------------------


def run_ping(args: argparse.Namespace, settings: Settings) -> int:
    return _run("ping", _ping, args, settings)


def _ping(args: argparse.Namespace, settings: Settings) -> int:
    from twisted.internet import reactor as default_reactor
    from twisted.internet.defer import Deferred

    from gateway.x400.p1.ping import PingFailed, ping

    x400 = settings.x400
    peer = x400.peers.get(args.peer)
    if peer is None:
        known = ", ".join(x400.peers) or "(none)"
        raise _Failed(cli.EX_USAGE, f"no peer {args.peer!r} in [x400.peers]; known: {known}")
    if not peer.host:
        raise _Failed(cli.EX_CONFIG, f"x400.peers.{peer.name}.host is not set")
    reactor: Any = default_reactor
    local_name = x400.mta_name or settings.hostname[:32]
    outcome: list[BaseException | None] = []

    def say(line: str) -> None:
        print(line, flush=True)

    def run() -> None:
        d = Deferred.fromCoroutine(
            ping(
                reactor,
                peer,
                local_name,
                say,
                max_apdu=x400.max_apdu,
                ber_limits=_limits(settings),
            )
        )

        def done(result: object) -> None:
            outcome.append(getattr(result, "value", None))
            reactor.stop()

        d.addBoth(done)

    reactor.callWhenRunning(run)
    reactor.run(installSignalHandlers=False)
    error = outcome[0] if outcome else None
    if isinstance(error, PingFailed):
        raise _Failed(EX_UNAVAILABLE, str(error))
    if error is not None:
        raise _Failed(cli.EX_SOFTWARE, f"{type(error).__name__}: {error}")
    return cli.EX_OK
