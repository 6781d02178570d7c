"""X.225 session protocol data units (ISO 8327-1), kernel plus the
half-duplex, minor-synchronize, activity-management and exceptions
functional units that RTSE uses (session requirements ``0x0249``).

X.225 (11/1995) clause 8.2 gives the structure (sub-clauses are cited
below by the name of the SPDU or field, as the ASN.1-only reference set
holds no text of X.225):

- an SPDU is SI (the SPDU identifier), LI, the parameter field, then --
  for DT, EX and TD only -- the user information field;
- parameters are PI units (PI, LI, value) and PGI units (PGI, LI, then PI
  units or, for User Data, a value);
- LI is one octet for 0..254, else ``FF`` and two octets;
- several SPDUs travel in one TSDU (basic concatenation): a category 0 SPDU
  (GIVE TOKENS, PLEASE TOKENS) followed by a category 2 one, such as the
  empty GT that precedes every DT (``01 00 01 00``).

SPDU codes follow 8.3 (CN 13, AC 14, RF 12, FN 9, DN 10, AB 25, DT 1,
AS 45, MIP 49, MIA 50, AE 41, AEA 42, ...); codes shared by two SPDUs
(GT/DT, AE/MAP, AEA/MAA, AB/AI, AA/AIA) are told apart by the position in
the TSDU and the state of the connection, not here.

The decoders take one TSDU and are bounded by its length: every LI is
checked against the bytes that remain in its container before anything is
read, and PGI units nest one level only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.x400.osi.errors import OSIError, Truncated

__all__ = [
    "AB",
    "AC",
    "AE",
    "AEA",
    "AS",
    "CN",
    "DN",
    "DT",
    "FN",
    "GT",
    "MIA",
    "MIP",
    "RF",
    "SESSION_REQUIREMENTS_RTSE",
    "SPDU",
    "Parameter",
    "SessionError",
    "abort",
    "accept",
    "activity_end",
    "activity_end_ack",
    "activity_start",
    "connect",
    "data_transfer",
    "decode",
    "decode_one",
    "disconnect",
    "encode",
    "encode_length",
    "finish",
    "group",
    "minor_sync",
    "minor_sync_ack",
    "refuse",
    "serial_number",
    "user_data_of",
]

# X.225 8.3, SPDU identifiers (SI)
DT = 1  # DATA TRANSFER (category 2)
GT = 1  # GIVE TOKENS (category 0, first in a TSDU)
PT = 2  # PLEASE TOKENS (category 0)
FN = 9  # FINISH
DN = 10  # DISCONNECT
RF = 12  # REFUSE
CN = 13  # CONNECT
AC = 14  # ACCEPT
AB = 25  # ABORT (also ACTIVITY INTERRUPT)
AA = 26  # ABORT ACCEPT (also ACTIVITY INTERRUPT ACK)
AE = 41  # ACTIVITY END (also MAJOR SYNC POINT)
AEA = 42  # ACTIVITY END ACK (also MAJOR SYNC ACK)
AS = 45  # ACTIVITY START
MIP = 49  # MINOR SYNC POINT
MIA = 50  # MINOR SYNC ACK
AD = 57  # ACTIVITY DISCARD
ADA = 58  # ACTIVITY DISCARD ACK
ER = 0  # EXCEPTION REPORT
ED = 48  # EXCEPTION DATA

# X.225 8.3, parameter identifiers (PI) and group identifiers (PGI)
PGI_CONNECTION_IDENTIFIER = 1
PGI_CONNECT_ACCEPT_ITEM = 5
PI_CALLED_SS_USER_REFERENCE = 9
PI_CALLING_SS_USER_REFERENCE = 10
PI_COMMON_REFERENCE = 11
PI_ADDITIONAL_REFERENCE = 12
PI_SYNC_TYPE_ITEM = 15
PI_TOKEN_ITEM = 16
PI_TRANSPORT_DISCONNECT = 17
PI_PROTOCOL_OPTIONS = 19
PI_SESSION_REQUIREMENTS = 20
PI_TSDU_MAXIMUM_SIZE = 21
PI_VERSION_NUMBER = 22
PI_INITIAL_SERIAL_NUMBER = 23
PI_ENCLOSURE_ITEM = 25
PI_TOKEN_SETTING_ITEM = 26
PI_ACTIVITY_IDENTIFIER = 41
PI_SERIAL_NUMBER = 42
PI_REFLECT_PARAMETER = 49
PI_REASON_CODE = 50
PI_CALLING_SESSION_SELECTOR = 51
PI_CALLED_SESSION_SELECTOR = 52  # "responding" in AC
PI_DATA_OVERFLOW = 60
PGI_USER_DATA = 193
PGI_EXTENDED_USER_DATA = 194

# PGIs whose value is a list of PI units; the others carry a value
_GROUPS = frozenset({PGI_CONNECTION_IDENTIFIER, PGI_CONNECT_ACCEPT_ITEM})
# SPDUs with a user information field after the parameters (X.225 8.2)
_USER_INFORMATION = frozenset({DT, 5, 33})  # DT, EX, TD

# X.225 8.3, CONNECT SPDU, Session User Requirements (PI 20): the bits
HALF_DUPLEX = 0x0001
DUPLEX = 0x0002
EXPEDITED = 0x0004
MINOR_SYNCHRONIZE = 0x0008
MAJOR_SYNCHRONIZE = 0x0010
RESYNCHRONIZE = 0x0020
ACTIVITY_MANAGEMENT = 0x0040
NEGOTIATED_RELEASE = 0x0080
CAPABILITY_DATA = 0x0100
EXCEPTIONS = 0x0200
TYPED_DATA = 0x0400
# X.228 (1988), mapping onto the session service: what RTSE asks for
# (0x0249 on the wire, P1-WIRE.md)
SESSION_REQUIREMENTS_RTSE = HALF_DUPLEX | MINOR_SYNCHRONIZE | ACTIVITY_MANAGEMENT | EXCEPTIONS

# X.225 8.3, CONNECT SPDU, Version Number (PI 22): the bits
VERSION_1 = 0x01
VERSION_2 = 0x02

# X.225 8.3, CONNECT SPDU: the User Data parameter holds at most
# 512 octets; with version 2 proposed, Extended User Data up to 10240.
MAX_CN_USER_DATA = 512
MAX_CN_EXTENDED_USER_DATA = 10240
# X.225 8.3, ACTIVITY START SPDU: an Activity Identifier has 1 to 6 octets
MAX_ACTIVITY_IDENTIFIER = 6
# X.225 8.2: the largest length in the three-octet form
MAX_LENGTH = 0xFFFF
# X.225 8.3: a Serial Number is 1 to 6 IA5 decimal digits (0..999999)
MAX_SERIAL_NUMBER = 999999


class SessionError(OSIError):
    """Not a valid SPDU."""


@dataclass(frozen=True)
class Parameter:
    """A PI or PGI unit as sent: its code and value octets (for a group,
    the encoded PI units it holds; see :func:`group`)."""

    code: int
    value: bytes


@dataclass(frozen=True)
class SPDU:
    """One SPDU: its SI, parameters in order, and user information (DT,
    EX, TD, CD and CDA only)."""

    si: int
    parameters: tuple[Parameter, ...] = ()
    user_information: bytes = b""
    # the category 0 SPDU decoded ahead of this one (the GT before a DT)
    tokens: SPDU | None = None

    def get(self, code: int) -> bytes | None:
        """The value of the top-level parameter *code*, or None."""
        for param in self.parameters:
            if param.code == code:
                return param.value
        return None

    def get_in_group(self, pgi: int, code: int) -> bytes | None:
        """The value of the PI *code* inside the PGI unit *pgi*, or None."""
        value = self.get(pgi)
        if value is None:
            return None
        for param in _parse_parameters(value, nested=True):
            if param.code == code:
                return param.value
        return None

    @property
    def user_data(self) -> bytes:
        """What the SPDU carries for the presentation layer: the user
        information field, else the (Extended) User Data parameter."""
        if self.user_information:
            return self.user_information
        for code in (PGI_USER_DATA, PGI_EXTENDED_USER_DATA):
            value = self.get(code)
            if value is not None:
                return value
        return b""


def encode_length(length: int) -> bytes:
    """X.225 8.2, length indicator: one octet up to 254, else ``FF`` and two octets."""
    if length < 0 or length > MAX_LENGTH:
        raise SessionError(f"length {length} cannot be encoded (0..65535)")
    if length < 0xFF:
        return bytes([length])
    return b"\xff" + length.to_bytes(2, "big")


def _unit(code: int, value: bytes) -> bytes:
    return bytes([code]) + encode_length(len(value)) + value


def group(code: int, parameters: Iterable[tuple[int, bytes]]) -> Parameter:
    """A PGI unit holding PI units (X.225 8.2)."""
    return Parameter(code, b"".join(_unit(pi, value) for pi, value in parameters))


def encode(spdu: SPDU) -> bytes:
    """The octets of *spdu* (X.225 8.2), after its category 0 SPDU if
    it has one."""
    params = b"".join(_unit(p.code, p.value) for p in spdu.parameters)
    if spdu.user_information and spdu.si not in _USER_INFORMATION:
        raise SessionError(f"SPDU {spdu.si} has no user information field")
    out = bytes([spdu.si]) + encode_length(len(params)) + params + spdu.user_information
    if spdu.tokens is not None:
        return encode(spdu.tokens) + out
    return out


def _read_length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(length, offset after the length octets) at *pos*, within *end*."""
    if pos >= end:
        raise Truncated(f"length octet missing at offset {pos}")
    first = data[pos]
    if first != 0xFF:
        return first, pos + 1
    if pos + 3 > end:
        raise Truncated(f"three-octet length truncated at offset {pos}")
    return int.from_bytes(data[pos + 1 : pos + 3], "big"), pos + 3


