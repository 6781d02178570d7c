"""tshark as an outside oracle for the X.400 encoders and the P1 machines.

Wireshark decodes X.400 P1 and P22 only inside the OSI stack that carries
them, so :func:`tshark_decode` runs a whole P1 association between two
:class:`~gateway.x400.osi.association.P1Association` machines, an initiator
and a responder, pumping the bytes of each to the other in memory and
capturing every TPKT with its direction; it writes them to a pcap with
``text2pcap`` and reads it back with ``tshark``.  What the machines send
(P1-WIRE.md):

1. COTP CR -> CC (TPDU size 2048, called TSAP ``x400in88``);
2. session CN (requirements 0x0249) carrying presentation CP (contexts
   1 ACSE, 3 id-as-mta-rtse, 5 id-as-mtse; BER) carrying ACSE AARQ
   (application context id-ac-mts-transfer) carrying RTORQ (checkpoint 63,
   window 3, monologue) whose open data is the ROS bind-invoke [16] of an
   MTABindArgument; the responder's AC / CPA / AARE / RTOAC with the
   MTABindResult in the other direction;
3. per APDU one session activity: AS; the EXTERNAL {indirect-reference 5,
   single-ASN1-type MTS-APDU} cut into RTTR segments of the checkpoint
   size, each in a P-DATA (DT after the empty GT), a MIP after every segment
   but the last (at most three unacknowledged, each answered by a MIA); AE,
   answered by AEA -- tshark's RTSE reassembles the segments at the AE (its
   MAJOR SYNC POINT) and hands the APDU to P1;
4. release: FN with RLRQ, DN with RLRE, COTP DR.

So tshark decoding the capture without warnings is an outside check both of
the MTS-APDU encoders and of the machines.  TCP is simulated by ``text2pcap
-D -T 40000,102``: ``I`` lines go from the initiator (port 40000) to the
responder (port 102, which tshark decodes as RFC 1006), ``O`` lines back,
each direction with its own sequence numbers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.x400.osi import cotp, tpkt
from gateway.x400.osi.association import (
    CONTEXTS,
    ID_AC_MTS_TRANSFER,
    ID_AS_MTA_RTSE,
    ID_AS_MTSE,
    AssociationConfig,
    BindRequested,
    Bound,
    Credentials,
    Event,
    P1Association,
    Released,
    TransferConfirmed,
    TransferReceived,
    TransportConnected,
    encode_bind_argument,
    encode_bind_result,
)

__all__ = [
    "CONTEXTS",
    "ID_AC_MTS_TRANSFER",
    "ID_AS_MTA_RTSE",
    "ID_AS_MTSE",
    "TsharkResult",
    "association",
    "association_packets",
    "hexdump",
    "mta_bind_argument",
    "mta_bind_result",
    "tlv",
    "tshark_decode",
]

TPDU_SIZE = 2048  # what ISODE proposes (P1-WIRE.md)
CALLED_TSAP = b"x400in88"  # PP's inbound P1 listener
CHECKPOINT_SIZE = 63  # RTORQ checkpointSize, in units of 1024 octets
WINDOW_SIZE = 3
INITIATOR_PORT = 40000
RESPONDER_PORT = 102  # the "tsap" port, decoded as TPKT by tshark
TIMEOUT = 60  # seconds for each tool run
MAX_ROUNDS = 100_000  # pump rounds before the exchange is declared stuck

Direction = str  # "I": initiator to responder, "O": responder to initiator


@dataclass(frozen=True)
class TsharkResult:
    """What tshark made of the association.

    ``expert``: one line per Warning or Error expert item of
    ``tshark -q -z expert`` ("Error/P1: Internal error, ... (x1)"); empty
    for input tshark decodes cleanly.  ``fields``: every value of each
    requested field over all packets, in packet order (a field tshark did not
    find maps to an empty list).  ``packets``: tshark's one-line summary per
    packet, for assertion messages."""

    expert: list[str]
    fields: dict[str, list[str]]
    packets: list[str] = field(default_factory=list)


def tlv(tag: int, value: bytes) -> bytes:
    """One definite-length BER element with a one-octet identifier."""
    length = len(value)
    if length < 0x80:
        octets = bytes([length])  # X.690 8.1.3.4 short form
    else:
        body = length.to_bytes((length.bit_length() + 7) // 8, "big")
        octets = bytes([0x80 | len(body)]) + body  # 8.1.3.5 long form
    return bytes([tag]) + octets + value


def mta_bind_argument(name: str, password: str) -> bytes:
    """ROS bind-invoke [16] carrying the X.411 MTABindArgument
    ``authenticated [1] SET { initiator-name [0] MTAName,
    initiator-credentials [1] simple IA5String }``, as the machine sends it."""
    return encode_bind_argument(Credentials(name, password))


def mta_bind_result(name: str, password: str) -> bytes:
    """ROS bind-result [17] carrying the MTABindResult, as
    :func:`mta_bind_argument`."""
    return encode_bind_result(Credentials(name, password))


def _tpkts(data: bytes) -> list[bytes]:
    """*data* (whole TPKTs, as a machine queues them) cut into packets."""
    packets: list[bytes] = []
    while data:
        length = tpkt.packet_length(data[: tpkt.HEADER_LENGTH])
        packets.append(data[:length])
        data = data[length:]
    return packets


def association_packets(
    apdus: Sequence[bytes],
    *,
    initiator: tuple[str, str] = ("gateway.lab.test", "secret"),
    responder: tuple[str, str] = ("peer.lab.test", "secret2"),
    checkpoint_size: int = CHECKPOINT_SIZE,
) -> list[tuple[Direction, bytes]]:
    """The TCP payloads (one TPKT each) of a whole P1 association between
    two P1Association machines transferring *apdus*, in the order they were
    sent, with their direction; ``initiator`` and ``responder`` are (MTA
    name, password).  The responder confirms each transfer at once; the
    initiator releases after the last confirmation."""
    config = AssociationConfig(
        called_tsap=CALLED_TSAP,
        tpdu_size=TPDU_SIZE,
        checkpoint_size=checkpoint_size,
        window_size=WINDOW_SIZE,
    )
    ini = P1Association("initiator", Credentials(*initiator), config, peer=Credentials(*responder))
    res = P1Association("responder", Credentials(*responder), config)
    packets: list[tuple[Direction, bytes]] = []
    confirmed = 0
    ini.connect()

    def unexpected(side: str, event: Event) -> AssertionError:
        return AssertionError(f"{side}: unexpected {event!r}")

    for _ in range(MAX_ROUNDS):
        sent = ini.data_to_send()
        packets += [("I", p) for p in _tpkts(sent)]
        for event in res.receive(sent) if sent else []:
            if isinstance(event, BindRequested):
                res.accept_bind()
            elif isinstance(event, TransferReceived):
                res.confirm(event.transfer_id)
            elif not isinstance(event, TransportConnected | Bound | Released):
                raise unexpected("responder", event)
        answer = res.data_to_send()
        packets += [("O", p) for p in _tpkts(answer)]
        for event in ini.receive(answer) if answer else []:
            if isinstance(event, Bound):
                for apdu in apdus:
                    ini.transfer(apdu)
                if not apdus:
                    ini.release()
            elif isinstance(event, TransferConfirmed):
                confirmed += 1
                if confirmed == len(apdus):
                    ini.release()
            elif not isinstance(event, TransportConnected | Released):
                raise unexpected("initiator", event)
        if not sent and not answer:
            break
    else:
        raise AssertionError("the association did not finish")
    if ini.state != "released":
        raise AssertionError(f"the initiator ended in state {ini.state}")
    return packets


def association(
    apdus: Sequence[bytes],
    *,
    initiator: tuple[str, str] = ("gateway.lab.test", "secret"),
    responder: tuple[str, str] = ("peer.lab.test", "secret2"),
    checkpoint_size: int = CHECKPOINT_SIZE,
) -> list[tuple[Direction, bytes]]:
    """The TSDUs of the association of :func:`association_packets` (each
    the session SPDUs of one transport service data unit), in order, with
    their direction; the COTP CR, CC and DR are left out."""
    tsdus: list[tuple[Direction, bytes]] = []
    partial: dict[Direction, bytes] = {"I": b"", "O": b""}
    for direction, packet in association_packets(
        apdus, initiator=initiator, responder=responder, checkpoint_size=checkpoint_size
    ):
        tpdu = cotp.decode(tpkt.decode(packet))
        if isinstance(tpdu, cotp.Data):
            partial[direction] += tpdu.user_data
            if tpdu.eot:
                tsdus.append((direction, partial[direction]))
                partial[direction] = b""
    return tsdus


def hexdump(packets: Sequence[tuple[Direction, bytes]]) -> str:
    """The text2pcap input for *packets*: a direction line, then offset and
    hex octets, 16 a line."""
    lines: list[str] = []
    for direction, data in packets:
        lines.append(direction)
        for offset in range(0, len(data), 16):
            chunk = " ".join(f"{b:02x}" for b in data[offset : offset + 16])
            lines.append(f"{offset:06x} {chunk}")
        lines.append("")
    return "\n".join(lines) + "\n"


_EXPERT_SECTION = re.compile(r"^(Errors|Warns|Notes|Chats|Comments) \(\d+\)$")
_EXPERT_ROW = re.compile(r"^\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*\S)\s*$")
_SEVERITY = {"Errors": "Error", "Warns": "Warning"}


def _expert_lines(output: str) -> list[str]:
    """The Warning and Error rows of ``-z expert`` output."""
    lines: list[str] = []
    severity: str | None = None
    for line in output.splitlines():
        section = _EXPERT_SECTION.match(line.strip())
        if section:
            severity = _SEVERITY.get(section.group(1))
            continue
        row = _EXPERT_ROW.match(line)
        if severity and row and row.group(1) != "Frequency":
            count, _group, protocol, summary = row.groups()
            lines.append(f"{severity}/{protocol}: {summary} (x{count})")
    return lines


def _fields(output: str, names: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {name: [] for name in names}
    for packet in json.loads(output or "[]"):
        layers = packet.get("_source", {}).get("layers", {})
        for name in names:
            found[name].extend(str(v) for v in layers.get(name, []))
    return found


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def tshark_decode(
    apdus: Sequence[bytes],
    fields: Sequence[str] = (),
    *,
    initiator: tuple[str, str] = ("gateway.lab.test", "secret"),
    responder: tuple[str, str] = ("peer.lab.test", "secret2"),
) -> TsharkResult:
    """Decode *apdus* (encoded MTS-APDUs, possibly none: the bind and the
    release alone) with tshark, inside a whole P1 association (see the
    module docstring), and return its expert messages and the values of
    *fields* (tshark field names such as ``p22.subject``).  Skips the test
    when tshark or text2pcap is not installed."""
    tshark = shutil.which("tshark")
    text2pcap = shutil.which("text2pcap")
    if tshark is None or text2pcap is None:
        pytest.skip("tshark/text2pcap (Wireshark) not installed")
    packets = association_packets(apdus, initiator=initiator, responder=responder)
    with tempfile.TemporaryDirectory(prefix="x400-oracle-") as tmp:
        # an empty personal configuration: no user preference changes decoding
        env = {**os.environ, "WIRESHARK_CONFIG_DIR": tmp}
        dump = Path(tmp, "association.txt")
        dump.write_text(hexdump(packets), encoding="ascii")
        pcap = str(Path(tmp, "association.pcap"))
        _run(
            [text2pcap, "-q", "-D", "-T", f"{INITIATOR_PORT},{RESPONDER_PORT}", str(dump), pcap],
            env,
        )
        base = [tshark, "-n", "-r", pcap, "-d", f"tcp.port=={RESPONDER_PORT},tpkt"]
        expert = _expert_lines(_run([*base, "-q", "-z", "expert"], env))
        summary = _run(base, env).splitlines()
        values: dict[str, list[str]] = {name: [] for name in fields}
        if fields:
            args = [*base, "-T", "json"]
            for name in fields:
                args += ["-e", name]
            values = _fields(_run(args, env), fields)
    return TsharkResult(expert, values, summary)
