"""X.224 class 0 transport TPDUs (ISO 8073), the transport under RFC 1006.

Class 0 has no flow control, multiplexing or expedited data: a connection
is CR -> CC (or DR), then DT TPDUs in both directions, then DR (or a
disconnect of the TCP connection itself).  X.224 (11/1995) clause 13:

- 13.2: a TPDU is the length indicator LI (the header length, LI octet
  excluded, at most 254), the fixed part (the code first), the variable
  part (parameters: code, length, value), then user data;
- 13.3 CR ``E0``, 13.4 CC ``D0``: DST-REF, SRC-REF, class and options, then
  parameters: ``C0`` TPDU size, ``C1`` calling TSAP-ID, ``C2`` called
  TSAP-ID; class 0 carries no user data in CR/CC (13.3.5 / 13.4.5);
- 13.5 DR ``80``: DST-REF, SRC-REF, reason;
- 13.7 DT ``F0``: in class 0 the fixed part is the code and one octet whose
  high bit is EOT (end of TSDU);
- 13.12 ER ``70``: DST-REF, reject cause, ``C1`` invalid TPDU.

Every decoder is bounded by the TPDU it is given (at most the 65531 octets
of one TPKT) and refuses a header that runs past it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.x400.osi.errors import OSIError, Truncated

__all__ = [
    "CC",
    "CLASS_0",
    "CR",
    "DR",
    "DT",
    "ER",
    "PARAM_CALLED_TSAP",
    "PARAM_CALLING_TSAP",
    "PARAM_TPDU_SIZE",
    "TPDU",
    "COTPError",
    "ConnectionConfirm",
    "ConnectionRequest",
    "Data",
    "DisconnectRequest",
    "Error",
    "decode",
    "encode",
    "segment",
    "tpdu_size_code",
]

# X.224 13.1: TPDU codes (high nibble of the code octet)
CR = 0xE0
CC = 0xD0
DR = 0x80
DT = 0xF0
ER = 0x70

# X.224 13.3.4: parameter codes of the variable part
PARAM_TPDU_SIZE = 0xC0
PARAM_CALLING_TSAP = 0xC1
PARAM_CALLED_TSAP = 0xC2
PARAM_INVALID_TPDU = 0xC1  # ER only, X.224 13.12.3
CLASS_0 = 0x00  # class and option octet: class 0, no options (13.3.3)

EOT = 0x80  # X.224 13.7.3: end of TSDU mark in the DT fixed part
MAX_LI = 254  # X.224 13.2.1: the value 255 is reserved
# X.224 13.3.4 b): TPDU size codes 7..13 are 128..8192 octets; class 0
# allows at most 2048 (code 11).  Without the parameter the size is 128.
MIN_TPDU_SIZE_CODE = 7
MAX_TPDU_SIZE_CODE_CLASS_0 = 11
DEFAULT_TPDU_SIZE = 128
# The length of the longest TSAP selector accepted; X.224 sets no limit
# beyond the LI, ISODE and PP use up to 64.
MAX_TSAP_LENGTH = 64


class COTPError(OSIError):
    """Not a valid class 0 TPDU."""


Parameter = tuple[int, bytes]


@dataclass(frozen=True)
class ConnectionRequest:
    """CR TPDU (X.224 13.3)."""

    src_ref: int
    tpdu_size: int | None = None  # octets, a power of two 128..2048
    calling_tsap: bytes | None = None
    called_tsap: bytes | None = None
    dst_ref: int = 0  # 13.3.3: always zero in a CR
    class_option: int = CLASS_0
    other: tuple[Parameter, ...] = ()  # parameters not named above, as sent


@dataclass(frozen=True)
class ConnectionConfirm:
    """CC TPDU (X.224 13.4)."""

    dst_ref: int
    src_ref: int
    tpdu_size: int | None = None
    calling_tsap: bytes | None = None
    called_tsap: bytes | None = None
    class_option: int = CLASS_0
    other: tuple[Parameter, ...] = ()


@dataclass(frozen=True)
class DisconnectRequest:
    """DR TPDU (X.224 13.5); reason 0 is "reason not specified"."""

    dst_ref: int
    src_ref: int
    reason: int = 0
    other: tuple[Parameter, ...] = ()


@dataclass(frozen=True)
class Data:
    """Class 0 DT TPDU (X.224 13.7): a piece of a TSDU, the last one with
    *eot* set."""

    user_data: bytes
    eot: bool = True


@dataclass(frozen=True)
class Error:
    """ER TPDU (X.224 13.12)."""

    dst_ref: int
    cause: int = 0
    invalid_tpdu: bytes | None = None


TPDU = ConnectionRequest | ConnectionConfirm | DisconnectRequest | Data | Error


def tpdu_size_code(size: int) -> int:
    """The X.224 13.3.4 b) code of a class 0 TPDU size in octets."""
    code = size.bit_length() - 1
    if size != 1 << code or not MIN_TPDU_SIZE_CODE <= code <= MAX_TPDU_SIZE_CODE_CLASS_0:
        raise COTPError(f"TPDU size {size} is not a power of two from 128 to 2048")
    return code


def _parameters(params: Iterable[Parameter]) -> bytes:
    out = bytearray()
    for code, value in params:
        if not 0 <= code <= 0xFF or len(value) > 0xFF:
            raise COTPError(f"parameter {code:#x} of {len(value)} octets cannot be encoded")
        out += bytes([code, len(value)]) + value
    return bytes(out)


def _connection_parameters(
    tpdu_size: int | None,
    calling: bytes | None,
    called: bytes | None,
    other: tuple[Parameter, ...],
) -> list[Parameter]:
    params: list[Parameter] = []
    if tpdu_size is not None:
        params.append((PARAM_TPDU_SIZE, bytes([tpdu_size_code(tpdu_size)])))
    if calling is not None:
        params.append((PARAM_CALLING_TSAP, calling))
    if called is not None:
        params.append((PARAM_CALLED_TSAP, called))
    params.extend(other)
    return params


def _with_li(header: bytes) -> bytes:
    if len(header) > MAX_LI:
        raise COTPError(f"TPDU header of {len(header)} octets exceeds the LI limit of 254")
    return bytes([len(header)]) + header


def _ref(value: int) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise COTPError(f"reference {value} does not fit 16 bits")
    return value.to_bytes(2, "big")


def encode(tpdu: TPDU) -> bytes:
    """The octets of *tpdu* (X.224 13.2), ready for :func:`tpkt.encode`."""
    if isinstance(tpdu, Data):
        # 13.7.2 / 13.7.3, class 0: LI = 2, code, EOT and TPDU-NR zero
        return bytes([2, DT, EOT if tpdu.eot else 0]) + tpdu.user_data
    if isinstance(tpdu, ConnectionRequest | ConnectionConfirm):
        code = CR if isinstance(tpdu, ConnectionRequest) else CC
        fixed = bytes([code]) + _ref(tpdu.dst_ref) + _ref(tpdu.src_ref)
        fixed += bytes([tpdu.class_option])
        params = _connection_parameters(
            tpdu.tpdu_size, tpdu.calling_tsap, tpdu.called_tsap, tpdu.other
        )
        return _with_li(fixed + _parameters(params))
    if isinstance(tpdu, DisconnectRequest):
        fixed = bytes([DR]) + _ref(tpdu.dst_ref) + _ref(tpdu.src_ref) + bytes([tpdu.reason])
        return _with_li(fixed + _parameters(tpdu.other))
    params = [] if tpdu.invalid_tpdu is None else [(PARAM_INVALID_TPDU, tpdu.invalid_tpdu)]
    return _with_li(bytes([ER]) + _ref(tpdu.dst_ref) + bytes([tpdu.cause]) + _parameters(params))


def segment(tsdu: bytes, tpdu_size: int = DEFAULT_TPDU_SIZE) -> list[bytes]:
    """*tsdu* as encoded DT TPDUs no longer than *tpdu_size* octets each
    (the negotiated size, header included), EOT on the last (X.224 6.3)."""
    room = tpdu_size - 3
    if room < 1:
        raise COTPError(f"TPDU size {tpdu_size} leaves no room for data")
    pieces = [tsdu[i : i + room] for i in range(0, len(tsdu), room)] or [b""]
    return [encode(Data(p, eot=i == len(pieces) - 1)) for i, p in enumerate(pieces)]


def _parse_parameters(data: bytes, start: int) -> list[Parameter]:
    params: list[Parameter] = []
    pos = start
    while pos < len(data):
        if pos + 2 > len(data):
            raise COTPError(f"parameter at offset {pos} lacks its length octet")
        code, length = data[pos], data[pos + 1]
        if pos + 2 + length > len(data):
            raise COTPError(f"parameter {code:#x} at offset {pos} runs past the header")
        params.append((code, bytes(data[pos + 2 : pos + 2 + length])))
        pos += 2 + length
    return params


def _connection(header: bytes, *, request: bool) -> ConnectionRequest | ConnectionConfirm:
    if len(header) < 6:
        raise COTPError(f"{'CR' if request else 'CC'} fixed part of {len(header)} octets (6)")
    dst_ref = int.from_bytes(header[1:3], "big")
    src_ref = int.from_bytes(header[3:5], "big")
    class_option = header[5]
    tpdu_size: int | None = None
    calling: bytes | None = None
    called: bytes | None = None
    other: list[Parameter] = []
    for code, value in _parse_parameters(header, 6):
        if code == PARAM_TPDU_SIZE:
            if len(value) != 1 or not MIN_TPDU_SIZE_CODE <= value[0] <= 13:
                raise COTPError(f"TPDU size parameter {value.hex()} out of range")
            tpdu_size = 1 << value[0]
        elif code in (PARAM_CALLING_TSAP, PARAM_CALLED_TSAP):
            if len(value) > MAX_TSAP_LENGTH:
                raise COTPError(f"TSAP selector of {len(value)} octets")
            if code == PARAM_CALLING_TSAP:
                calling = value
            else:
                called = value
        else:
            other.append((code, value))
    if request:
        return ConnectionRequest(
            src_ref, tpdu_size, calling, called, dst_ref, class_option, tuple(other)
        )
    return ConnectionConfirm(
        dst_ref, src_ref, tpdu_size, calling, called, class_option, tuple(other)
    )


def decode(data: bytes) -> TPDU:
    """The TPDU that is exactly *data* (the payload of one TPKT)."""
    if not data:
        raise Truncated("empty TPDU")
    li = data[0]
    if li == 0xFF:
        raise COTPError("length indicator 255 is reserved (X.224 13.2.1)")
    if li < 1:
        raise COTPError("length indicator 0: no TPDU code")
    if len(data) < 1 + li:
        raise Truncated(f"TPDU header of {li} octets, {len(data) - 1} present")
    header = bytes(data[1 : 1 + li])
    user_data = bytes(data[1 + li :])
    code = header[0] & 0xF0
    if code == DT:
        if li != 2:
            raise COTPError(f"class 0 DT with LI {li} (X.224 13.7: 2)")
        return Data(user_data, eot=bool(header[1] & EOT))
    if user_data:
        raise COTPError(f"{len(user_data)} octets of user data after a TPDU {code:#x} header")
    if code in (CR, CC):
        return _connection(header, request=code == CR)
    if code == DR:
        if len(header) < 6:
            raise COTPError(f"DR fixed part of {len(header)} octets (6)")
        return DisconnectRequest(
            int.from_bytes(header[1:3], "big"),
            int.from_bytes(header[3:5], "big"),
            header[5],
            tuple(_parse_parameters(header, 6)),
        )
    if code == ER:
        if len(header) < 4:
            raise COTPError(f"ER fixed part of {len(header)} octets (4)")
        invalid = None
        for pcode, value in _parse_parameters(header, 4):
            if pcode == PARAM_INVALID_TPDU:
                invalid = value
        return Error(int.from_bytes(header[1:3], "big"), header[3], invalid)
    raise COTPError(f"TPDU code {header[0]:#04x} is not used in class 0")
