"""A P1 association (X.419 1988 normal mode) as a sans-I/O state machine.

:class:`P1Association` is one MTA's end of one association, h11 style: feed
it the bytes TCP delivered (:meth:`~P1Association.receive`, which returns
:class:`Event` values), ask it for the bytes to write
(:meth:`~P1Association.data_to_send`), and drive it with the service
methods (bind, transfer, confirm, release, abort).  It never does I/O and
never reads a clock.

It stacks small machines, each owning one layer:

- :class:`~gateway.x400.osi.transport.TransportConnection`: RFC 1006 TPKTs
  and X.224 class 0 (CR/CC with TPDU size and TSAP selectors, DT with
  reassembly, DR, ER);
- :class:`~gateway.x400.osi.sessionfsm.SessionMachine`: X.225 version 2
  with the functional units RTSE needs (session requirements ``0x0249``);
- this module: X.226 presentation (CP/CPA/CPR, three contexts, BER), X.227
  ACSE (AARQ/AARE/RLRQ/RLRE/ABRT, application context id-ac-mts-transfer),
  X.228 RTSE (RTORQ/RTOAC/RTORJ/RTTR/RTTP/RTAB, checkpointing and the turn)
  and the X.411 MTA-bind (12.1.1: MTABindArgument/Result/Error).

What goes on the wire follows P1-WIRE.md (what Isode and PP send):

- the CP proposes pcid 1 ACSE 2.2.1.0.1, pcid 3 id-as-mta-rtse 2.6.0.2.12,
  pcid 5 id-as-mtse 2.6.0.2.7, each with BER; no default context.  A
  responder takes the identifiers the initiator chose, by abstract syntax;
- the AARQ names id-ac-mts-transfer (2.6.0.1.6), no AE titles; its
  user-information is EXTERNAL {direct-reference BER, indirect-reference
  <rtse pcid>, single-ASN1-type RTORQ}; RTORQ's open data is the ROS
  bind-invoke [16] MTABindArgument (X.419 12.1, X.228 RT-OPEN);
- X.228 RT-TRANSFER: each MTS-APDU is an activity (AS, with the transfer
  number as a BER INTEGER for its identifier); the EXTERNAL
  {indirect-reference <mtse pcid>, single-ASN1-type [0] MTS-APDU} is cut
  into RTTR segments of checkpointSize kilo-octets, one P-DATA each, with a
  minor synchronization point (MIP) after every segment but the last; no
  more than windowSize MIPs stay unacknowledged; AE ends the transfer, and
  the receiver answers AEA only when its user has secured the APDU
  (:meth:`P1Association.confirm`);
- a receiver refuses a transfer with S-U-EXCEPTION-REPORT (ED); the sender
  discards the activity (AD, answered by ADA) -- X.228 exception handling;
- RT-CLOSE by the initiator: FN carrying RLRQ, DN carrying RLRE, then the
  initiator's DR; RT-U-ABORT: AB carrying ARU { ABRT { user-information
  RTAB } }, then DR.

Limits: TPKTs by RFC 1006 (65535), TSDUs by ``max_tsdu``, control PDUs by
``ber_limits``, a transfer by ``max_apdu`` (checked as segments arrive).
Anything wrong in the peer's bytes gives :class:`ProtocolError` (saying
what), an abort queued for the peer and :class:`Aborted`; ``receive`` does
not raise.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pyasn1.error import PyAsn1Error
from pyasn1.type import univ

from gateway.x400.asn1 import acse, ber, mta, rtse
from gateway.x400.asn1.external import External
from gateway.x400.asn1.tags import explicit
from gateway.x400.osi import presentation as pres
from gateway.x400.osi import session
from gateway.x400.osi import sessionfsm as sfsm
from gateway.x400.osi.errors import OSIError
from gateway.x400.osi.transport import (
    DEFAULT_MAX_TSDU,
    TConnected,
    TData,
    TDisconnected,
    TransportConnection,
    TransportFailed,
)

__all__ = [
    "ID_AC_MTS_TRANSFER",
    "ID_AS_ACSE",
    "ID_AS_MTA_RTSE",
    "ID_AS_MTSE",
    "PCID_ACSE",
    "PCID_MTA_RTSE",
    "PCID_MTSE",
    "Aborted",
    "AssociationConfig",
    "AssociationError",
    "BindRefused",
    "BindRequested",
    "Bound",
    "Credentials",
    "Event",
    "P1Association",
    "ProtocolError",
    "Released",
    "TransferAborted",
    "TransferConfirmed",
    "TransferReceived",
    "TransportConnected",
]

# X.419 MHSProtocolObjectIdentifiers {joint-iso-itu-t mhs(6) protocols(0) ...}
ID_AC_MTS_TRANSFER = "2.6.0.1.6"  # id-ac-mts-transfer
ID_AS_MTA_RTSE = "2.6.0.2.12"  # id-as-mta-rtse: RTSE-apdus with the MTA bind
ID_AS_MTSE = "2.6.0.2.7"  # id-as-mtse: MTS-APDU
ID_AS_ACSE = str(acse.acse_as_id)  # X.227 acse-as-id 2.2.1.0.1
# The presentation context identifiers an initiator proposes (P1-WIRE.md)
PCID_ACSE = 1
PCID_MTA_RTSE = 3
PCID_MTSE = 5
CONTEXTS = (
    pres.ContextDefinition(PCID_ACSE, ID_AS_ACSE),
    pres.ContextDefinition(PCID_MTA_RTSE, ID_AS_MTA_RTSE),
    pres.ContextDefinition(PCID_MTSE, ID_AS_MTSE),
)

# X.411 12.1.1 and upper bounds: MTAName IA5String (SIZE (1..ub-mta-name-length)),
# Password (SIZE (0..ub-password-length))
MAX_MTA_NAME = 32
MAX_PASSWORD = 62
# X.225 8.3, ACTIVITY START: the identifier is at most 6 octets; a BER
# INTEGER up to 2^31 - 1 takes 6 (02 04 + four octets)
MAX_ACTIVITY_NUMBER = (1 << 31) - 1
# The EXTERNAL around an MTS-APDU adds its own header octets: tag and length
# of the EXTERNAL and of [0], the indirect-reference, maybe a direct one
EXTERNAL_OVERHEAD = 64
# What a peer may send while it should be waiting for our bind answer or
# AEA (nothing, legitimately) is held up to this many octets
MAX_HELD = 1 << 20

DEFAULT_BER_LIMITS: dict[str, int] = {
    "max_depth": 32,  # ACSE/RTSE/bind PDUs nest less than 15 deep
    "max_length": 64 << 10,  # no control PDU element is near 64 KiB
    "max_total": 64 << 10,
}

# X.228 RTABapdu abortReason values used here
_RTAB_PROTOCOL_ERROR = "protocolError"
_RTAB_USER_ERROR = "userError"

BindErrorName = Literal[
    "authentication-error", "busy", "unacceptable-dialogue-mode", "unacceptable-security-context"
]
State = Literal[
    "idle",
    "connecting",
    "awaiting-connect",
    "binding",
    "bind-requested",
    "bound",
    "releasing",
    "released",
    "closed",
]


class AssociationError(OSIError):
    """A service method called when the association cannot honour it."""


# -- events ------------------------------------------------------------------


@dataclass(frozen=True)
class TransportConnected:
    """Initiator: CC arrived; responder: a CR arrived and CC is queued."""


@dataclass(frozen=True)
class BindRequested:
    """Responder: the initiator's MTABindArgument; answer with
    :meth:`P1Association.accept_bind` or :meth:`P1Association.refuse_bind`.
    An unauthenticated bind (the NULL alternative) has empty name and password."""

    mta_name: str
    password: str | bytes


@dataclass(frozen=True)
class Bound:
    peer_name: str


@dataclass(frozen=True)
class BindRefused:
    reason: str


@dataclass(frozen=True)
class TransferReceived:
    """A whole MTS-APDU has arrived (not yet confirmed to the sender)."""

    transfer_id: int
    apdu: bytes


@dataclass(frozen=True)
class TransferConfirmed:
    transfer_id: int


@dataclass(frozen=True)
class TransferAborted:
    transfer_id: int
    reason: str


@dataclass(frozen=True)
class Released:
    pass


@dataclass(frozen=True)
class Aborted:
    reason: str


@dataclass(frozen=True)
class ProtocolError:
    reason: str


Event = (
    TransportConnected
    | BindRequested
    | Bound
    | BindRefused
    | TransferReceived
    | TransferConfirmed
    | TransferAborted
    | Released
    | Aborted
    | ProtocolError
)


# -- configuration -------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """An MTA's name and simple password (X.411 12.1.1.1.1)."""

    mta_name: str  # MTAName, IA5, 1..32
    password: str | bytes  # IA5String or OCTET STRING form of Password

    def __post_init__(self) -> None:
        if not 1 <= len(self.mta_name) <= MAX_MTA_NAME or not self.mta_name.isascii():
            raise ValueError(f"MTA name {self.mta_name!r}: 1 to 32 IA5 characters")
        if len(self.password) > MAX_PASSWORD or (
            isinstance(self.password, str) and not self.password.isascii()
        ):
            raise ValueError("password: at most 62 IA5 characters or octets")


