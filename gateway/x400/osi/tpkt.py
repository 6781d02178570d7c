"""RFC 1006 packets (TPKT): how ISO transport TPDUs travel on TCP.

RFC 1006 section 6: each TPDU is sent as a packet of a 4-octet header
(version 3, a reserved octet, the packet length in 16 bits, header
included) followed by the TPDU.  The largest packet is 65535 octets, so a
TPDU carries at most 65531; the smallest valid packet is 7 octets (the
shortest class 0 TPDU, a DT with no user data, is 3).
"""

from __future__ import annotations

from gateway.x400.osi.errors import OSIError, Truncated

__all__ = [
    "HEADER_LENGTH",
    "MAX_PACKET",
    "MAX_PAYLOAD",
    "VERSION",
    "TPKTError",
    "decode",
    "encode",
    "packet_length",
    "split",
]

VERSION = 3  # RFC 1006 section 6: vrsn
HEADER_LENGTH = 4
MAX_PACKET = 0xFFFF
MAX_PAYLOAD = MAX_PACKET - HEADER_LENGTH
# RFC 1006 section 6: "the maximum TPDU size is 65531 octets"; a packet of
# less than 7 octets cannot hold a TPDU.
MIN_PACKET = 7


class TPKTError(OSIError):
    """Not an RFC 1006 packet."""


def encode(tpdu: bytes) -> bytes:
    """One packet holding *tpdu* (RFC 1006 section 6)."""
    if not 3 <= len(tpdu) <= MAX_PAYLOAD:
        raise TPKTError(f"a TPDU of {len(tpdu)} octets does not fit a TPKT (3..{MAX_PAYLOAD})")
    return bytes([VERSION, 0]) + (len(tpdu) + HEADER_LENGTH).to_bytes(2, "big") + tpdu


def packet_length(header: bytes) -> int:
    """The length of the whole packet (header included) that starts with
    *header*, at least its first four octets."""
    if len(header) < HEADER_LENGTH:
        raise Truncated(f"TPKT header of {len(header)} octets (4 needed)")
    if header[0] != VERSION:
        raise TPKTError(f"TPKT version {header[0]} (RFC 1006 requires 3)")
    length = int.from_bytes(header[2:4], "big")
    if length < MIN_PACKET:
        raise TPKTError(f"TPKT length {length} below the minimum of {MIN_PACKET}")
    return length


def split(data: bytes) -> tuple[bytes, bytes]:
    """The TPDU of the first packet in *data*, and the bytes after it.

    Raises :class:`Truncated` while *data* holds less than one packet (a
    stream reader waits for more), TPKTError for a header RFC 1006 refuses.
    The reserved octet is ignored, as RFC 1006 asks of receivers."""
    length = packet_length(data[:HEADER_LENGTH])
    if len(data) < length:
        raise Truncated(f"TPKT of {length} octets, {len(data)} present")
    return bytes(data[HEADER_LENGTH:length]), bytes(data[length:])


def decode(packet: bytes) -> bytes:
    """The TPDU of *packet*, which must be exactly one TPKT."""
    tpdu, rest = split(packet)
    if rest:
        raise TPKTError(f"{len(rest)} octets after the TPKT")
    return tpdu