def _parse_parameters(data: bytes, *, nested: bool = False) -> list[Parameter]:
    params: list[Parameter] = []
    pos = 0
    end = len(data)
    while pos < end:
        code = data[pos]
        length, start = _read_length(data, pos + 1, end)
        if start + length > end:
            raise SessionError(
                f"parameter {code} of {length} octets at offset {pos} runs past its"
                f" container ({end - start} octets remain)"
            )
        value = bytes(data[start : start + length])
        if code in _GROUPS:
            if nested:
                raise SessionError(f"PGI {code} inside a PGI unit")
            _parse_parameters(value, nested=True)  # validate the PI units
        params.append(Parameter(code, value))
        pos = start + length
    return params


def decode_one(data: bytes, pos: int = 0, *, category0: bool = False) -> tuple[SPDU, int]:
    """The SPDU at *pos* in the TSDU *data*, and the offset after it.  The
    user information of DT-like SPDUs runs to the end of the TSDU; a
    *category0* SPDU (GT, PT) has none."""
    end = len(data)
    if pos >= end:
        raise Truncated("no SPDU")
    si = data[pos]
    length, start = _read_length(data, pos + 1, end)
    if start + length > end:
        raise Truncated(f"SPDU {si}: parameter field of {length} octets, {end - start} present")
    params = tuple(_parse_parameters(data[start : start + length]))
    after = start + length
    if si in _USER_INFORMATION and not category0:
        return SPDU(si, params, bytes(data[after:])), end
    return SPDU(si, params), after


