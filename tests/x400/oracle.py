"""tshark as an outside oracle for the X.400 encoders.

Wireshark decodes X.400 P1 and P22 only inside the OSI stack that carries
them, so :func:`tshark_decode` wraps MTS-APDUs in a complete P1
association as two real MTAs run it (P1-WIRE.md), writes it to a pcap with
``text2pcap`` and reads it back with ``tshark``:

1. COTP CR -> CC (TPDU size 2048, called TSAP ``x400in88``);
2. session CN (requirements 0x0249) carrying presentation CP (contexts
   1 ACSE, 3 id-as-mta-rtse, 5 id-as-mtse; BER) carrying ACSE AARQ
   (application context id-ac-mts-transfer) carrying RTORQ (checkpoint 63,
   window 3, monologue) whose open data is the ROS bind-invoke [16] of an
   MTABindArgument; the responder's AC / CPA / AARE / RTOAC with the
   MTABindResult in the other direction (tshark learns the contexts from
   the CP; the answer makes the capture a whole association);
3. per APDU one session activity: AS; the EXTERNAL {indirect-reference 5,
   single-ASN1-type MTS-APDU} cut into RTTR segments of the checkpoint
   size, each in a P-DATA (DT after the empty GT), a MIP/MIA pair between
   segments; AE, answered by AEA -- tshark's RTSE reassembles the segments
   at the AE (its MAJOR SYNC POINT) and hands the APDU to P1;
4. release: FN with RLRQ, DN with RLRE, COTP DR.

TCP is simulated by ``text2pcap -D -T 40000,102``: ``I`` lines go from the
initiator (port 40000) to the responder (port 102, which tshark decodes as
RFC 1006), ``O`` lines back, each direction with its own sequence numbers.

The MTA bind is written here with raw BER for now (MTABindArgument
``authenticated [1] SET { initiator-name [0] IA5String, initiator-credentials
[1] simple IA5String }``); switch :func:`mta_bind_argument` and
:func:`mta_bind_result` to ``gateway.x400.asn1.mta`` once it exists.
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
from typing import Any

import pytest
from pyasn1.type import univ

from gateway.x400.asn1 import acse, ber, rtse
from gateway.x400.asn1.external import External
from gateway.x400.osi import cotp, session, tpkt
from gateway.x400.osi import presentation as pres

__all__ = [
    "ID_AC_MTS_TRANSFER",
    "ID_AS_MTA_RTSE",
    "ID_AS_MTSE",
    "TsharkResult",
    "association",
    "hexdump",
    "mta_bind_argument",
    "mta_bind_result",
    "tlv",
    "tshark_decode",
]

# X.419 MHSProtocolObjectIdentifiers {joint-iso-itu-t mhs(6) protocols(0) ...}
# (move to a gateway.x400.asn1 module with the P1 protocol implementation)
ID_AC_MTS_TRANSFER = "2.6.0.1.6"  # id-ac-mts-transfer
ID_AS_MTA_RTSE = "2.6.0.2.12"  # id-as-mta-rtse: RTSE-apdus with the MTA bind
ID_AS_MTSE = "2.6.0.2.7"  # id-as-mtse: MTS-APDU
PCID_ACSE = 1
PCID_MTA_RTSE = 3
PCID_MTSE = 5
CONTEXTS = (
    pres.ContextDefinition(PCID_ACSE, str(acse.acse_as_id)),
    pres.ContextDefinition(PCID_MTA_RTSE, ID_AS_MTA_RTSE),
    pres.ContextDefinition(PCID_MTSE, ID_AS_MTSE),
)

TPDU_SIZE = 2048  # what ISODE proposes (P1-WIRE.md)
CALLED_TSAP = b"x400in88"  # PP's inbound P1 listener
CHECKPOINT_SIZE = 63  # RTORQ checkpointSize, in units of 1024 octets
WINDOW_SIZE = 3
INITIATOR_PORT = 40000
RESPONDER_PORT = 102  # the "tsap" port, decoded as TPKT by tshark
TIMEOUT = 60  # seconds for each tool run

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
    initiator-credentials [1] simple IA5String }`` (MTAAbstractService has
    IMPLICIT TAGS; the CHOICE under [1] and the open type under [16] keep
    their own tags)."""
    credentials = tlv(0xA1, tlv(0x16, password.encode("ascii")))
    authenticated = tlv(0xA1, tlv(0x80, name.encode("ascii")) + credentials)
    return tlv(0xB0, authenticated)


def mta_bind_result(name: str, password: str) -> bytes:
    """ROS bind-result [17] carrying the MTABindResult, as
    :func:`mta_bind_argument`."""
    credentials = tlv(0xA1, tlv(0x16, password.encode("ascii")))
    return tlv(0xB1, tlv(0xA1, tlv(0x80, name.encode("ascii")) + credentials))


def _external(pcid: int, value: bytes, *, direct: str | None = None) -> Any:
    ext = External()
    if direct is not None:
        ext["direct-reference"] = direct
    ext["indirect-reference"] = pcid
    ext["encoding"]["single-ASN1-type"] = value
    return ext


