"""The transport connection under P1: RFC 1006 TPKTs on a TCP stream
carrying X.224 class 0 -- a small sans-I/O state machine.

Bytes from TCP go in through :meth:`TransportConnection.receive`, which
buffers the stream, cuts it into TPKTs (RFC 1006 section 6), decodes each
TPDU (:mod:`gateway.x400.osi.cotp`) and returns transport events; what the
peer should receive accumulates for :meth:`TransportConnection.data_to_send`.

X.224 (11/1995) class 0, as it is used here:

- connection establishment (clause 6.5, TPDUs 13.3 CR / 13.4 CC): the
  initiator proposes a TPDU size and its TSAP selectors; the responder
  answers CC with a size no larger than the one proposed (13.3.4 b; class 0
  allows at most 2048, without the parameter the size is 128) or refuses
  with DR when the called TSAP is not the one it serves;
- data transfer (6.3 segmenting and reassembling): a TSDU travels as DT
  TPDUs of at most the negotiated size, the last with EOT; the receiver
  reassembles them, refusing a TSDU above ``max_tsdu`` before it is built;
- release (6.7 implicit variant for class 0): DR, or the TCP connection
  closing; an ER TPDU (13.12) from the peer ends the connection too.

Every error in the peer's bytes ends in a :class:`TransportFailed` event
and a DR queued for the peer: class 0 has no recovery (X.224 6.22).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.x400.osi import cotp, tpkt
from gateway.x400.osi.errors import OSIError

__all__ = [
    "DEFAULT_MAX_TSDU",
    "DR_NORMAL",
    "DR_NOT_ATTACHED",
    "TConnected",
    "TData",
    "TDisconnected",
    "TransportConnection",
    "TransportEvent",
    "TransportFailed",
    "negotiate_tpdu_size",
]

# X.224 13.5.3, DR reason codes used in class 0
DR_NORMAL = 0  # reason not specified
DR_NOT_ATTACHED = 2  # session entity not attached to TSAP
# The largest TSDU reassembled by default: a P1 APDU of 64 MiB sent without
# checkpointing plus its RTSE/presentation/session framing.
DEFAULT_MAX_TSDU = (64 << 20) + (64 << 10)
CLASS_0_MAX_TPDU = 2048  # X.224 13.3.4 b)

State = Literal["idle", "wait-cc", "open", "closed"]


@dataclass(frozen=True)
class TConnected:
    """T-CONNECT indication (responder, CC already queued) or confirm
    (initiator); *tpdu_size* is the negotiated size in octets."""

    tpdu_size: int
    calling_tsap: bytes | None = None
    called_tsap: bytes | None = None


@dataclass(frozen=True)
class TData:
    """One reassembled TSDU (T-DATA indication)."""

    tsdu: bytes


@dataclass(frozen=True)
class TDisconnected:
    """T-DISCONNECT indication: the peer sent DR (or ER); *reason* is the DR
    reason code (X.224 13.5.3)."""

    reason: int
    error: bool = False  # an ER TPDU, not a DR


@dataclass(frozen=True)
class TransportFailed:
    """The peer's bytes broke RFC 1006 or X.224; a DR is queued."""

    reason: str


TransportEvent = TConnected | TData | TDisconnected | TransportFailed


def negotiate_tpdu_size(proposed: int | None, local: int) -> int:
    """The TPDU size a class 0 responder selects (X.224 13.3.4 b): at most the
    proposed size (128 if none was proposed), its own and 2048."""
    return min(cotp.DEFAULT_TPDU_SIZE if proposed is None else proposed, local, CLASS_0_MAX_TPDU)


