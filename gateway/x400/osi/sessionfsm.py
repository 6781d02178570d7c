"""The X.225 session protocol machine as P1 uses it -- sans-I/O.

One :class:`SessionMachine` per session connection (one per transport
connection here: no reuse, X.225 7.1.4 is not offered).  TSDUs from the
transport go in through :meth:`SessionMachine.receive`, which decodes them
(:mod:`gateway.x400.osi.session`), checks that each SPDU is allowed in the
current state and returns session events; the request methods queue the
TSDUs to send, collected with :meth:`SessionMachine.tsdus_to_send`.

The functional units are those RTSE asks for (X.228 clause 9 mapping onto
the session service; ``0x0249`` on the wire): kernel, half-duplex,
minor-synchronize, activity-management and exceptions, protocol version 2.
What is checked, by X.225 (11/1995) clause and SPDU name:

- connection establishment (7.1 CONNECT / ACCEPT / REFUSE);
- the tokens (7.11 GIVE TOKENS, 7.12 PLEASE TOKENS): with token setting 0
  every available token -- data, synchronize-minor, major/activity -- starts
  with the initiator; RTSE moves them together (the "turn", X.228 RT-TURN-GIVE),
  so one flag says which side holds them;
- data transfer (7.3 DATA TRANSFER): only by the token holder and, with
  activity management, only inside an activity;
- activities (7.26 ACTIVITY START, 7.28 ACTIVITY END / END ACK) and minor
  synchronization (7.15 MINOR SYNC POINT / ACK): the serial number V(M)
  starts at 1 with each activity, every MINOR SYNC POINT and the ACTIVITY
  END carry V(M), acknowledgements name a serial number already sent;
- exceptions (7.32 EXCEPTION DATA): the receiver of an activity reports a
  problem, then discards what arrives until the token holder discards the
  activity (7.25 ACTIVITY DISCARD / ACK);
- release (7.5 FINISH / 7.6 DISCONNECT) and abort (7.8 ABORT).

A peer's SPDU that the state does not allow raises :class:`SessionProtocolError`
(an OSIError); the caller aborts the connection.  Resynchronization, typed
data, capability data and expedited data are not offered, so their SPDUs are
protocol errors too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.x400.osi import session
from gateway.x400.osi.errors import OSIError
from gateway.x400.osi.session import SPDU, Parameter

__all__ = [
    "ED",
    "REASON_LOCAL_USER_ERROR",
    "REASON_NO_SPECIFIC",
    "SAbort",
    "SAccept",
    "SActivityDiscard",
    "SActivityDiscardAck",
    "SActivityEnd",
    "SActivityEndAck",
    "SActivityStart",
    "SConnect",
    "SData",
    "SDisconnect",
    "SException",
    "SMinorSync",
    "SMinorSyncAck",
    "SRefuse",
    "SRelease",
    "STokensGiven",
    "STokensPlease",
    "SessionEvent",
    "SessionMachine",
    "SessionProtocolError",
]

ED = 48  # X.225 8.3, EXCEPTION DATA
AD = 57  # ACTIVITY DISCARD
ADA = 58  # ACTIVITY DISCARD ACK
PT = 2  # PLEASE TOKENS

# X.225 8.3, Token Item (GIVE TOKENS, PLEASE TOKENS): one bit per token --
# data (bit 1), synchronize-minor (bit 3), major/activity (bit 5)
TOKENS_RTSE = 0x15
# X.225 8.3, Reason Code of EXCEPTION DATA and ACTIVITY DISCARD
REASON_NO_SPECIFIC = 0
REASON_TEMPORARILY_UNABLE = 1
REASON_LOCAL_USER_ERROR = 5
# X.225 8.3, REFUSE Reason Code: rejection by the called SS-user, the user
# data follows the code octet
REFUSE_BY_USER = 2
# Functional units this machine implements (X.225 8.3, Session User Requirements)
SUPPORTED = session.SESSION_REQUIREMENTS_RTSE

State = Literal["idle", "wait-ac", "wait-accept", "open", "wait-dn", "closed"]


class SessionProtocolError(OSIError):
    """An SPDU the session state does not allow."""


@dataclass(frozen=True)
class SConnect:
    """S-CONNECT indication (CN): the CP in *user_data*."""

    user_data: bytes
    requirements: int
    versions: int


@dataclass(frozen=True)
class SAccept:
    """S-CONNECT confirm, accepted (AC)."""

    user_data: bytes
    requirements: int


@dataclass(frozen=True)
class SRefuse:
    """S-CONNECT confirm, refused (RF): the Reason Code's first octet and the
    user data after it (a CPR-PPDU for a refusal by the SS-user)."""

    reason: int
    user_data: bytes


@dataclass(frozen=True)
class SData:
    user_data: bytes


@dataclass(frozen=True)
class SActivityStart:
    activity_id: bytes


@dataclass(frozen=True)
class SMinorSync:
    serial: int


@dataclass(frozen=True)
class SMinorSyncAck:
    serial: int


@dataclass(frozen=True)
class SActivityEnd:
    serial: int


@dataclass(frozen=True)
class SActivityEndAck:
    serial: int


@dataclass(frozen=True)
class SException:
    """S-U-EXCEPTION-REPORT indication (ED) on the token holder's side."""

    reason: int