def decode(tsdu: bytes) -> list[SPDU]:
    """The SPDUs of one TSDU (X.225, basic concatenation).  A TSDU that starts with SI 1
    or 2 starts with a category 0 SPDU (GT, PT); when a category 2 SPDU
    follows (the DT after the empty GT), the GT is attached to it as its
    ``tokens`` rather than listed."""
    if not tsdu:
        raise Truncated("empty TSDU")
    pos = 0
    tokens: SPDU | None = None
    if tsdu[0] in (GT, PT):
        tokens, pos = decode_one(tsdu, 0, category0=True)
    spdus: list[SPDU] = []
    while pos < len(tsdu):
        spdu, pos = decode_one(tsdu, pos)
        spdus.append(spdu)
    if tokens is not None:
        if spdus:
            first = spdus[0]
            spdus[0] = SPDU(first.si, first.parameters, first.user_information, tokens)
        else:
            spdus.append(tokens)
    return spdus


# -- builders for the SPDUs an RTSE-based P1 association uses


def _serial(number: int) -> bytes:
    if not 0 <= number <= MAX_SERIAL_NUMBER:
        raise SessionError(f"serial number {number} out of range (0..999999)")
    return str(number).encode("ascii")


def _user_data(data: bytes | None) -> list[Parameter]:
    return [] if data is None else [Parameter(PGI_USER_DATA, data)]


