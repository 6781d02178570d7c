"""Rendering FETCH responses (RFC 3501 7.4.2, RFC 7162 3.1.4): pure code.

The server decides which messages need their content read (see
:func:`needs_content`) and hands over the content, or None, plus the
structures (ENVELOPE, BODY, BODYSTRUCTURE) it has from the per-UID cache;
what is missing is computed here with :mod:`gateway.imap.message` and
returned so the server can remember it.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.imap import message
from gateway.imap.syntax import FetchAtt
from gateway.imap.wire import flag_list, internal_date, literal
from gateway.store.imapview import MessageInfo

__all__ = ["STRUCTURES", "flags_item", "needs_content", "render"]

# FETCH item -> key of the per-UID cache (ISelectedFolder.cached/remember)
STRUCTURES = {"ENVELOPE": "envelope", "BODYSTRUCTURE": "bodystructure", "BODY": "body"}


def _structure(name: str, content: bytes) -> bytes:
    if name == "ENVELOPE":
        return message.envelope(content)
    return message.bodystructure(content, extensible=name == "BODYSTRUCTURE")


def flags_item(info: MessageInfo) -> bytes:
    """``FLAGS (...)`` with \\Recent when it is recent for this session."""
    flags: Iterable[str] = sorted(info.flags)
    if info.recent:
        flags = [*flags, "\\Recent"]
    return b"FLAGS " + flag_list(flags)


def needs_content(items: Iterable[FetchAtt], cached: dict[str, bytes]) -> bool:
    """Whether rendering ``items`` needs the message itself."""
    for att in items:
        if att.needs_content:
            return True
        if att.section is None and att.name in STRUCTURES and att.name not in cached:
            return True
    return False


def _body_section(att: FetchAtt, content: bytes) -> bytes:
    section = att.section
    assert section is not None
    if not section.part and section.text is None:
        data = content
    else:
        data = message.section(content, section.part, section.text, section.fields)
    if att.partial is not None:
        origin, length = att.partial
        data = data[origin : origin + length]
    return data


def render(
    seq: int,
    info: MessageInfo,
    items: Iterable[FetchAtt],
    content: bytes | None,
    structures: dict[str, bytes],
) -> bytes:
    """One ``* seq FETCH (...)`` response line (with CRLF).

    ``structures`` holds the cached ENVELOPE/BODY/BODYSTRUCTURE by item
    name; those computed here are added to it for the caller to remember.
    """
    out: list[bytes] = []
    for att in items:
        name = att.name
        if att.section is not None:
            assert content is not None
            out.append(
                att.response_name().encode("ascii") + b" " + literal(_body_section(att, content))
            )
        elif name == "UID":
            out.append(b"UID %d" % info.uid)
        elif name == "FLAGS":
            out.append(flags_item(info))
        elif name == "RFC822.SIZE":
            out.append(b"RFC822.SIZE %d" % info.size)
        elif name == "INTERNALDATE":
            out.append(b"INTERNALDATE " + internal_date(info.internal_date))
        elif name == "MODSEQ":
            out.append(b"MODSEQ (%d)" % info.modseq)  # RFC 7162 3.1.4
        elif name in STRUCTURES:
            value = structures.get(name)
            if value is None:
                assert content is not None
                value = structures[name] = _structure(name, content)
            out.append(name.encode("ascii") + b" " + value)
        else:
            assert content is not None
            if name == "RFC822":
                data = content
            elif name == "RFC822.HEADER":
                data = message.section(content, (), "HEADER")
            else:  # RFC822.TEXT
                data = message.section(content, (), "TEXT")
            out.append(name.encode("ascii") + b" " + literal(data))
    return b"* %d FETCH (" % seq + b" ".join(out) + b")\r\n"
