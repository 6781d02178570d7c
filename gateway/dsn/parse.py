"""Reading delivery status notifications (RFC 3464, RFC 6533).

:func:`parse_dsn` takes any message as bytes and returns a
:class:`ParsedReport` when it is a DSN, else ``None``. It never raises: the
input comes from the Internet. The result carries what the bus needs to
record the report against the original message (its Message-ID, our queue
ids from its ``Received:`` trace, the ENVID) and what the X.400 bridge needs
to translate it (the per-message and per-recipient fields).
"""

from __future__ import annotations

import email
import email.message
import re
from dataclasses import dataclass
from email import policy

from gateway.dsn import fields as F
from gateway.message import header_fields

# A message-id in angle brackets (RFC 5322 3.6.4), loosely.
_MSG_ID = re.compile(r"<[^<>\s]+>")
# Our own Received: "by HOST (mailgateway) with ESMTP id QID" (gateway.smtp.received).
_OUR_ID = re.compile(r"\(mailgateway\)\s+with\s+\S+\s+id\s+([A-Za-z0-9._\-:]+)", re.IGNORECASE)
# Headers some MTAs put on a report to name the original (not standardised).
_ORIGINAL_ID_HINTS = ("X-Original-Message-ID", "Original-Message-ID", "X-Original-Message-Id")
_MAX_INPUT = 64 * 1024 * 1024
_MAX_GROUPS = 10_000


@dataclass(frozen=True, slots=True)
class ParsedReport:
    """A DSN as read: the fields as given, with canonical names (RFC 3464 2.2,
    2.3) and values unfolded (RFC 5322 2.2.3).

    ``per_message`` holds Reporting-MTA, Original-Envelope-Id, Arrival-Date
    and any other per-message field; ``recipients`` one dict per recipient
    group (Original-Recipient, Final-Recipient, Action, Status, Remote-MTA,
    Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until, ...).
    ``original_message_id`` is the Message-ID of the returned message (or of
    its header), else one named by a hint header on the report;
    ``queue_ids`` are the ids in the returned message's ``Received:`` fields
    written by mailgateway, newest first.
    """

    per_message: dict[str, str]
    recipients: tuple[dict[str, str], ...]
    report_type: str
    message_id: str | None
    original_message_id: str | None
    queue_ids: tuple[str, ...]
    returned_type: str | None  # message/rfc822, text/rfc822-headers, ... or None

    @property
    def reporting_mta(self) -> str | None:
        return self.per_message.get(F.REPORTING_MTA)

    @property
    def original_envelope_id(self) -> str | None:
        return self.per_message.get(F.ORIGINAL_ENVELOPE_ID)

    @property
    def arrival_date(self) -> str | None:
        return self.per_message.get(F.ARRIVAL_DATE)


def split_typed(value: str) -> tuple[str, str]:
    """``"rfc822; a@b"`` -> ``("rfc822", "a@b")`` (RFC 3464 2.1.2: type ";"
    value); the type lower-cased, ``""`` when there is none."""
    addr_type, sep, rest = value.partition(";")
    if not sep:
        return "", value.strip()
    return addr_type.strip().lower(), rest.strip()


def _unfold(value: str) -> str:
    return " ".join(_text(value).split())


def _text(value: str) -> str:
    """Undo the email package's surrogateescape: 8-bit bytes read as UTF-8."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def _field_groups(text: str) -> list[list[tuple[str, str]]]:
    """Split a delivery-status body into groups of ``(name, value)`` fields.

    RFC 3464 2.1.1: groups are separated by empty lines; fields may be
    folded (RFC 5322 2.2.3). Lines that are neither a field nor a
    continuation are skipped, as are comments we do not interpret.
    """
    groups: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line.strip():
            if current:
                groups.append(current)
                current = []
                if len(groups) >= _MAX_GROUPS:
                    return groups
            continue
        if line[0] in " \t":
            if current:
                name, value = current[-1]
                current[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        name = name.strip()
        if sep and name and re.fullmatch(r"[!-9;-~]+", name):
            current.append((name, value))
    if current:
        groups.append(current)
    return groups


def _as_dict(group: list[tuple[str, str]]) -> dict[str, str]:
    """First occurrence of each field wins."""
    out: dict[str, str] = {}
    for name, value in group:
        out.setdefault(F.canonical_name(name), _unfold(value))
    return out


def _part_bytes(part: email.message.Message) -> bytes:
    """The decoded body of a leaf part (the Content-Transfer-Encoding undone)."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _status_text(part: email.message.Message) -> str:
    """The text of the delivery-status part. The email package parses
    message/delivery-status into one Message per group, and other message/*
    types (message/global-delivery-status) as one encapsulated message whose
    header is the first group; rebuild the groups either way."""
    if not part.is_multipart():
        return _part_bytes(part).decode("utf-8", "replace")
    blocks: list[str] = []
    for block in part.get_payload():
        if isinstance(block, email.message.Message):
            lines = [f"{k}: {_unfold(str(v))}" for k, v in block.items()]
            blocks.append("\n".join(lines))
            # decode=True: the raw octets (decode=False would replace 8-bit text).
            rest = None if block.is_multipart() else block.get_payload(decode=True)
            if isinstance(rest, bytes) and rest.strip():
                blocks.append(rest.decode("utf-8", "replace"))
    return "\n\n".join(blocks)