def connect(
    user_data: bytes,
    *,
    requirements: int = SESSION_REQUIREMENTS_RTSE,
    versions: int = VERSION_1 | VERSION_2,
    token_setting: int | None = 0x00,
    calling_reference: bytes | None = None,
    common_reference: bytes | None = None,
    tsdu_maximum_size: tuple[int, int] | None = None,
    initial_serial_number: int | None = None,
    calling_selector: bytes | None = None,
    called_selector: bytes | None = None,
) -> bytes:
    """A CN SPDU (X.225 8.3, CONNECT).  *token_setting* 0 puts every available
    token on the initiator's side (X.228: the initiator has the initial
    turn); *tsdu_maximum_size* is (initiator to responder, responder to
    initiator), 0 meaning unlimited."""
    params = _connection_parameters(
        (PI_CALLING_SS_USER_REFERENCE, calling_reference),
        common_reference,
        _accept_item(versions, token_setting, tsdu_maximum_size, initial_serial_number),
        requirements,
        calling_selector,
        called_selector,
    )
    if len(user_data) <= MAX_CN_USER_DATA:
        params.append(Parameter(PGI_USER_DATA, user_data))
    elif versions & VERSION_2 and len(user_data) <= MAX_CN_EXTENDED_USER_DATA:
        params.append(Parameter(PGI_EXTENDED_USER_DATA, user_data))
    else:
        raise SessionError(f"CN user data of {len(user_data)} octets needs overflow (CDO)")
    return encode(SPDU(CN, tuple(params)))


def _accept_item(
    versions: int,
    token_setting: int | None,
    tsdu_maximum_size: tuple[int, int] | None,
    initial_serial_number: int | None,
) -> list[tuple[int, bytes]]:
    # X.225 8.3, Connect/Accept Item (PGI 5): Protocol Options, TSDU Maximum Size, Version Number,
    # Initial Serial Number, Token Setting Item, in that order
    item: list[tuple[int, bytes]] = [(PI_PROTOCOL_OPTIONS, b"\x00")]
    if tsdu_maximum_size is not None:
        to_responder, to_initiator = tsdu_maximum_size
        size = to_responder.to_bytes(2, "big") + to_initiator.to_bytes(2, "big")
        item.append((PI_TSDU_MAXIMUM_SIZE, size))
    item.append((PI_VERSION_NUMBER, bytes([versions])))
    if initial_serial_number is not None:
        item.append((PI_INITIAL_SERIAL_NUMBER, _serial(initial_serial_number)))
    if token_setting is not None:
        item.append((PI_TOKEN_SETTING_ITEM, bytes([token_setting])))
    return item


def _connection_parameters(
    user_reference: tuple[int, bytes | None],
    common_reference: bytes | None,
    accept_item: list[tuple[int, bytes]],
    requirements: int,
    calling_selector: bytes | None,
    called_selector: bytes | None,
) -> list[Parameter]:
    """The parameters CN and AC share, in X.225 8.3's order: Connection
    Identifier (*user_reference* is the calling or called SS-user reference,
    PI and value), Connect/Accept Item, Session User Requirements, Calling
    Session Selector, Called (CN) or Responding (AC, the same PI) Session
    Selector.  The user data follows."""
    params: list[Parameter] = []
    ident: list[tuple[int, bytes]] = []
    reference_pi, reference = user_reference
    if reference is not None:
        ident.append((reference_pi, reference))
    if common_reference is not None:
        ident.append((PI_COMMON_REFERENCE, common_reference))
    if ident:
        params.append(group(PGI_CONNECTION_IDENTIFIER, ident))
    params.append(group(PGI_CONNECT_ACCEPT_ITEM, accept_item))
    params.append(Parameter(PI_SESSION_REQUIREMENTS, requirements.to_bytes(2, "big")))
    if calling_selector is not None:
        params.append(Parameter(PI_CALLING_SESSION_SELECTOR, calling_selector))
    if called_selector is not None:
        params.append(Parameter(PI_CALLED_SESSION_SELECTOR, called_selector))
    return params


def accept(
    user_data: bytes,
    *,
    requirements: int = SESSION_REQUIREMENTS_RTSE,
    version: int = VERSION_2,
    token_setting: int | None = 0x00,
    called_reference: bytes | None = None,
    common_reference: bytes | None = None,
    tsdu_maximum_size: tuple[int, int] | None = None,
    initial_serial_number: int | None = None,
    calling_selector: bytes | None = None,
    responding_selector: bytes | None = None,
) -> bytes:
    """An AC SPDU (X.225 8.3, ACCEPT) selecting one protocol *version*."""
    params = _connection_parameters(
        (PI_CALLED_SS_USER_REFERENCE, called_reference),
        common_reference,
        _accept_item(version, token_setting, tsdu_maximum_size, initial_serial_number),
        requirements,
        calling_selector,
        responding_selector,
    )
    params.append(Parameter(PGI_USER_DATA, user_data))
    return encode(SPDU(AC, tuple(params)))