class TransportConnection:
    """One class 0 transport connection over one TCP connection.

    *role* is "initiator" (sends CR on :meth:`connect`) or "responder"
    (answers a CR with CC by itself).  *called_tsap* is the peer's TSAP
    selector for an initiator and the one served by a responder (empty:
    any); *calling_tsap* is sent by an initiator when not empty."""

    def __init__(
        self,
        role: Literal["initiator", "responder"],
        *,
        calling_tsap: bytes = b"",
        called_tsap: bytes = b"",
        tpdu_size: int = CLASS_0_MAX_TPDU,
        max_tsdu: int = DEFAULT_MAX_TSDU,
        local_ref: int = 1,
    ) -> None:
        cotp.tpdu_size_code(tpdu_size)  # refuse a size class 0 cannot use
        self.role = role
        self.calling_tsap = calling_tsap
        self.called_tsap = called_tsap
        self.local_tpdu_size = tpdu_size
        self.tpdu_size = cotp.DEFAULT_TPDU_SIZE
        self.max_tsdu = max_tsdu
        self.local_ref = local_ref
        self.remote_ref = 0
        self.state: str = "idle"  # one of State
        self._stream = bytearray()
        self._tsdu = bytearray()
        self._out = bytearray()

    # -- sending

    def connect(self) -> None:
        """Queue the CR (X.224 13.3) of an initiator."""
        if self.role != "initiator" or self.state != "idle":
            raise OSIError(f"connect() by a {self.role} in state {self.state}")
        self._send(
            cotp.ConnectionRequest(
                self.local_ref,
                self.local_tpdu_size,
                self.calling_tsap or None,
                self.called_tsap or None,
            )
        )
        self.state = "wait-cc"

    def send_tsdu(self, tsdu: bytes) -> None:
        """Queue *tsdu* as DT TPDUs of the negotiated size (X.224 6.3)."""
        if self.state != "open":
            raise OSIError(f"T-DATA in transport state {self.state}")
        for tpdu in cotp.segment(tsdu, self.tpdu_size):
            self._out += tpkt.encode(tpdu)

    def disconnect(self, reason: int = DR_NORMAL) -> None:
        """Queue a DR (X.224 13.5) and close; nothing more is sent or read."""
        if self.state in ("wait-cc", "open"):
            self._send(cotp.DisconnectRequest(self.remote_ref, self.local_ref, reason))
        self.state = "closed"

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def _send(self, tpdu: cotp.TPDU) -> None:
        self._out += tpkt.encode(cotp.encode(tpdu))

    # -- receiving

    def receive(self, data: bytes) -> list[TransportEvent]:
        """Feed bytes from TCP; the events of every whole TPKT among them."""
        events: list[TransportEvent] = []
        if self.state == "closed":
            return events
        self._stream += data
        pos = 0
        try:
            while self.state != "closed" and len(self._stream) - pos >= tpkt.HEADER_LENGTH:
                length = tpkt.packet_length(bytes(self._stream[pos : pos + tpkt.HEADER_LENGTH]))
                if len(self._stream) - pos < length:
                    break
                tpdu = bytes(self._stream[pos + tpkt.HEADER_LENGTH : pos + length])
                pos += length
                events.extend(self._tpdu(cotp.decode(tpdu)))
        except OSIError as exc:
            events.append(self._fail(str(exc)))
        del self._stream[:pos]
        if self.state == "closed":
            self._stream.clear()
        return events

    def connection_lost(self) -> None:
        """The TCP connection closed: nothing more to send or read."""
        self.state = "closed"
        self._stream.clear()
        self._tsdu.clear()

    def _fail(self, reason: str) -> TransportFailed:
        self.disconnect(DR_NORMAL)
        self._tsdu.clear()
        return TransportFailed(reason)

    def _tpdu(self, tpdu: cotp.TPDU) -> list[TransportEvent]:
        if isinstance(tpdu, cotp.DisconnectRequest | cotp.Error):
            self.state = "closed"
            if isinstance(tpdu, cotp.Error):
                return [TDisconnected(tpdu.cause, error=True)]
            return [TDisconnected(tpdu.reason)]
        if self.state == "idle":
            if self.role == "responder" and isinstance(tpdu, cotp.ConnectionRequest):
                return self._connection_request(tpdu)
            return [self._fail(f"{type(tpdu).__name__} before a connection request")]
        if self.state == "wait-cc":
            if isinstance(tpdu, cotp.ConnectionConfirm):
                return self._connection_confirm(tpdu)
            return [self._fail(f"{type(tpdu).__name__} while waiting for CC")]
        if isinstance(tpdu, cotp.Data):
            return self._data(tpdu)
        return [self._fail(f"{type(tpdu).__name__} on an open connection")]

    def _connection_request(self, cr: cotp.ConnectionRequest) -> list[TransportEvent]:
        # X.224 13.3.3: class and options; only class 0 is offered here, and a
        # peer proposing a higher class gets class 0 in the CC (6.5.4 c)
        self.remote_ref = cr.src_ref
        if self.called_tsap and cr.called_tsap not in (None, self.called_tsap):
            self._send(cotp.DisconnectRequest(cr.src_ref, self.local_ref, DR_NOT_ATTACHED))
            self.state = "closed"
            return [TransportFailed(f"called TSAP {cr.called_tsap!r} is not served here")]
        self.tpdu_size = negotiate_tpdu_size(cr.tpdu_size, self.local_tpdu_size)
        self._send(cotp.ConnectionConfirm(cr.src_ref, self.local_ref, self.tpdu_size))
        self.state = "open"
        return [TConnected(self.tpdu_size, cr.calling_tsap, cr.called_tsap)]

    def _connection_confirm(self, cc: cotp.ConnectionConfirm) -> list[TransportEvent]:
        if cc.class_option >> 4 != 0:
            return [self._fail(f"CC selects class {cc.class_option >> 4}, not 0")]
        size = cotp.DEFAULT_TPDU_SIZE if cc.tpdu_size is None else cc.tpdu_size
        if size > self.local_tpdu_size:
            return [self._fail(f"CC selects TPDU size {size}, above the {self.local_tpdu_size}")]
        self.remote_ref = cc.src_ref
        self.tpdu_size = size
        self.state = "open"
        return [TConnected(size, cc.calling_tsap, cc.called_tsap)]

    def _data(self, dt: cotp.Data) -> list[TransportEvent]:
        # X.224 6.3: reassembly; the limit is checked before the copy
        if len(self._tsdu) + len(dt.user_data) > self.max_tsdu:
            return [self._fail(f"TSDU longer than the limit of {self.max_tsdu} octets")]
        self._tsdu += dt.user_data
        if not dt.eot:
            return []
        tsdu = bytes(self._tsdu)
        self._tsdu.clear()
        return [TData(tsdu)]
