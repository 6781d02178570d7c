"""``mailgateway x400 …``, run as the installed command would run."""

from __future__ import annotations

import email.policy
import os
import pty
import subprocess
import sys
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from gateway.x400.asn1 import ber as asn1_ber
from gateway.x400.asn1 import ipms
from tests.x400.asn1 import mta_samples, samples

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[server]\nhostname="gw.example.test"\n'
        f'data_dir="{tmp_path / "var"}"\n'
        'local_domains=["example.test"]\n'
        f'[x400]\ntables="{ROOT / "conf" / "x400"}"\n'
        'or_address="/O=gw/PRMD=lab/ADMD= /C=GB/"\n'
    )
    return path


def mailgateway(config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "--config", str(config), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def lines(out: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":  ") for ln in out.splitlines())}


def test_map_or_address_names_the_table_line(config: Path) -> None:
    done = mailgateway(
        config, "x400", "map", "/I=J/S=Linnimouth/OU=Marketing/O=Widget/ADMD=BTT/C=TC/"
    )
    assert done.returncode == 0, done.stderr
    shown = lines(done.stdout)
    assert shown["RFC 822"] == "J.Linnimouth@Marketing.Widget.COM"  # RFC 2156 4.3.1
    assert shown["matched"].endswith(
        "mcgam-or-domain.table line 7: O$Widget.PRMD$@.ADMD$BTT.C$TC -> Widget.COM"
    )
    assert shown["mapped back"].endswith("(same)")


def test_map_rfc822_address_stage_two_via_gateway_table(config: Path) -> None:
    done = mailgateway(config, "x400", "map", "postmaster@UK.alter.net")
    assert done.returncode == 0, done.stderr
    shown = lines(done.stdout)
    # RFC 2156 4.3.4 Stage II example 3
    assert (
        shown["O/R address"] == "/RFC-822=postmaster(a)UK.alter.net/PRMD=relay/ADMD=BTglobal/C=gb/"
    )
    assert (
        "gateway-domain-or.table line 5: alter.net -> PRMD$relay.ADMD$BTglobal.C$gb"
        in (shown["matched"])
    )
    assert shown["mapped back"] == "postmaster@UK.alter.net  (same)"


def test_map_unknown_domain_falls_back_to_the_gateway(config: Path) -> None:
    done = mailgateway(config, "x400", "map", "Tom_Harris@cs.nowhere.test")
    assert done.returncode == 0, done.stderr
    shown = lines(done.stdout)
    assert (
        shown["O/R address"]
        == "/RFC-822=Tom(u)Harris(a)cs.nowhere.test/O=gw/PRMD=lab/ADMD= /C=GB/"
    )
    assert shown["matched"].startswith("no table line")


def test_map_bad_address_says_which_attribute(config: Path) -> None:
    done = mailgateway(config, "x400", "map", "/S=x/O=a~b/ADMD= /C=GB/")
    assert done.returncode == 65
    assert "attribute O: not PrintableString" in done.stderr
    assert done.stdout == ""


# --- decode, to-mime, from-mime ------------------------------------------------

ATTACHMENT = bytes(range(256)) * 8  # 2 KiB, every octet value


def sample_eml(path: Path) -> Path:
    msg = EmailMessage()
    msg["From"] = "Alice Example <alice@example.test>"
    msg["To"] = "J.Linnimouth@Marketing.Widget.COM, bob@cs.nowhere.test"
    msg["Subject"] = "Quarterly figures"
    msg["Message-ID"] = "<figures.42@example.test>"
    msg["Date"] = "Tue, 03 Mar 2026 10:00:00 +0000"
    msg.set_content("Hello Bob,\n\nthe figures are attached.\n")
    msg.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename="q1.pdf")
    path.write_bytes(msg.as_bytes().replace(b"\r\n", b"\n"))  # as a mail client saves it
    return path


def mailgateway_bytes(
    config: Path, *argv: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "--config", str(config), *argv],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