@dataclass(frozen=True)
class SActivityDiscard:
    reason: int


@dataclass(frozen=True)
class SActivityDiscardAck:
    pass


@dataclass(frozen=True)
class STokensGiven:
    """S-TOKEN-GIVE indication: this side now holds the tokens (the turn)."""


@dataclass(frozen=True)
class STokensPlease:
    """S-TOKEN-PLEASE indication: the peer asks for the turn (RTTP in *user_data*)."""

    user_data: bytes


@dataclass(frozen=True)
class SRelease:
    """S-RELEASE indication (FN)."""

    user_data: bytes


@dataclass(frozen=True)
class SDisconnect:
    """S-RELEASE confirm (DN)."""

    user_data: bytes


@dataclass(frozen=True)
class SAbort:
    """S-U-ABORT / S-P-ABORT indication (AB)."""

    user_data: bytes


SessionEvent = (
    SConnect
    | SAccept
    | SRefuse
    | SData
    | SActivityStart
    | SMinorSync
    | SMinorSyncAck
    | SActivityEnd
    | SActivityEndAck
    | SException
    | SActivityDiscard
    | SActivityDiscardAck
    | STokensGiven
    | STokensPlease
    | SRelease
    | SDisconnect
    | SAbort
)


def _reason(spdu: SPDU) -> int:
    value = spdu.get(session.PI_REASON_CODE)
    return value[0] if value else REASON_NO_SPECIFIC


def _serial(spdu: SPDU) -> int:
    serial = session.serial_number(spdu)
    if serial is None:
        raise SessionProtocolError(f"SPDU {spdu.si} without its Serial Number")
    return serial