def refuse(reason: bytes, *, requirements: int | None = None, version: int = VERSION_2) -> bytes:
    """An RF SPDU (X.225 8.3, REFUSE); *reason* is the Reason Code parameter (a
    code octet, for code 2 followed by the SS-user data)."""
    params = [Parameter(PI_TRANSPORT_DISCONNECT, b"\x01")]
    if requirements is not None:
        params.append(Parameter(PI_SESSION_REQUIREMENTS, requirements.to_bytes(2, "big")))
    params.append(Parameter(PI_VERSION_NUMBER, bytes([version])))
    params.append(Parameter(PI_REASON_CODE, reason))
    return encode(SPDU(RF, tuple(params)))


def data_transfer(user_information: bytes) -> bytes:
    """A DT SPDU after the empty GIVE TOKENS that basic concatenation
    requires (X.225, basic concatenation; DATA TRANSFER, GIVE TOKENS): ``01 00 01 00`` + data."""
    return encode(SPDU(DT, (), user_information, tokens=SPDU(GT)))


def activity_start(activity_id: bytes, user_data: bytes | None = None) -> bytes:
    """An AS SPDU (X.225 8.3, ACTIVITY START) naming the activity."""
    if not 1 <= len(activity_id) <= MAX_ACTIVITY_IDENTIFIER:
        raise SessionError(f"activity identifier of {len(activity_id)} octets (1..6)")
    params = [Parameter(PI_ACTIVITY_IDENTIFIER, activity_id), *_user_data(user_data)]
    return encode(SPDU(AS, tuple(params)))


def activity_end(serial_number: int, user_data: bytes | None = None) -> bytes:
    """An AE SPDU (X.225 8.3, ACTIVITY END): the major synchronization point ending
    the activity."""
    params = [Parameter(PI_SERIAL_NUMBER, _serial(serial_number)), *_user_data(user_data)]
    return encode(SPDU(AE, tuple(params)))


def activity_end_ack(serial_number: int, user_data: bytes | None = None) -> bytes:
    """An AEA SPDU (X.225 8.3, ACTIVITY END ACK)."""
    params = [Parameter(PI_SERIAL_NUMBER, _serial(serial_number)), *_user_data(user_data)]
    return encode(SPDU(AEA, tuple(params)))


def minor_sync(
    serial_number: int, user_data: bytes | None = None, *, confirm: bool = True
) -> bytes:
    """A MIP SPDU (X.225 8.3, MINOR SYNC POINT); without *confirm* the Sync Type Item
    says no explicit confirmation is required."""
    params: list[Parameter] = []
    if not confirm:
        params.append(Parameter(PI_SYNC_TYPE_ITEM, b"\x01"))
    params.append(Parameter(PI_SERIAL_NUMBER, _serial(serial_number)))
    params += _user_data(user_data)
    return encode(SPDU(MIP, tuple(params)))


def minor_sync_ack(serial_number: int, user_data: bytes | None = None) -> bytes:
    """A MIA SPDU (X.225 8.3, MINOR SYNC ACK)."""
    params = [Parameter(PI_SERIAL_NUMBER, _serial(serial_number)), *_user_data(user_data)]
    return encode(SPDU(MIA, tuple(params)))


def finish(user_data: bytes | None = None, *, keep_transport: bool = False) -> bytes:
    """A FN SPDU (X.225 8.3, FINISH); the transport connection is released
    unless *keep_transport*."""
    params = [Parameter(PI_TRANSPORT_DISCONNECT, b"\x00" if keep_transport else b"\x01")]
    return encode(SPDU(FN, tuple(params + _user_data(user_data))))


def disconnect(user_data: bytes | None = None) -> bytes:
    """A DN SPDU (X.225 8.3, DISCONNECT)."""
    return encode(SPDU(DN, tuple(_user_data(user_data))))


def abort(user_data: bytes | None = None, *, user_abort: bool = True) -> bytes:
    """An AB SPDU (X.225 8.3, ABORT), releasing the transport connection."""
    flags = 0x01 | (0x02 if user_abort else 0x00)
    params = [Parameter(PI_TRANSPORT_DISCONNECT, bytes([flags])), *_user_data(user_data)]
    return encode(SPDU(AB, tuple(params)))


def serial_number(spdu: SPDU) -> int | None:
    """The Serial Number parameter of *spdu* as an integer, or None."""
    value = spdu.get(PI_SERIAL_NUMBER)
    if value is None:
        return None
    if not 1 <= len(value) <= 6 or not value.isdigit():
        raise SessionError(f"serial number {value!r} is not 1 to 6 decimal digits")
    return int(value)


def user_data_of(spdus: Sequence[SPDU]) -> bytes:
    """The presentation layer's bytes in a decoded TSDU."""
    return b"".join(s.user_data for s in spdus)