def _header_info(header: bytes) -> tuple[str | None, list[str]]:
    """Message-ID and our queue ids (from Received:) of a returned header."""
    message_id: str | None = None
    queue_ids: list[str] = []
    for name, value in header_fields(header):
        lowered = name.lower()
        if lowered == "message-id" and message_id is None:
            match = _MSG_ID.search(value)
            message_id = match.group(0) if match else (value.strip() or None)
        elif lowered == "received":
            match = _OUR_ID.search(value)
            if match:
                queue_ids.append(match.group(1))
    return message_id, queue_ids


def _returned_header(part: email.message.Message) -> bytes:
    """The header of the returned message, whatever its packaging."""
    if part.is_multipart():  # message/rfc822, message/global: encapsulated
        inner = part.get_payload(0)
        if isinstance(inner, email.message.Message):
            return inner.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))
    return _part_bytes(part)


def _content_type(msg: email.message.Message) -> str:
    return msg.get_content_type().lower()


def parse_dsn(content: bytes) -> ParsedReport | None:
    """The DSN in ``content``, or None when it is not one (or has no
    recipient group). Never raises."""
    if not isinstance(content, bytes | bytearray) or len(content) > _MAX_INPUT:
        return None
    try:
        return _parse(bytes(content))
    except Exception:  # the email package has crashed on malformed input before
        return None


def _parse(content: bytes) -> ParsedReport | None:
    # compat32: the lenient header handling; we read raw values ourselves.
    msg = email.message_from_bytes(content, policy=policy.compat32)
    if _content_type(msg) != "multipart/report":
        return None
    report_type = str(msg.get_param("report-type", "") or "").lower()
    parts = [p for p in msg.get_payload() if isinstance(p, email.message.Message)]
    # RFC 3464 2.1 / RFC 6522 3: the second part is the machine-readable one;
    # accept it anywhere, and a missing report-type when that part is there.
    status_parts = [p for p in parts if _content_type(p) in F.STATUS_TYPES]
    if not status_parts:
        return None
    if report_type and report_type not in F.REPORT_TYPES:
        return None
    status_part = status_parts[0]
    groups = _field_groups(_status_text(status_part))
    if not groups:
        return None
    per_message = _as_dict(groups[0])
    recipients = tuple(
        d
        for d in (_as_dict(g) for g in groups[1:])
        if F.FINAL_RECIPIENT in d or F.ORIGINAL_RECIPIENT in d or F.ACTION in d
    )
    if not recipients:
        # Some writers put no empty line after the per-message fields.
        merged = _as_dict(groups[0])
        if F.FINAL_RECIPIENT not in merged:
            return None
        recipients = (merged,)
    if not report_type:
        report_type = (
            F.GLOBAL_REPORT_TYPE
            if _content_type(status_part) == F.GLOBAL_STATUS_TYPE
            else F.REPORT_TYPE
        )

    # The third part (RFC 3464 2.1): the original message or its header.
    returned_type: str | None = None
    original_id: str | None = None
    queue_ids: list[str] = []
    after = parts[parts.index(status_part) + 1 :]
    for part in after:
        ctype = _content_type(part)
        if ctype in (
            "message/rfc822",
            "message/global",
            "text/rfc822-headers",
            "message/global-headers",
            "message/rfc822-headers",
        ):
            returned_type = ctype
            original_id, queue_ids = _header_info(_returned_header(part))
            break

    if original_id is None:
        hints = [str(msg.get(name, "")) for name in _ORIGINAL_ID_HINTS]
        hints.append(per_message.get("X-Original-Message-Id", ""))
        for hint in hints:
            match = _MSG_ID.search(hint)
            if match:
                original_id = match.group(0)
                break

    own_id = _MSG_ID.search(str(msg.get("Message-ID", "")))
    return ParsedReport(
        per_message=per_message,
        recipients=recipients,
        report_type=report_type,
        message_id=own_id.group(0) if own_id else None,
        original_message_id=original_id,
        queue_ids=tuple(queue_ids),
        returned_type=returned_type,
    )