def assert_one_error_line(done: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert done.returncode == 65, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    for part in parts:
        assert part in done.stderr


def test_from_mime_decode_to_mime_round_trip(config: Path, tmp_path: Path) -> None:
    ber = tmp_path / "msg.ber"
    made = mailgateway(
        config, "x400", "from-mime", str(sample_eml(tmp_path / "msg.eml")), "-o", str(ber)
    )
    assert made.returncode == 0, made.stderr
    assert ber.read_bytes()[:1] == b"\xa0"  # MTS-APDU message [0]

    shown = mailgateway(config, "x400", "decode", str(ber))
    assert shown.returncode == 0, shown.stderr
    fields = lines(shown.stdout)
    assert fields["MTS-APDU"] == "message"
    assert fields["MTS identifier"] == "[/PRMD=lab/ADMD= /C=GB/;<figures.42@example.test>]"
    assert fields["Originator"] == "/RFC-822=alice(a)example.test/O=gw/PRMD=lab/ADMD= /C=GB/"
    assert fields["Recipient 1"].startswith("/I=J/S=Linnimouth/OU=Marketing/O=Widget/")
    assert fields["Content type"] == "22 (interpersonal-messaging-1988)"
    assert fields["Subject"] == "Quarterly figures"  # heading fields, MIXER form
    assert fields["Body part 2"] == "file 'q1.pdf', 2048 octets"
    assert "\nASN.1:\nMTS_APDU:\n message=Message:\n" in shown.stdout

    back = mailgateway_bytes(config, "x400", "to-mime", str(ber))
    assert back.returncode == 0, back.stderr
    envelope = back.stderr.decode().splitlines()
    assert envelope[0].startswith("MAIL FROM:<alice@example.test>")
    assert envelope[1:] == [
        "RCPT TO:<J.Linnimouth@Marketing.Widget.COM> NOTIFY=FAILURE",
        "RCPT TO:<bob@cs.nowhere.test> NOTIFY=FAILURE",
    ]
    msg = BytesParser(policy=email.policy.default).parsebytes(back.stdout)
    assert msg["Subject"] == "Quarterly figures"
    assert msg["Message-ID"] == "<figures.42@example.test>"
    assert msg["From"] == "Alice Example <alice@example.test>"
    assert msg["To"] == "J.Linnimouth@Marketing.Widget.COM, bob@cs.nowhere.test"
    assert "MIXER" in msg["Received"]
    text = msg.get_body(("plain",))
    assert text is not None
    assert text.get_content().replace("\r\n", "\n") == "Hello Bob,\n\nthe figures are attached.\n"
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "q1.pdf"
    assert attachment.get_payload(decode=True) == ATTACHMENT


def test_from_mime_envelope_options_reach_the_apdu(config: Path, tmp_path: Path) -> None:
    ber = tmp_path / "msg.ber"
    made = mailgateway(
        config,
        "x400",
        "from-mime",
        str(sample_eml(tmp_path / "msg.eml")),
        "--from",
        "bounces@example.test",
        "--to",
        "carol@cs.nowhere.test",
        "--notify",
        "success,failure",
        "--ret",
        "hdrs",
        "--envid",
        "QQ314159",
        "-o",
        str(ber),
    )
    assert made.returncode == 0, made.stderr
    shown = lines(mailgateway(config, "x400", "decode", str(ber)).stdout)
    assert shown["Originator"].startswith("/RFC-822=bounces(a)example.test/")
    assert "Recipient 2" not in shown
    # RFC 2156 App. A: NOTIFY=SUCCESS,FAILURE is the report bit; RET=HDRS no content return
    assert shown["Recipient 1"] == (
        "/RFC-822=carol(a)cs.nowhere.test/O=gw/PRMD=lab/ADMD= /C=GB/  (originator report report)"
    )
    assert "content-return-request" not in shown.get("Indicators", "")
    back = mailgateway(config, "x400", "to-mime", "--envelope", str(ber))
    assert back.returncode == 0, back.stderr
    assert back.stderr == ""
    head = back.stdout.splitlines()
    assert head[0].startswith("X-Envelope-From: <bounces@example.test> RET=HDRS ENVID=X400-MTS")
    assert head[1] == "X-Envelope-To: <carol@cs.nowhere.test> NOTIFY=SUCCESS,FAILURE"


def test_from_mime_without_recipients_is_a_usage_error(config: Path, tmp_path: Path) -> None:
    eml = tmp_path / "no-to.eml"
    eml.write_bytes(b"From: a@example.test\nSubject: x\n\nbody\n")
    done = mailgateway(config, "x400", "from-mime", str(eml), "-o", str(tmp_path / "out"))
    assert done.returncode == 64
    assert "give --to" in done.stderr
    assert not (tmp_path / "out").exists()


FROM_MIME = ("x400", "from-mime")


def test_from_mime_will_not_write_ber_to_a_terminal(config: Path, tmp_path: Path) -> None:
    eml = sample_eml(tmp_path / "msg.eml")
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli.main",
                "--config",
                str(config),
                *FROM_MIME,
                str(eml),
            ],
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 64
    assert "use -o FILE" in done.stderr


