"""Benchmark: MIXER translations per second, against plain pyasn1 on the same bytes.

Not a test. One typical message -- 4 KiB of text and two attachments (2 KiB
of PDF-like octets, 1 KiB of CSV) -- is timed, in one process, four ways:

(a) P1+P22 -> MIME: BER MTS-APDU -> model -> Internet message bytes
    (``p1codec.decode_apdu`` + ``p22codec.decode_content`` +
    ``translate.message_to_internet``), what the gateway does for a message
    from an X.400 MTA;
(b) MIME -> P1+P22: Internet message bytes -> model -> BER
    (``translate.internet_to_message`` + ``encode_content`` + ``encode_apdu``);
(c) plain pyasn1 BER decode of the same APDU (``MTS_APDU``) and of its content
    octets (``InformationObject``): the library's limit for (a);
(d) plain pyasn1 DER encode of the values (c) decoded: the limit for (b).

Each is run for ``--seconds`` (default 5) of CPU time per run, ``--runs``
(default 3) runs interleaved; rates are per CPU second of the one process,
so other load on the machine does not skew them.  The table gives the median
msgs/s and the ratios (a)/(c) and (b)/(d): how close the translator comes to
the bare ASN.1 work on the same bytes (1.0 would mean translation is free).

Usage: python bench/x400_bench.py [--seconds 5] [--runs 3]
       python bench/x400_bench.py --quick     (smoke test, under 10 s)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pyasn1.codec.ber import decoder as ber_decoder  # noqa: E402
from pyasn1.codec.der import encoder as der_encoder  # noqa: E402

from gateway.x400 import p1codec  # noqa: E402
from gateway.x400.asn1 import ipms, mta  # noqa: E402
from gateway.x400.context import Gateway  # noqa: E402
from gateway.x400.mapping import MappingTables  # noqa: E402
from gateway.x400.model import IPM, Message  # noqa: E402
from gateway.x400.orname import parse_std_or  # noqa: E402
from gateway.x400.p22codec import decode_content, encode_content  # noqa: E402
from gateway.x400.translate import internet_to_message, message_to_internet  # noqa: E402

TEXT_SIZE = 4096
PDF_SIZE = 2048
CSV_SIZE = 1024
SENDER = "alice@example.test"
RECIPIENTS = ["J.Linnimouth@Marketing.Widget.COM", "bob@cs.nowhere.test"]
QUICK_SECONDS = 0.3
WORDS = ("the", "of", "gateway", "message", "figures", "quarter", "report", "mixer", "and")


def make_gateway() -> Gateway:
    return Gateway(
        tables=MappingTables.load(ROOT / "conf" / "x400"),
        domain="gw.example.test",
        or_address=parse_std_or("/O=gw/PRMD=lab/ADMD= /C=GB/"),
        mta_name="gw.example.test",
        admin="postmaster@gw.example.test",
        now=datetime(2026, 3, 3, 10, 0, 5, tzinfo=UTC),
    )


def sample_mime(seed: int = 400) -> bytes:
    """The Internet message: 4 KiB of plain text (72-column lines of words),
    a 2 KiB PDF-like attachment and a 1 KiB CSV one, CR LF line ends."""
    rng = random.Random(seed)
    words = WORDS
    lines: list[str] = []
    size = 0
    while size < TEXT_SIZE:
        line = " ".join(rng.choice(words) for _ in range(12))[:72]
        lines.append(line)
        size += len(line) + 1
    text = "\n".join(lines)[:TEXT_SIZE].rstrip() + "\n"
    pdf = b"%PDF-1.4\n" + rng.randbytes(PDF_SIZE - 9)
    rows = [f"{n},{rng.randint(0, 99999)},{rng.choice(words)}" for n in range(200)]
    csv = ("id,amount,label\n" + "\n".join(rows)).encode()[:CSV_SIZE]

    msg = EmailMessage()
    msg["From"] = f"Alice Example <{SENDER}>"
    msg["To"] = ", ".join(RECIPIENTS)
    msg["Subject"] = "Quarterly figures"
    msg["Date"] = "Tue, 03 Mar 2026 10:00:00 +0000"
    msg["Message-ID"] = "<figures.42@example.test>"
    msg.set_content(text)
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="q1.pdf")
    msg.add_attachment(csv, maintype="text", subtype="csv", filename="q1.csv")
    return msg.as_bytes(policy=SMTP)


def to_ber(mime: bytes, gw: Gateway) -> bytes:
    """(b): MIME -> model -> BER MTS-APDU."""
    envelope, ipm = internet_to_message(mime, SENDER, RECIPIENTS, gw)
    return p1codec.encode_apdu(Message(envelope, encode_content(ipm)))


def to_mime(apdu: bytes, gw: Gateway) -> bytes:
    """(a): BER MTS-APDU -> model -> MIME."""
    msg = p1codec.decode_apdu(apdu)
    assert isinstance(msg, Message)
    ipm = decode_content(msg.content)
    assert isinstance(ipm, IPM)
    return message_to_internet(msg, ipm, gw).content


def pyasn1_decode(apdu: bytes, content: bytes) -> tuple[Any, Any]:
    """(c): the APDU and its content octets, plain pyasn1."""
    value, rest = ber_decoder.decode(apdu, asn1Spec=mta.MTS_APDU())
    inner, rest2 = ber_decoder.decode(content, asn1Spec=ipms.InformationObject())
    assert not rest and not rest2
    return value, inner


def pyasn1_encode(values: tuple[Any, Any]) -> tuple[bytes, bytes]:
    """(d): the values of (c) back to DER, plain pyasn1."""
    return der_encoder.encode(values[0]), der_encoder.encode(values[1])


def check(mime: bytes, apdu: bytes, content: bytes, gw: Gateway) -> None:
    """The paths measured do the whole job: the attachments come back."""
    back = BytesParser(policy=SMTP).parsebytes(to_mime(apdu, gw))
    assert isinstance(back, EmailMessage)
    original = BytesParser(policy=SMTP).parsebytes(mime)
    assert isinstance(original, EmailMessage)
    assert back["Subject"] == "Quarterly figures"
    got = [part.get_payload(decode=True) for part in back.iter_attachments()]
    want = [part.get_payload(decode=True) for part in original.iter_attachments()]
    assert got == want and len(got) == 2, "attachments changed on the way"
    assert pyasn1_encode(pyasn1_decode(apdu, content)) == (apdu, content)


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls of ``work`` per CPU second of this process, over at least
    ``seconds`` of it (CPU time: other load on the machine does not count)."""
    work()  # warm caches
    count = 0
    start = time.process_time()
    deadline = start + seconds
    now = start
    while now < deadline:
        work()
        count += 1
        now = time.process_time()
    return count / (now - start)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SECONDS} s per measurement (smoke test)"
    )
    args = parser.parse_args()
    seconds = QUICK_SECONDS if args.quick else args.seconds

    gw = make_gateway()
    mime = sample_mime()
    apdu = to_ber(mime, gw)
    decoded = p1codec.decode_apdu(apdu)
    assert isinstance(decoded, Message)
    content = decoded.content
    check(mime, apdu, content, gw)
    values = pyasn1_decode(apdu, content)

    cases: dict[str, Callable[[], object]] = {
        "a": lambda: to_mime(apdu, gw),
        "b": lambda: to_ber(mime, gw),
        "c": lambda: pyasn1_decode(apdu, content),
        "d": lambda: pyasn1_encode(values),
    }
    results: dict[str, list[float]] = {key: [] for key in cases}
    print(
        f"sample: MIME {len(mime)} octets (text {TEXT_SIZE}, attachments {PDF_SIZE} + "
        f"{CSV_SIZE}); MTS-APDU {len(apdu)} octets, P22 content {len(content)}",
        flush=True,
    )
    for run in range(1, args.runs + 1):
        for key, work in cases.items():
            results[key].append(rate(work, seconds))
        line = "   ".join(f"({key}) {values[-1]:7.0f}/s" for key, values in results.items())
        print(f"run {run}: {line}", flush=True)

    median = {key: statistics.median(values) for key, values in results.items()}
    labels = {
        "a": "(a) P1+P22 BER -> MIME (gateway)",
        "c": "(c) pyasn1 BER decode, APDU + content",
        "b": "(b) MIME -> P1+P22 BER (gateway)",
        "d": "(d) pyasn1 DER encode, APDU + content",
    }
    print(f"\nmedian of {args.runs} runs of {seconds:g} s each")
    print(f"{'':<40}{'msgs/s':>9}{'ms/msg':>9}")
    for key, label in labels.items():
        print(f"{label:<40}{median[key]:9.0f}{1000 / median[key]:9.2f}")
        if key == "c":
            print(f"{'    ratio (a)/(c)':<40}{median['a'] / median['c']:9.2f}")
        if key == "d":
            print(f"{'    ratio (b)/(d)':<40}{median['b'] / median['d']:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