@dataclass(frozen=True)
class AssociationConfig:
    calling_tsap: bytes = b""  # our TSAP selector (initiator; empty: none sent)
    called_tsap: bytes = b"x400in88"  # the peer's (initiator) / ours (responder; empty: any)
    tpdu_size: int = 2048  # X.224 class 0: 128..2048
    checkpoint_size: int = 63  # X.228 checkpointSize, k-octets; 0 = no checkpointing
    window_size: int = 3  # X.228 windowSize: unacknowledged checkpoints allowed
    dialogue_mode: Literal["monologue", "twa"] = "monologue"
    max_apdu: int = 64 << 20  # a larger transfer aborts the association
    max_tsdu: int = DEFAULT_MAX_TSDU  # transport reassembly limit
    ber_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BER_LIMITS))
    called_ssap: bytes = b""  # the peer's session selector (initiator; empty: none sent)
    called_psap: bytes = b""  # the peer's presentation selector (initiator; empty: none)


# -- encodings ---------------------------------------------------------------


def _password_value(password: str | bytes, target: Any) -> None:
    if isinstance(password, bytes):
        target["octet-string"] = password
    else:
        target["ia5-string"] = password


def _password_of(value: Any) -> str | bytes:
    if value.getName() == "octet-string":
        return bytes(value["octet-string"])
    return str(value["ia5-string"])


def encode_bind_argument(credentials: Credentials) -> bytes:
    """ROS bind-invoke [16] MTABindArgument authenticated (X.411 12.1.1.1)."""
    argument = mta.MTABindArgument().subtype(explicitTag=explicit(16))
    authenticated = argument["authenticated"]
    authenticated["initiator-name"] = credentials.mta_name
    _password_value(credentials.password, authenticated["initiator-credentials"]["simple"])
    return ber.encode(argument)


def encode_bind_result(credentials: Credentials) -> bytes:
    """ROS bind-result [17] MTABindResult authenticated (X.411 12.1.1.2)."""
    result = mta.MTABindResult().subtype(explicitTag=explicit(17))
    authenticated = result["authenticated"]
    authenticated["responder-name"] = credentials.mta_name
    _password_value(credentials.password, authenticated["responder-credentials"]["simple"])
    return ber.encode(result)


def encode_bind_error(error: str) -> bytes:
    """ROS bind-error [18] MTABindError (X.411 12.1.1.3)."""
    return ber.encode(mta.MTABindError(error).subtype(explicitTag=explicit(18)))


