"""The one exception family of the OSI wire-format decoders."""

from __future__ import annotations

__all__ = ["OSIError", "Truncated"]


class OSIError(ValueError):
    """Bytes that are not a valid protocol data unit of the layer."""


class Truncated(OSIError):
    """The data ends before the unit does; on a stream, wait for more."""
