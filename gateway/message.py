"""Minimal, pure access to the header of an RFC 5322 message."""

from __future__ import annotations

import re

_END_OF_HEADER = re.compile(rb"\r?\n\r?\n")
_FIELD_NAME = re.compile(rb"[!-9;-~]+")  # RFC 5322 3.6.8 ftext


def header_block(content: bytes, limit: int = 1 << 20) -> bytes:
    """The header section (without the empty line), at most ``limit`` bytes."""
    match = _END_OF_HEADER.search(content, 0, limit)
    return content[: match.start()] if match else content[:limit]


def header_fields(content: bytes) -> list[tuple[str, str]]:
    """``(name, unfolded value)`` of each header field, in order (RFC 5322 2.2)."""
    fields: list[tuple[str, str]] = []
    for line in re.split(rb"\r?\n", header_block(content)):
        if line[:1] in (b" ", b"\t") and fields:
            last_name, last_value = fields[-1]
            unfolded = line.strip().decode("utf-8", "replace")
            fields[-1] = (last_name, f"{last_value} {unfolded}")
            continue
        raw_name, sep, raw_value = line.partition(b":")
        if sep and _FIELD_NAME.fullmatch(raw_name):
            fields.append((raw_name.decode("ascii"), raw_value.strip().decode("utf-8", "replace")))
    return fields


def get_header(content: bytes, name: str) -> str | None:
    """The first field called ``name`` (case-insensitive), or None."""
    wanted = name.lower()
    for field_name, value in header_fields(content):
        if field_name.lower() == wanted:
            return value
    return None