class SessionMachine:
    """The session protocol machine of one side of a session connection."""

    def __init__(self, role: Literal["initiator", "responder"]) -> None:
        self.role = role
        self.state: str = "idle"  # one of State
        self.requirements = SUPPORTED
        self.version = session.VERSION_2
        # X.225 7.1: token setting 0 puts every token on the initiator's side
        self.tokens_here = role == "initiator"
        self.in_activity = False
        self.vm = 1  # V(M): the next serial number (X.225 7.15)
        self.va = 1  # V(A): the lowest serial number not yet acknowledged
        self.wait_aea: int | None = None  # ACTIVITY END sent, serial awaited
        self.exception = False  # EXCEPTION DATA sent, awaiting ACTIVITY DISCARD
        self.wait_ada = False  # ACTIVITY DISCARD sent
        self._out: list[bytes] = []

    # -- output

    def tsdus_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def _require(self, condition: bool, what: str) -> None:
        if not condition:
            raise OSIError(f"session: {what} not allowed now (state {self.state})")

    # -- requests (X.225 clause 7, sending side)

    def connect(self, user_data: bytes, called_selector: bytes = b"") -> None:
        self._require(self.role == "initiator" and self.state == "idle", "CONNECT")
        # the CN real initiators send (P1-WIRE.md): versions 1 and 2, token
        # setting 0, TSDU maximum sizes unlimited; a called session selector
        # only when the peer is configured with one (X.225 8.3.1.x)
        self._out.append(
            session.connect(
                user_data,
                tsdu_maximum_size=(0, 0),
                called_selector=called_selector or None,
            )
        )
        self.state = "wait-ac"

    def accept(self, user_data: bytes) -> None:
        self._require(self.state == "wait-accept", "ACCEPT")
        self._out.append(
            session.accept(user_data, requirements=self.requirements, tsdu_maximum_size=(0, 0))
        )
        self.state = "open"

    def refuse(self, user_data: bytes) -> None:
        """RF with Reason Code 2, rejection by the SS-user; the transport is released."""
        self._require(self.state == "wait-accept", "REFUSE")
        self._out.append(
            session.refuse(
                bytes([REFUSE_BY_USER]) + user_data,
                requirements=self.requirements,
                version=self.version,
            )
        )
        self.state = "closed"

    def activity_start(self, activity_id: bytes) -> None:
        self._require(self._may_send() and not self.in_activity, "ACTIVITY START")
        self._out.append(session.activity_start(activity_id))
        self.in_activity = True
        self.vm = self.va = 1

    def data(self, user_data: bytes) -> None:
        self._require(self._may_send() and self.in_activity, "DATA TRANSFER")
        self._out.append(session.data_transfer(user_data))

    def minor_sync(self) -> int:
        """MIP with explicit confirmation; returns its serial number."""
        self._require(self._may_send() and self.in_activity, "MINOR SYNC POINT")
        serial = self.vm
        self._out.append(session.minor_sync(serial))
        self.vm += 1
        return serial

    def activity_end(self) -> int:
        self._require(self._may_send() and self.in_activity, "ACTIVITY END")
        serial = self.vm
        self._out.append(session.activity_end(serial))
        self.wait_aea = serial
        return serial

    def minor_sync_ack(self, serial: int) -> None:
        self._require(self._receiving_activity(), "MINOR SYNC ACK")
        self._out.append(session.minor_sync_ack(serial))

    def activity_end_ack(self, serial: int) -> None:
        self._require(self._receiving_activity(), "ACTIVITY END ACK")
        self._out.append(session.activity_end_ack(serial))
        self.in_activity = False
        self.vm = serial + 1

    def exception_report(self, reason: int = REASON_LOCAL_USER_ERROR) -> None:
        """ED: the receiver refuses the activity (X.225 7.32)."""
        self._require(self._receiving_activity(), "EXCEPTION DATA")
        params = (Parameter(session.PI_REASON_CODE, bytes([reason])),)
        self._out.append(session.encode(SPDU(ED, params)))
        self.exception = True

    def activity_discard(self, reason: int = REASON_LOCAL_USER_ERROR) -> None:
        self._require(
            self.state == "open" and self.tokens_here and self.in_activity and not self.wait_ada,
            "ACTIVITY DISCARD",
        )
        params = (Parameter(session.PI_REASON_CODE, bytes([reason])),)
        self._out.append(session.encode(SPDU(AD, params)))
        self.wait_ada = True
        self.wait_aea = None

    def activity_discard_ack(self) -> None:
        self._require(self.state == "open" and self.in_activity, "ACTIVITY DISCARD ACK")
        self._out.append(session.encode(SPDU(ADA)))
        self.in_activity = False
        self.exception = False

    def give_tokens(self) -> None:
        """GT with every token: the turn passes (X.228 RT-TURN-GIVE)."""
        self._require(self._may_send() and not self.in_activity, "GIVE TOKENS")
        params = (Parameter(session.PI_TOKEN_ITEM, bytes([TOKENS_RTSE])),)
        self._out.append(session.encode(SPDU(session.GT, params)))
        self.tokens_here = False

    def please_tokens(self, user_data: bytes) -> None:
        """PT for every token, the RTTP in the user data (X.228 RT-TURN-PLEASE)."""
        self._require(self.state == "open" and not self.tokens_here, "PLEASE TOKENS")
        params = (
            Parameter(session.PI_TOKEN_ITEM, bytes([TOKENS_RTSE])),
            Parameter(session.PGI_USER_DATA, user_data),
        )
        self._out.append(session.encode(SPDU(PT, params)))

    def release(self, user_data: bytes) -> None:
        """FN: requires every token and no activity (X.225 7.5)."""
        self._require(self._may_send() and not self.in_activity, "FINISH")
        self._out.append(session.finish(user_data))
        self.state = "wait-dn"

    def disconnect(self, user_data: bytes) -> None:
        self._require(self.state == "open", "DISCONNECT")
        self._out.append(session.disconnect(user_data))
        self.state = "closed"

    def abort(self, user_data: bytes | None = None) -> None:
        """AB releasing the transport (X.225 7.8); allowed in any open state."""
        if self.state in ("wait-ac", "wait-accept", "open", "wait-dn"):
            self._out.append(session.abort(user_data))
        self.state = "closed"

    def _may_send(self) -> bool:
        return (
            self.state == "open"
            and self.tokens_here
            and self.wait_aea is None
            and not self.wait_ada
        )

    def _receiving_activity(self) -> bool:
        return self.state == "open" and self.in_activity and not self.tokens_here

    # -- indications (X.225 clause 7, receiving side)

    def receive(self, tsdu: bytes) -> list[SessionEvent]:
        """The events of one TSDU; SessionProtocolError (or another OSIError)
        for an SPDU that is malformed or not allowed now."""
        if self.state == "closed":
            return []
        events: list[SessionEvent] = []
        for spdu in session.decode(tsdu):
            event = self._spdu(spdu)
            if event is not None:
                events.append(event)
            if self.state == "closed":
                break
        return events

    def _spdu(self, spdu: SPDU) -> SessionEvent | None:
        si = spdu.si
        if si == session.AB:
            self.state = "closed"
            return SAbort(spdu.user_data)
        if self.state == "idle":
            if self.role == "responder" and si == session.CN:
                return self._connect(spdu)
            raise SessionProtocolError(f"SPDU {si} before CONNECT")
        if self.state == "wait-ac":
            return self._connect_response(spdu)
        if self.state == "wait-accept":
            raise SessionProtocolError(f"SPDU {si} before the CONNECT is answered")
        if self.state == "wait-dn":
            if si == session.DN:
                self.state = "closed"
                return SDisconnect(spdu.user_data)
            raise SessionProtocolError(f"SPDU {si} after FINISH")
        return self._open(spdu)

    def _connect(self, spdu: SPDU) -> SConnect:
        item = session.PGI_CONNECT_ACCEPT_ITEM
        versions_octets = spdu.get_in_group(item, session.PI_VERSION_NUMBER)
        versions = versions_octets[0] if versions_octets else session.VERSION_1
        if not versions & (session.VERSION_1 | session.VERSION_2):
            raise SessionProtocolError(f"no common session version in {versions:#x}")
        self.version = session.VERSION_2 if versions & session.VERSION_2 else session.VERSION_1
        requirements = self._requirements_of(spdu)
        self.requirements = requirements & SUPPORTED
        setting = spdu.get_in_group(item, session.PI_TOKEN_SETTING_ITEM)
        # X.225 8.3 Token Setting Item, data token bits 2-1: 01 = accepting
        # (responder) side; anything else leaves the turn with the initiator
        self.tokens_here = (setting or b"\x00")[0] & 0x03 == 0x01
        self.state = "wait-accept"
        return SConnect(spdu.user_data, requirements, versions)

    def _connect_response(self, spdu: SPDU) -> SessionEvent:
        if spdu.si == session.AC:
            self.requirements = self._requirements_of(spdu)
            setting = spdu.get_in_group(
                session.PGI_CONNECT_ACCEPT_ITEM, session.PI_TOKEN_SETTING_ITEM
            )
            self.tokens_here = (setting or b"\x00")[0] & 0x03 != 0x01
            self.state = "open"
            return SAccept(spdu.user_data, self.requirements)
        if spdu.si == session.RF:
            self.state = "closed"
            reason = spdu.get(session.PI_REASON_CODE) or b""
            return SRefuse(reason[0] if reason else 0, reason[1:])
        raise SessionProtocolError(f"SPDU {spdu.si} in answer to CONNECT")

    @staticmethod
    def _requirements_of(spdu: SPDU) -> int:
        value = spdu.get(session.PI_SESSION_REQUIREMENTS)
        if value is None:
            # X.225 8.3: absent means half-duplex, minor sync, activity
            # management, capability data, exceptions (the default set)
            return 0x0349
        if len(value) != 2:
            raise SessionProtocolError(f"Session User Requirements of {len(value)} octets")
        return int.from_bytes(value, "big")

    def _open(self, spdu: SPDU) -> SessionEvent | None:
        si = spdu.si
        peer_holds = not self.tokens_here
        if self.exception and si in (session.DT, session.MIP, session.AE):
            return None  # X.225 7.32: discarded until ACTIVITY DISCARD
        if si == session.DT and spdu.tokens is not None:
            self._check(peer_holds and self.in_activity, "DATA TRANSFER")
            return SData(spdu.user_information)
        if si == session.GT:
            if spdu.get(session.PI_TOKEN_ITEM) is None:
                return None  # an empty GIVE TOKENS alone
            self._check(peer_holds and not self.in_activity, "GIVE TOKENS")
            self.tokens_here = True
            return STokensGiven()
        if si == PT:
            self._check(self.tokens_here, "PLEASE TOKENS")
            return STokensPlease(spdu.user_data)
        if si == session.AS:
            self._check(peer_holds and not self.in_activity, "ACTIVITY START")
            activity_id = spdu.get(session.PI_ACTIVITY_IDENTIFIER)
            if activity_id is None:
                raise SessionProtocolError("ACTIVITY START without an Activity Identifier")
            self.in_activity = True
            self.vm = self.va = 1
            return SActivityStart(activity_id)
        if si == session.MIP:
            self._check(peer_holds and self.in_activity, "MINOR SYNC POINT")
            serial = _serial(spdu)
            self._check(serial == self.vm, f"MINOR SYNC POINT {serial} (expected {self.vm})")
            self.vm += 1
            return SMinorSync(serial)
        if si == session.AE:
            self._check(peer_holds and self.in_activity, "ACTIVITY END")
            serial = _serial(spdu)
            self._check(serial == self.vm, f"ACTIVITY END {serial} (expected {self.vm})")
            return SActivityEnd(serial)
        if si == session.MIA:
            self._check(self.tokens_here and self.in_activity, "MINOR SYNC ACK")
            serial = _serial(spdu)
            if self.wait_ada:
                return None  # acknowledgements crossing our ACTIVITY DISCARD
            self._check(self.va <= serial < self.vm, f"MINOR SYNC ACK {serial}")
            self.va = serial + 1
            return SMinorSyncAck(serial)
        if si == session.AEA:
            self._check(self.tokens_here and self.in_activity, "ACTIVITY END ACK")
            serial = _serial(spdu)
            if self.wait_ada:
                return None
            self._check(serial == self.wait_aea, f"ACTIVITY END ACK {serial}")
            self.in_activity = False
            self.wait_aea = None
            self.vm = serial + 1
            return SActivityEndAck(serial)
        if si == ED:
            self._check(self.tokens_here and self.in_activity, "EXCEPTION DATA")
            if self.wait_ada:
                return None
            return SException(_reason(spdu))
        if si == AD:
            self._check(peer_holds and self.in_activity, "ACTIVITY DISCARD")
            return SActivityDiscard(_reason(spdu))
        if si == ADA:
            self._check(self.wait_ada, "ACTIVITY DISCARD ACK")
            self.wait_ada = False
            self.in_activity = False
            return SActivityDiscardAck()
        if si == session.FN:
            self._check(peer_holds and not self.in_activity, "FINISH")
            return SRelease(spdu.user_data)
        raise SessionProtocolError(f"SPDU {si} is not used on this connection")

    def _check(self, condition: bool, what: str) -> None:
        if not condition:
            raise SessionProtocolError(f"{what} not allowed here")