def _external(pcid: int, value: bytes, *, direct: str | None = None) -> bytes:
    ext = External()
    if direct is not None:
        ext["direct-reference"] = direct
    ext["indirect-reference"] = pcid
    ext["encoding"]["single-ASN1-type"] = value
    return ber.encode(ext)


def _rtse(choice: str, fill: Callable[[Any], None]) -> bytes:
    apdu = rtse.RTSE_apdus()
    fill(apdu[choice])
    return ber.encode(apdu)


def _rttr(segment: bytes) -> bytes:
    """RTTR-apdu, an OCTET STRING (X.228): written directly, one header."""
    length = len(segment)
    if length < 0x80:
        header = bytes([0x04, length])
    else:
        octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x04, 0x80 | len(octets)]) + octets
    return header + segment


def _user_information(target: Any, pcid: int, rtse_apdu: bytes) -> None:
    # X.227 user-information: EXTERNAL with both references, as PP sends
    ext = ber.decode(_external(pcid, rtse_apdu, direct=pres.BER), External())
    target.append(ext)


# -- the association -----------------------------------------------------------


@dataclass
class _Outgoing:
    transfer_id: int
    segments: list[bytes]
    sent: int = 0  # segments sent
    mip_due: bool = False  # a MIP must precede the next segment
    ended: bool = False  # AE sent
    discarded: bool = False  # ED received, AD sent


@dataclass
class _Incoming:
    transfer_id: int
    data: bytearray = field(default_factory=bytearray)
    end_serial: int | None = None  # AE received: the serial to acknowledge
    rejected: bool = False  # ED sent


class _Violation(OSIError):
    """The peer broke the protocol; the association aborts."""