def _aarq(bind_argument: bytes) -> bytes:
    apdu = rtse.RTSE_apdus()
    rtorq = apdu["rtorq-apdu"]
    rtorq["checkpointSize"] = CHECKPOINT_SIZE
    rtorq["windowSize"] = WINDOW_SIZE
    rtorq["dialogueMode"] = "monologue"
    rtorq["connectionDataRQ"]["open"] = bind_argument
    acse_apdu = acse.ACSE_apdu()
    aarq = acse_apdu["aarq"]
    aarq["aSO-context-name"] = ID_AC_MTS_TRANSFER
    # PP sends both references on the ACSE user information (P1-WIRE.md)
    aarq["user-information"].append(_external(PCID_MTA_RTSE, ber.encode(apdu), direct=pres.BER))
    return ber.encode(acse_apdu)


def _aare(bind_result: bytes) -> bytes:
    apdu = rtse.RTSE_apdus()
    rtoac = apdu["rtoac-apdu"]
    rtoac["checkpointSize"] = CHECKPOINT_SIZE
    rtoac["windowSize"] = WINDOW_SIZE
    rtoac["connectionDataAC"]["open"] = bind_result
    acse_apdu = acse.ACSE_apdu()
    aare = acse_apdu["aare"]
    aare["aSO-context-name"] = ID_AC_MTS_TRANSFER
    aare["result"] = "accepted"
    aare["result-source-diagnostic"]["acse-service-user"] = "null"
    aare["user-information"].append(_external(PCID_MTA_RTSE, ber.encode(apdu), direct=pres.BER))
    return ber.encode(acse_apdu)


def _release(choice: str) -> bytes:
    acse_apdu = acse.ACSE_apdu()
    acse_apdu[choice]["reason"] = "normal"
    return pres.encode_user_data([pres.PDV(PCID_ACSE, ber.encode(acse_apdu))])


def _rttr(segment: bytes) -> bytes:
    apdu = rtse.RTSE_apdus()
    apdu["rttr-apdu"] = segment
    return pres.encode_user_data([pres.PDV(PCID_MTA_RTSE, ber.encode(apdu))])


def association(
    apdus: Sequence[bytes],
    *,
    initiator: tuple[str, str] = ("gateway.lab.test", "secret"),
    responder: tuple[str, str] = ("peer.lab.test", "secret2"),
    checkpoint_size: int = CHECKPOINT_SIZE,
) -> list[tuple[Direction, bytes]]:
    """The TSDUs of a whole P1 association transferring *apdus* (each the
    BER of one MTS-APDU), in order, with their direction; ``initiator`` and
    ``responder`` are (MTA name, password)."""
    cp = pres.encode_cp(
        pres.ConnectRequest(
            CONTEXTS,
            (pres.PDV(PCID_ACSE, _aarq(mta_bind_argument(*initiator))),),
            session.SESSION_REQUIREMENTS_RTSE,
        )
    )
    cpa = pres.encode_cpa(
        pres.ConnectAccept(
            tuple(pres.ContextResult() for _ in CONTEXTS),
            (pres.PDV(PCID_ACSE, _aare(mta_bind_result(*responder))),),
            session.SESSION_REQUIREMENTS_RTSE,
        )
    )
    tsdus: list[tuple[Direction, bytes]] = [
        ("I", session.connect(cp, tsdu_maximum_size=(0, 0))),
        ("O", session.accept(cpa, tsdu_maximum_size=(0, 0))),
    ]
    step = checkpoint_size * 1024
    for number, apdu in enumerate(apdus, start=1):
        # X.228: each RT-TRANSFER is a session activity; PP names it with a
        # BER INTEGER (P1-WIRE.md)
        tsdus.append(("I", session.activity_start(ber.encode(univ.Integer(number)))))
        value = ber.encode(_external(PCID_MTSE, apdu))
        segments = [value[i : i + step] for i in range(0, len(value), step)]
        serial = 1  # X.225: ACTIVITY START sets V(M) to 1
        for index, segment in enumerate(segments):
            tsdus.append(("I", session.data_transfer(_rttr(segment))))
            if index < len(segments) - 1:
                # X.228: a checkpoint (minor sync) after each checkpointSize kilo-octets
                tsdus.append(("I", session.minor_sync(serial)))
                tsdus.append(("O", session.minor_sync_ack(serial)))
                serial += 1
        tsdus.append(("I", session.activity_end(serial)))
        tsdus.append(("O", session.activity_end_ack(serial)))
    tsdus.append(("I", session.finish(_release("rlrq"))))
    tsdus.append(("O", session.disconnect(_release("rlre"))))
    return tsdus


def _packets(tsdus: Sequence[tuple[Direction, bytes]]) -> list[tuple[Direction, bytes]]:
    """TCP payloads: COTP connection set-up, each TSDU as DT TPDUs of the
    TPDU size in TPKTs (one TCP segment each), the closing DR."""
    out: list[tuple[Direction, bytes]] = [
        (
            "I",
            tpkt.encode(cotp.encode(cotp.ConnectionRequest(1, TPDU_SIZE, None, CALLED_TSAP))),
        ),
        ("O", tpkt.encode(cotp.encode(cotp.ConnectionConfirm(1, 2, TPDU_SIZE)))),
    ]
    for direction, tsdu in tsdus:
        out.extend((direction, tpkt.encode(t)) for t in cotp.segment(tsdu, TPDU_SIZE))
    out.append(("I", tpkt.encode(cotp.encode(cotp.DisconnectRequest(2, 1)))))
    return out


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
    packets = _packets(association(apdus, initiator=initiator, responder=responder))
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