def test_decode_report_names_codes_and_trace(config: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.ber"
    report.write_bytes(asn1_ber.encode(mta_samples.report()))
    done = mailgateway(config, "x400", "decode", str(report))
    assert done.returncode == 0, done.stderr
    shown = lines(done.stdout)
    assert shown["MTS-APDU"] == "report"
    assert shown["Report identifier"] == "[/PRMD=Lab/ADMD= /C=GB/;rep.lab.te.845:28.10.26]"
    assert shown["Subject identifier"] == (
        "[/PRMD=Lab/ADMD= /C=GB/;mta.lab.te.844:28.10.26.21.03.58]"
    )
    assert shown["Recipient 1"].endswith("delivered 261128210405Z")
    assert shown["Recipient 2"] == (
        "/S=Brown/OU=Sales/O=Isode/PRMD=Lab/ADMD= /C=GB/  not delivered: "
        "Reason 1 (unable-to-transfer); Diagnostic 0 (unrecognised-OR-name)"
    )
    assert "X400-Received:        by /PRMD=Other/ADMD= /C=GB/ ; Relayed ; Sat, 28 Nov 2026" in (
        done.stdout
    )
    assert "\n report=Report:\n" in done.stdout


def test_to_mime_report_is_a_dsn(config: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.ber"
    report.write_bytes(asn1_ber.encode(mta_samples.report()))
    done = mailgateway_bytes(config, "x400", "to-mime", str(report))
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().splitlines()[0] == "MAIL FROM:<>"
    dsn = BytesParser(policy=email.policy.default).parsebytes(done.stdout)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert b"Diagnostic-Code: X-400; Reason 1 (unable-to-transfer)" in done.stdout


def test_to_mime_probe_has_no_internet_form(config: Path, tmp_path: Path) -> None:
    probe = tmp_path / "probe.ber"
    probe.write_bytes(asn1_ber.encode(mta_samples.probe()))
    done = mailgateway(config, "x400", "to-mime", str(probe))
    assert_one_error_line(done, "a probe has no Internet form")


def test_decode_p22_content_from_stdin(config: Path) -> None:
    info = ipms.InformationObject()
    info["ipm"] = ipms.as_component(info, "ipm", samples.simple_ipm("abc.123"))
    done = mailgateway_bytes(config, "x400", "decode", "-", stdin=asn1_ber.encode(info))
    assert done.returncode == 0, done.stderr
    shown = lines(done.stdout.decode())
    assert shown["P22 content"] == "IPM"
    assert shown["Subject"] == "inner"
    assert shown["Body part 1"].startswith("text (ia5)")


def test_decode_garbage_says_where(config: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello world, this is not BER")
    done = mailgateway(config, "x400", "decode", str(junk))
    assert_one_error_line(done, "junk.bin: BER error at offset 0: element length 101 runs past")


def test_decode_deep_nesting_is_refused(config: Path, tmp_path: Path) -> None:
    blob = tmp_path / "deep.bin"
    blob.write_bytes(b"\x30\x80" * 10_000 + b"\x00\x00" * 10_000)
    done = mailgateway(config, "x400", "decode", str(blob))
    assert_one_error_line(done, "BER error at offset 128: nesting deeper than 64")


def test_decode_other_ber_names_the_tag(config: Path, tmp_path: Path) -> None:
    blob = tmp_path / "int.bin"
    blob.write_bytes(bytes.fromhex("02012a"))
    done = mailgateway(config, "x400", "decode", str(blob))
    assert_one_error_line(done, "outer tag INTEGER: not an MTS-APDU")
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(bytes.fromhex("a0050403616263"))  # [0] { OCTET STRING }
    done = mailgateway(config, "x400", "to-mime", str(wrong))
    assert_one_error_line(done, "does not decode as MTS_APDU: unexpected OCTET STRING in")