class P1Association:
    """One end of one P1 association; see the module docstring."""

    def __init__(
        self,
        role: Literal["initiator", "responder"],
        local: Credentials,
        config: AssociationConfig,
        *,
        peer: Credentials | None = None,
    ) -> None:
        if config.checkpoint_size < 0 or config.window_size < 1:
            raise ValueError("checkpoint_size >= 0 and window_size >= 1 required")
        self.role = role
        self.local = local
        self.config = config
        self.peer = peer
        self._transport = TransportConnection(
            role,
            calling_tsap=config.calling_tsap,
            called_tsap=config.called_tsap,
            tpdu_size=config.tpdu_size,
            max_tsdu=config.max_tsdu,
            local_ref=1 if role == "initiator" else 2,
        )
        self._session = sfsm.SessionMachine(role)
        self._state: str = "idle"  # one of State
        self._events: list[Event] = []
        self._limits = dict(config.ber_limits)
        self.peer_name: str | None = None
        self.pcid_acse = PCID_ACSE
        self.pcid_rtse = PCID_MTA_RTSE
        self.pcid_mtse = PCID_MTSE
        # X.228 RT-OPEN: negotiated values (the responder's RTOAC)
        self.checkpoint_size = config.checkpoint_size
        self.window_size = config.window_size
        self.dialogue_mode: Literal["monologue", "twa"] = config.dialogue_mode
        self._contexts: tuple[pres.ContextResult, ...] = ()
        self._seen_contexts: set[str] = set()
        self._next_transfer = 1
        self._next_incoming = 1
        self._queue: deque[tuple[int, bytes]] = deque()
        self._sending: _Outgoing | None = None
        self._incoming: _Incoming | None = None
        self._release_pending = False
        self._peer_wants_turn = False
        self._turn_requested = False
        self._held: deque[TData | TDisconnected] = deque()  # waiting for the user
        self._held_octets = 0

    # -- properties

    @property
    def state(self) -> str:
        return self._state

    @property
    def bound(self) -> bool:
        return self._state == "bound"

    @property
    def busy(self) -> bool:
        """A transfer is outstanding in either direction (or queued)."""
        return bool(self._queue) or self._sending is not None or self._incoming is not None

    @property
    def closed(self) -> bool:
        """Nothing more will be exchanged: close the TCP connection once
        :meth:`data_to_send` is drained (added to the contract)."""
        if self._state == "released" and self.role == "responder":
            # X.225 7.6: the side that receives DISCONNECT (the initiator)
            # releases the transport; the responder waits for its DR (or the
            # connection to close): closing first makes the DR meet a reset
            return False
        return self._state in ("released", "closed")

    @property
    def has_turn(self) -> bool:
        """This side holds the X.228 turn (the session tokens)."""
        return self._session.tokens_here

    # -- I/O

    def data_to_send(self) -> bytes:
        return self._transport.data_to_send()

    def receive(self, data: bytes) -> list[Event]:
        """Feed bytes from TCP; the events they complete."""
        if self._state == "closed":
            return []
        try:
            for tevent in self._transport.receive(data):
                self._transport_event(tevent)
                if self._state == "closed":
                    break
        except (ValueError, PyAsn1Error) as exc:
            self._violation(str(exc))
        return self._take_events()

    def events(self) -> list[Event]:
        """The events caused by service calls since the last :meth:`receive`
        (the responder's Bound after accept_bind, TransferAborted after
        abort); receive() returns them too (added to the contract)."""
        return self._take_events()

    def connection_lost(self) -> list[Event]:
        """The TCP connection closed (added to the contract): Aborted unless
        the association had already ended."""
        if self._state not in ("released", "closed"):
            self._events.append(Aborted("transport connection lost"))
            self._fail_transfers("transport connection lost")
        self._state = "closed"
        self._transport.connection_lost()
        return self._take_events()

    def _take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def _flush(self) -> None:
        if self._transport.state != "open":
            self._session.tsdus_to_send()  # nothing can carry them any more
            return
        for tsdu in self._session.tsdus_to_send():
            self._transport.send_tsdu(tsdu)

    # -- service requests

    def connect(self) -> None:
        """Initiator: queue the transport CR; the CN follows on CC."""
        if self.role != "initiator" or self._state != "idle":
            raise AssociationError(f"connect() by the {self.role} in state {self._state}")
        self._transport.connect()
        self._state = "connecting"

    def accept_bind(self, local: Credentials | None = None) -> None:
        """Responder: AC / CPA / AARE accepted / RTOAC with our MTABindResult,
        naming us with *local* when given (a responder that learns only from
        the bind argument which peer it serves, and so which password to
        present, passes it here)."""
        if not self._expect_bind_requested():
            return
        if local is not None:
            self.local = local
        rtoac = _rtse("rtoac-apdu", self._fill_rtoac)
        apdu = acse.ACSE_apdu()
        aare = apdu["aare"]
        aare["aSO-context-name"] = ID_AC_MTS_TRANSFER
        aare["result"] = "accepted"
        aare["result-source-diagnostic"]["acse-service-user"] = "null"
        _user_information(aare["user-information"], self.pcid_rtse, rtoac)
        cpa = pres.ConnectAccept(
            self._contexts,
            (pres.PDV(self.pcid_acse, ber.encode(apdu)),),
            self._session.requirements,
        )
        self._session.accept(pres.encode_cpa(cpa))
        self._flush()
        self._state = "bound"
        self._events.append(Bound(self.peer_name or ""))
        self._resume()

    def _fill_rtoac(self, rtoac: Any) -> None:
        rtoac["checkpointSize"] = self.checkpoint_size
        rtoac["windowSize"] = self.window_size
        rtoac["connectionDataAC"]["open"] = encode_bind_result(self.local)

    def refuse_bind(self, error: BindErrorName) -> None:
        """Responder: RF / CPR / AARE rejected / RTORJ with the MTABindError."""
        if not self._expect_bind_requested():
            return
        self._refuse(
            "rejected-permanent" if error != "busy" else "rejected-transient",
            "no-reason-given",
            encode_bind_error(error),
        )

    def _refuse(self, result: str, diagnostic: str, bind_error: bytes | None) -> None:
        apdu = acse.ACSE_apdu()
        aare = apdu["aare"]
        aare["aSO-context-name"] = ID_AC_MTS_TRANSFER
        aare["result"] = result
        aare["result-source-diagnostic"]["acse-service-user"] = diagnostic
        if bind_error is not None:

            def fill(rtorj: Any) -> None:
                rtorj["userDataRJ"] = bind_error

            _user_information(aare["user-information"], self.pcid_rtse, _rtse("rtorj-apdu", fill))
        cpr = pres.ConnectReject(self._contexts, (pres.PDV(self.pcid_acse, ber.encode(apdu)),))
        self._session.refuse(pres.encode_cpr(cpr))
        self._flush()
        self._state = "closed"

    def _expect_bind_requested(self) -> bool:
        """True to go on; False when the association ended meanwhile (the
        answer comes too late and is dropped, like confirm's)."""
        if self._state == "closed":
            return False
        if self._state != "bind-requested":
            raise AssociationError(f"no bind to answer in state {self._state}")
        return True

    def transfer(self, apdu: bytes) -> int:
        """Queue one MTS-APDU (its BER) for RT-TRANSFER; returns its id.
        Transfers go one after the other, each once the previous one is
        confirmed or aborted."""
        if self._state not in ("bound",):
            raise AssociationError(f"transfer() in state {self._state}")
        if self.dialogue_mode == "monologue" and self.role != "initiator":
            raise AssociationError("in monologue only the initiator transfers (X.228)")
        if len(apdu) > self.config.max_apdu:
            raise AssociationError(f"APDU of {len(apdu)} octets above max_apdu")
        transfer_id = self._next_transfer
        self._next_transfer = self._next_transfer % MAX_ACTIVITY_NUMBER + 1
        self._queue.append((transfer_id, apdu))
        self._pump()
        return transfer_id

    def confirm(self, transfer_id: int) -> None:
        """The APDU of *transfer_id* is secured: AEA (the sender's confirm)."""
        incoming = self._incoming
        if self._state == "closed":
            return  # the association ended meanwhile; nothing to confirm
        if (
            incoming is None
            or incoming.transfer_id != transfer_id
            or incoming.end_serial is None
            or incoming.rejected
        ):
            raise AssociationError(f"no received transfer {transfer_id} to confirm")
        self._session.activity_end_ack(incoming.end_serial)
        self._incoming = None
        self._flush()
        self._after_transfer()
        self._resume()

    def reject_transfer(self, transfer_id: int, reason: str) -> None:
        """Refuse the received transfer: ED; the sender discards the activity
        (X.225 7.32, X.228 exception reporting) and reports TransferAborted.
        *reason* is local: the session carries only a reason code."""
        incoming = self._incoming
        if self._state == "closed":
            return
        if incoming is None or incoming.transfer_id != transfer_id or incoming.rejected:
            raise AssociationError(f"no received transfer {transfer_id} to reject ({reason})")
        self._session.exception_report(sfsm.REASON_LOCAL_USER_ERROR)
        incoming.rejected = True
        incoming.data = bytearray()
        self._flush()
        self._resume()

    def release(self) -> None:
        """Initiator: RT-CLOSE (FN with RLRQ), once outstanding transfers end."""
        if self.role != "initiator":
            raise AssociationError("only the initiator releases a P1 association (X.228)")
        if self._state != "bound":
            raise AssociationError(f"release() in state {self._state}")
        self._release_pending = True
        self._pump()

    def abort(self, reason: str = "") -> None:
        """RT-U-ABORT: AB with ABRT { RTAB userError } and DR; no event."""
        self._abort(_RTAB_USER_ERROR)
        self._fail_transfers(f"association aborted locally{': ' + reason if reason else ''}")

    # -- internals: sending

    def _abort(self, rtab_reason: str) -> None:
        if self._state == "closed":
            return
        if self._session.state in ("wait-ac", "wait-accept", "open", "wait-dn"):
            self._session.abort(self._abort_user_data(rtab_reason))
            self._flush()
        self._transport.disconnect()
        self._state = "closed"

    def _abort_user_data(self, rtab_reason: str) -> bytes:
        def fill(rtab: Any) -> None:
            rtab["abortReason"] = rtab_reason

        apdu = acse.ACSE_apdu()
        abrt = apdu["abrt"]
        abrt["abort-source"] = "acse-service-user"
        _user_information(abrt["user-information"], self.pcid_rtse, _rtse("rtab-apdu", fill))
        return pres.encode_aru([pres.PDV(self.pcid_acse, ber.encode(apdu))])

    def _fail_transfers(self, reason: str) -> None:
        """Every transfer we were sending or had queued is lost."""
        if self._sending is not None and not self._sending.discarded:
            self._events.append(TransferAborted(self._sending.transfer_id, reason))
        self._sending = None
        while self._queue:
            transfer_id, _apdu = self._queue.popleft()
            self._events.append(TransferAborted(transfer_id, reason))
        self._incoming = None

    def _pump(self) -> None:
        """Send what the turn, the window and the queue allow."""
        if self._state != "bound":
            return
        if self._sending is None and self._queue:
            if not self._session.tokens_here:
                self._ask_turn()
                return
            self._start_transfer()
        sending = self._sending
        if sending is not None and not sending.discarded and not sending.ended:
            self._send_segments(sending)
        if self._sending is None and not self._queue and self._incoming is None:
            self._when_idle()
        self._flush()

    def _start_transfer(self) -> None:
        transfer_id, apdu = self._queue.popleft()
        value = _external(self.pcid_mtse, apdu)
        step = self.checkpoint_size * 1024
        # checkpointSize 0: no checkpoints, the whole value in one RTTR
        segments = [value[i : i + step] for i in range(0, len(value), step)] if step else [value]
        self._session.activity_start(ber.encode(univ.Integer(transfer_id)))
        self._sending = _Outgoing(transfer_id, segments)

    def _send_segments(self, sending: _Outgoing) -> None:
        session = self._session
        while sending.sent < len(sending.segments):
            if sending.mip_due:
                # X.228: a checkpoint after each segment, at most windowSize
                # of them unconfirmed
                if session.vm - session.va >= self.window_size:
                    return
                session.minor_sync()
                sending.mip_due = False
            pdv = pres.PDV(self.pcid_rtse, _rttr(sending.segments[sending.sent]))
            session.data(pres.encode_user_data([pdv]))
            sending.sent += 1
            sending.mip_due = sending.sent < len(sending.segments)
        session.activity_end()
        sending.ended = True

    def _when_idle(self) -> None:
        """Nothing outstanding: hand the turn over, or release."""
        if not self._session.tokens_here:
            if self._release_pending:
                self._ask_turn()
            return
        if self._release_pending:
            self._send_release()
        elif self._peer_wants_turn and self.dialogue_mode == "twa":
            self._peer_wants_turn = False
            self._session.give_tokens()

    def _ask_turn(self) -> None:
        if self._turn_requested or self.dialogue_mode != "twa":
            return
        self._turn_requested = True
        rttp = _rtse_value("rttp-apdu", 0)
        self._session.please_tokens(pres.encode_user_data([pres.PDV(self.pcid_rtse, rttp)]))

    def _send_release(self) -> None:
        apdu = acse.ACSE_apdu()
        apdu["rlrq"]["reason"] = "normal"
        self._session.release(pres.encode_user_data([pres.PDV(self.pcid_acse, ber.encode(apdu))]))
        self._release_pending = False
        self._state = "releasing"

    def _after_transfer(self) -> None:
        self._pump()

    # -- internals: receiving

    def _violation(self, reason: str) -> None:
        self._events.append(ProtocolError(reason))
        self._abort(_RTAB_PROTOCOL_ERROR)
        self._fail_transfers(f"protocol error: {reason}")
        self._events.append(Aborted(f"protocol error: {reason}"))

    def _decode(self, data: bytes, spec: Any) -> Any:
        return ber.decode(data, spec, **self._limits)

    def _transport_event(
        self, event: TConnected | TData | TDisconnected | TransportFailed
    ) -> None:
        if isinstance(event, TransportFailed):
            self._events.append(ProtocolError(event.reason))
            self._fail_transfers(f"protocol error: {event.reason}")
            self._state = "closed"
            self._events.append(Aborted(f"protocol error: {event.reason}"))
        elif self._held and isinstance(event, TData | TDisconnected):
            self._hold(event)  # keep the order of what is already held
        elif isinstance(event, TDisconnected):
            self._disconnected(event)
        elif isinstance(event, TConnected):
            self._events.append(TransportConnected())
            if self.role == "initiator":
                self._send_connect()
                self._state = "binding"
            else:
                self._state = "awaiting-connect"
        elif self._awaiting_user():
            self._hold(event)
        else:
            self._session_tsdu(event.tsdu)

    def _session_tsdu(self, tsdu: bytes) -> None:
        for sevent in self._session.receive(tsdu):
            self._session_event(sevent)
            if self._state == "closed":
                break
        self._flush()

    def _awaiting_user(self) -> bool:
        """The user must answer a bind or confirm a transfer first: a peer
        sends nothing but an abort meanwhile (X.228: the next activity
        waits for the AEA), so what arrives is held, like h11's pause."""
        incoming = self._incoming
        return self._state == "bind-requested" or (
            incoming is not None and incoming.end_serial is not None and not incoming.rejected
        )

    def _hold(self, event: TData | TDisconnected) -> None:
        if isinstance(event, TData):
            if event.tsdu[:1] == bytes([session.AB]):
                self._session_tsdu(event.tsdu)  # an abort is never held
                return
            self._held_octets += len(event.tsdu)
            if self._held_octets > MAX_HELD:
                raise _Violation(f"more than {MAX_HELD} octets sent while the peer must wait")
        self._held.append(event)

    def _resume(self) -> None:
        """Process what was held, now that the user has answered."""
        try:
            while self._held and not self._awaiting_user() and self._state != "closed":
                event = self._held.popleft()
                if isinstance(event, TDisconnected):
                    self._disconnected(event)
                else:
                    self._held_octets -= len(event.tsdu)
                    self._session_tsdu(event.tsdu)
        except (ValueError, PyAsn1Error) as exc:
            self._violation(str(exc))
        if self._state == "closed":
            self._held.clear()

    def _disconnected(self, event: TDisconnected) -> None:
        previous = self._state
        self._state = "closed"
        if previous in ("released", "closed"):
            return
        what = "ER" if event.error else "DR"
        reason = f"transport disconnected ({what} reason {event.reason})"
        if previous in ("connecting", "binding") and self.role == "initiator":
            self._events.append(BindRefused(reason))
            return
        self._fail_transfers(reason)
        self._events.append(Aborted(reason))

    def _send_connect(self) -> None:
        def fill(rtorq: Any) -> None:
            rtorq["checkpointSize"] = self.config.checkpoint_size
            rtorq["windowSize"] = self.config.window_size
            rtorq["dialogueMode"] = self.config.dialogue_mode
            rtorq["connectionDataRQ"]["open"] = encode_bind_argument(self.local)

        apdu = acse.ACSE_apdu()
        aarq = apdu["aarq"]
        aarq["aSO-context-name"] = ID_AC_MTS_TRANSFER
        _user_information(aarq["user-information"], PCID_MTA_RTSE, _rtse("rtorq-apdu", fill))
        cp = pres.ConnectRequest(
            CONTEXTS,
            (pres.PDV(PCID_ACSE, ber.encode(apdu)),),
            self._session.requirements,
            called_selector=self.config.called_psap or None,
        )
        self._session.connect(pres.encode_cp(cp), self.config.called_ssap)
        self._flush()

    def _session_event(self, event: sfsm.SessionEvent) -> None:
        if isinstance(event, sfsm.SAbort):
            self._peer_abort(event.user_data)
        elif isinstance(event, sfsm.SConnect):
            self._connect_indication(event)
        elif isinstance(event, sfsm.SAccept):
            self._connect_confirm(event)
        elif isinstance(event, sfsm.SRefuse):
            self._refused(event)
        elif isinstance(event, sfsm.SRelease):
            self._release_indication(event.user_data)
        elif isinstance(event, sfsm.SDisconnect):
            self._release_confirm(event.user_data)
        elif self._state not in ("bound", "releasing"):
            raise _Violation(f"{type(event).__name__} before the association is bound")
        else:
            self._transfer_event(event)

    # association establishment (X.226 CP, X.227 AARQ, X.228 RTORQ, X.411 bind)

    def _connect_indication(self, event: sfsm.SConnect) -> None:
        if self._state != "awaiting-connect":
            raise _Violation("CONNECT out of sequence")
        cp = pres.decode_cp(event.user_data)
        self._contexts = tuple(self._context_result(c) for c in cp.contexts)
        acse_pdv = [p for p in cp.user_data if p.context == self.pcid_acse]
        if len(acse_pdv) != 1 or not self._has_contexts():
            raise _Violation("CP without the ACSE, MTA-RTSE and MTSE contexts and one AARQ")
        required = sfsm.SUPPORTED
        if event.requirements & required != required:
            raise _Violation(f"session requirements {event.requirements:#06x} lack 0x0249")
        aarq = self._decode(acse_pdv[0].value, acse.ACSE_apdu())
        if aarq.getName() != "aarq":
            raise _Violation(f"{aarq.getName()} in the CP, not AARQ")
        aarq = aarq["aarq"]
        if str(aarq["aSO-context-name"]) != ID_AC_MTS_TRANSFER:
            self._refuse("rejected-permanent", "application-context-name-not-supported", None)
            self._events.append(
                ProtocolError(f"application context {aarq['aSO-context-name']} not supported")
            )
            return
        rtorq = self._rtse_of(aarq, "rtorq-apdu")
        self.dialogue_mode = "twa" if int(rtorq["dialogueMode"]) == 1 else "monologue"
        # X.228 RT-OPEN: the responder may lower the checkpoint and window sizes
        proposed_ckpt = int(rtorq["checkpointSize"])
        self.checkpoint_size = (
            min(proposed_ckpt, self.config.checkpoint_size)
            if proposed_ckpt and self.config.checkpoint_size
            else 0
        )
        self.window_size = max(1, min(int(rtorq["windowSize"]), self.config.window_size))
        connection = rtorq["connectionDataRQ"]
        if connection.getName() != "open":
            raise _Violation("RTORQ recovers a connection; recovery is not offered")
        argument = self._decode(
            bytes(connection["open"]), mta.MTABindArgument().subtype(explicitTag=explicit(16))
        )
        if argument.getName() == "authenticated":
            authenticated = argument["authenticated"]
            credentials = authenticated["initiator-credentials"]
            if credentials.getName() != "simple":
                raise _Violation(f"{credentials.getName()} credentials are not supported")
            name = str(authenticated["initiator-name"])
            password = _password_of(credentials["simple"])
        else:
            name, password = "", ""
        self.peer_name = name or None
        self._state = "bind-requested"
        self._events.append(BindRequested(name, password))

    def _context_result(self, definition: pres.ContextDefinition) -> pres.ContextResult:
        known = {ID_AS_ACSE: "acse", ID_AS_MTA_RTSE: "rtse", ID_AS_MTSE: "mtse"}
        role = known.get(definition.abstract_syntax)
        # PP lists abstract syntaxes only and relies on BER (P1-WIRE.md)
        ber_ok = not definition.transfer_syntaxes or pres.BER in definition.transfer_syntaxes
        if role is None or not ber_ok:
            # X.226 Result provider-rejection, reason abstract/transfer syntax not supported
            return pres.ContextResult(2, None, 2 if role is None else 3)
        setattr(self, f"pcid_{role}", definition.identifier)
        self._seen_contexts.add(role)
        return pres.ContextResult()

    def _has_contexts(self) -> bool:
        return self._seen_contexts == {"acse", "rtse", "mtse"}

    def _rtse_of(self, apdu: Any, expected: str) -> Any:
        """The RTSE APDU in the first EXTERNAL of an ACSE user-information."""
        info = apdu["user-information"]
        if not info.isValue or len(info) < 1:
            raise _Violation(f"no user-information carrying {expected}")
        external = info[0]
        encoding = external["encoding"]
        if encoding.getName() != "single-ASN1-type":
            raise _Violation(f"user-information encoded as {encoding.getName()}")
        value = self._decode(bytes(encoding["single-ASN1-type"]), rtse.RTSE_apdus())
        if value.getName() != expected:
            raise _Violation(f"{value.getName()} where {expected} was expected")
        return value[expected]

    def _connect_confirm(self, event: sfsm.SAccept) -> None:
        cpa = pres.decode_cpa(event.user_data)
        if len(cpa.results) != len(CONTEXTS) or any(r.result != 0 for r in cpa.results):
            self._bind_failed("the responder did not accept the three presentation contexts")
            return
        pdvs = [p for p in cpa.user_data if p.context == PCID_ACSE]
        if len(pdvs) != 1:
            raise _Violation("CPA without exactly one AARE")
        apdu = self._decode(pdvs[0].value, acse.ACSE_apdu())
        if apdu.getName() != "aare":
            raise _Violation(f"{apdu.getName()} in the CPA, not AARE")
        aare = apdu["aare"]
        if int(aare["result"]) != 0:
            self._bind_failed(self._aare_reason(aare))
            return
        rtoac = self._rtse_of(aare, "rtoac-apdu")
        checkpoint = int(rtoac["checkpointSize"])
        if checkpoint > self.config.checkpoint_size or (
            checkpoint and not self.config.checkpoint_size
        ):
            raise _Violation(f"RTOAC raises checkpointSize to {checkpoint}")
        self.checkpoint_size = checkpoint
        self.window_size = max(1, min(int(rtoac["windowSize"]), self.config.window_size))
        connection = rtoac["connectionDataAC"]
        if connection.getName() != "open":
            raise _Violation("RTOAC without open connection data")
        result = self._decode(
            bytes(connection["open"]), mta.MTABindResult().subtype(explicitTag=explicit(17))
        )
        problem, name = self._check_bind_result(result)
        if problem:
            self._bind_failed(problem)
            return
        self.peer_name = name
        self._state = "bound"
        self._events.append(Bound(name))
        self._pump()

    def _check_bind_result(self, result: Any) -> tuple[str, str]:
        """(what is wrong with the responder's MTABindResult or "", its name)."""
        if result.getName() != "authenticated":
            if self.peer is not None:
                return "the responder sent an unauthenticated bind result", ""
            return "", ""
        authenticated = result["authenticated"]
        credentials = authenticated["responder-credentials"]
        name = str(authenticated["responder-name"])
        if credentials.getName() != "simple":
            return f"{credentials.getName()} responder credentials are not supported", name
        if self.peer is None:
            return "", name
        password = _password_of(credentials["simple"])
        if name != self.peer.mta_name or _octets(password) != _octets(self.peer.password):
            return f"responder credentials for {name!r} do not match", name
        return "", name

    def _bind_failed(self, reason: str) -> None:
        self._events.append(BindRefused(reason))
        self._abort(_RTAB_USER_ERROR)

    def _aare_reason(self, aare: Any) -> str:
        diagnostic = aare["result-source-diagnostic"]
        detail = ""
        if diagnostic.isValue:
            name = diagnostic.getName()
            detail = f" ({name} {diagnostic[name].prettyPrint()})"
        reason = f"association {aare['result'].prettyPrint()}{detail}"
        info = aare["user-information"]
        if info.isValue and len(info):
            with _suppress_decoding():
                rtorj = self._rtse_of(aare, "rtorj-apdu")
                reason = self._rtorj_reason(rtorj) or reason
        return reason

    def _rtorj_reason(self, rtorj: Any) -> str:
        if rtorj["userDataRJ"].isValue:
            data = bytes(rtorj["userDataRJ"])
            error = self._decode(data, mta.MTABindError().subtype(explicitTag=explicit(18)))
            return str(error.prettyPrint())
        if rtorj["refuseReason"].isValue:
            return f"RTORJ {rtorj['refuseReason'].prettyPrint()}"
        return ""

    def _refused(self, event: sfsm.SRefuse) -> None:
        self._transport.disconnect()
        self._state = "closed"
        reason = f"session refused (reason code {event.reason})"
        if event.reason == sfsm.REFUSE_BY_USER and event.user_data:
            try:
                cpr = pres.decode_cpr(event.user_data)
                if cpr.provider_reason is not None:
                    reason = f"presentation provider reason {cpr.provider_reason}"
                for pdv in cpr.user_data:
                    apdu = self._decode(pdv.value, acse.ACSE_apdu())
                    if apdu.getName() == "aare":
                        reason = self._aare_reason(apdu["aare"])
            except (ValueError, PyAsn1Error) as exc:
                reason = f"{reason}; undecodable refusal: {exc}"
        self._events.append(BindRefused(reason))

    # data transfer (X.228 RT-TRANSFER over activities)

    def _transfer_event(self, event: sfsm.SessionEvent) -> None:
        if isinstance(event, sfsm.SActivityStart):
            if self._incoming is not None:
                raise _Violation("ACTIVITY START inside a transfer")
            self._incoming = _Incoming(self._next_incoming)
            self._next_incoming += 1
        elif isinstance(event, sfsm.SData):
            self._segment(event.user_data)
        elif isinstance(event, sfsm.SMinorSync):
            # checkpoint: held in memory, so confirmed at once (X.228)
            self._session.minor_sync_ack(event.serial)
        elif isinstance(event, sfsm.SActivityEnd):
            self._transfer_end(event.serial)
        elif isinstance(event, sfsm.SActivityDiscard):
            self._session.activity_discard_ack()
            self._incoming = None
            self._pump()
        elif isinstance(event, sfsm.SMinorSyncAck):
            self._pump()
        elif isinstance(event, sfsm.SActivityEndAck):
            sending = self._sending
            if sending is None:
                raise _Violation("ACTIVITY END ACK without a transfer")
            self._sending = None
            self._events.append(TransferConfirmed(sending.transfer_id))
            self._pump()
        elif isinstance(event, sfsm.SException):
            sending = self._sending
            if sending is None:
                raise _Violation("EXCEPTION DATA without a transfer")
            sending.discarded = True
            self._session.activity_discard(sfsm.REASON_LOCAL_USER_ERROR)
            self._events.append(
                TransferAborted(
                    sending.transfer_id,
                    f"refused by the receiver (session exception reason {event.reason})",
                )
            )
        elif isinstance(event, sfsm.SActivityDiscardAck):
            self._sending = None
            self._pump()
        elif isinstance(event, sfsm.STokensGiven):
            self._turn_requested = False
            self._pump()
        elif isinstance(event, sfsm.STokensPlease):
            self._peer_wants_turn = True
            self._pump()

    def _segment(self, user_data: bytes) -> None:
        incoming = self._incoming
        if incoming is None:
            raise _Violation("data outside a transfer")
        for pdv in pres.decode_user_data(user_data, max_total=self.config.max_tsdu):
            if pdv.context != self.pcid_rtse:
                raise _Violation(f"P-DATA in presentation context {pdv.context}")
            limits = {**self._limits, "max_length": len(pdv.value), "max_total": len(pdv.value)}
            apdu = ber.decode(pdv.value, rtse.RTSE_apdus(), **limits)
            if apdu.getName() != "rttr-apdu":
                raise _Violation(f"{apdu.getName()} in a transfer, not RTTR")
            if incoming.rejected:
                continue
            segment = bytes(apdu["rttr-apdu"])
            if len(incoming.data) + len(segment) > self.config.max_apdu + EXTERNAL_OVERHEAD:
                raise _Violation(f"transfer larger than max_apdu ({self.config.max_apdu})")
            incoming.data += segment

    def _transfer_end(self, serial: int) -> None:
        incoming = self._incoming
        if incoming is None:
            raise _Violation("ACTIVITY END without a transfer")
        total = self.config.max_apdu + EXTERNAL_OVERHEAD
        limits = {**self._limits, "max_length": total, "max_total": total}
        external = ber.decode(bytes(incoming.data), External(), **limits)
        encoding = external["encoding"]
        if encoding.getName() != "single-ASN1-type":
            raise _Violation(f"MTS-APDU encoded as {encoding.getName()}")
        reference = external["indirect-reference"]
        if reference.isValue and int(reference) != self.pcid_mtse:
            raise _Violation(f"transfer in presentation context {int(reference)}, not MTSE")
        incoming.data = bytearray()
        incoming.end_serial = serial
        self._events.append(
            TransferReceived(incoming.transfer_id, bytes(encoding["single-ASN1-type"]))
        )

    # release and abort (X.227 RLRQ/RLRE/ABRT, X.228 RT-CLOSE / RT-ABORT)

    def _release_indication(self, user_data: bytes) -> None:
        if self.role != "responder" or self._state != "bound" or self.busy:
            raise _Violation("FINISH while the association cannot be released")
        self._expect_acse(user_data, "rlrq")
        apdu = acse.ACSE_apdu()
        apdu["rlre"]["reason"] = "normal"
        self._session.disconnect(
            pres.encode_user_data([pres.PDV(self.pcid_acse, ber.encode(apdu))])
        )
        self._flush()
        self._state = "released"
        self._events.append(Released())

    def _release_confirm(self, user_data: bytes) -> None:
        self._expect_acse(user_data, "rlre")
        # X.225 7.6: the side that receives DISCONNECT releases the transport
        self._transport.disconnect()
        self._state = "released"
        self._events.append(Released())

    def _expect_acse(self, user_data: bytes, choice: str) -> None:
        pdvs = pres.decode_user_data(user_data)
        if len(pdvs) != 1 or pdvs[0].context != self.pcid_acse:
            raise _Violation(f"{choice.upper()} expected in the ACSE context")
        apdu = self._decode(pdvs[0].value, acse.ACSE_apdu())
        if apdu.getName() != choice:
            raise _Violation(f"{apdu.getName()} where {choice} was expected")

    def _peer_abort(self, user_data: bytes) -> None:
        reason = "aborted by the peer"
        if user_data:
            with _suppress_decoding():
                reason = self._abort_reason(user_data) or reason
        self._transport.disconnect()
        previous = self._state
        self._state = "closed"
        self._fail_transfers(reason)
        if previous in ("binding",) and self.role == "initiator":
            self._events.append(BindRefused(reason))
        else:
            self._events.append(Aborted(reason))

    def _abort_reason(self, user_data: bytes) -> str:
        for pdv in pres.decode_abort(user_data):
            apdu = self._decode(pdv.value, acse.ACSE_apdu())
            if apdu.getName() != "abrt":
                continue
            abrt = apdu["abrt"]
            reason = f"aborted by the peer ({abrt['abort-source'].prettyPrint()})"
            info = abrt["user-information"]
            if info.isValue and len(info):
                rtab = self._rtse_of(abrt, "rtab-apdu")
                if rtab["abortReason"].isValue:
                    reason = f"aborted by the peer (RTAB {rtab['abortReason'].prettyPrint()})"
            return reason
        return ""


def _rtse_value(choice: str, value: Any) -> bytes:
    apdu = rtse.RTSE_apdus()
    apdu[choice] = value
    return ber.encode(apdu)


def _octets(password: str | bytes) -> bytes:
    return password if isinstance(password, bytes) else password.encode("ascii", "replace")


def _suppress_decoding() -> contextlib.suppress:
    """Ignore a decoding problem in a best-effort explanation (a reason text)."""
    return contextlib.suppress(ValueError, PyAsn1Error)
