"""gateway.x400.reports: X.400 report -> DSN (RFC 2156 5.3.8) and back (5.1.8)."""

from __future__ import annotations

import dataclasses
import email
import email.message
from datetime import UTC, datetime
from email import policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dsn.parse import parse_dsn
from gateway.message import header_fields
from gateway.x400 import codes
from gateway.x400.context import Gateway
from gateway.x400.model import (
    Delivered,
    Extension,
    GlobalDomainId,
    MessageEnvelope,
    MTSIdentifier,
    NonDelivered,
    ORName,
    Redirection,
    Report,
    ReportedRecipient,
    ReportRequest,
    TraceElement,
    TransferRecipient,
)
from gateway.x400.orname import format_std_or, parse_std_or
from gateway.x400.reports import (
    InternetReport,
    dsn_to_reports,
    report_message_id,
    report_to_dsn,
)
from tests.x400 import gateways

NOW = datetime(1991, 2, 7, 15, 48, 40, tzinfo=UTC)
UKAC = GlobalDomainId("gb", "gold 400", "uk.ac")
DGC = GlobalDomainId("GB", "GOLD 400", "DGC")


def make_gateway() -> Gateway:
    return gateways.make_gateway(
        "bells.cs.ucl.ac.uk",
        "/O=ucl/PRMD=uk.ac/ADMD=gold 400/C=gb/",
        admin="UCL-CS MTA <postmaster@cs.ucl.ac.uk>",
        now=NOW,
    )


GW = make_gateway()
HILDEGARD = ORName(
    parse_std_or("/RFC-822=H.Hildegard(a)bbn.com/OU=cs/O=ucl/PRMD=uk.ac/ADMD=gold 400/C=gb/")
)
NOSUCHUSER = ORName(
    parse_std_or("/I=j/S=nosuchuser/OU=dle/O=cambridge/PRMD=DGC/ADMD=GOLD 400/C=GB/")
)
KILLE = ORName(parse_std_or("/I=S/S=Kille/OU=cs/O=ucl/PRMD=uk.ac/ADMD=gold 400/C=gb/"))
# A mnemonic address in the case of the AC.UK MCGAM: its mailbox maps back to it.
HILDE = ORName(parse_std_or("/S=Hildegard/O=ucl/PRMD=UK.AC/ADMD=GOLD 400/C=GB/"))
RETURNED = (
    b"To: H.Hildegard@bbn.com\r\nSubject: Greetings.\r\nDate: Thu, 07 Feb 91 15:48:18 +0000\r\n"
    b"Message-ID: <1803.665941698@UK.AC.UCL.CS>\r\nFrom: Steve Kille <S.Kille@cs.ucl.ac.uk>\r\n"
    b"\r\nSteve\r\n"
)


def example_1(**changes: object) -> Report:
    """RFC 2156 5.3.8.4 Example Delivery Report 1, as an X.400 report."""
    report = Report(
        identifier=MTSIdentifier(UKAC, "bells.cs.u.694:07.01.91.15.48.34"),
        destination=KILLE,
        trace=(TraceElement(UKAC, "910207154834Z"),),
        internal_trace=(TraceElement(UKAC, "910207154834Z", mta="bells.cs.ucl.ac.uk"),),
        subject=MTSIdentifier(UKAC, "<1803.665941698@UK.AC.UCL.CS>"),
        recipients=(
            ReportedRecipient(
                actual=HILDEGARD,
                number=1,
                outcome=NonDelivered(1, 0),
                arrival="910207154818Z",
                converted_eits=("ia5-text",),
                supplementary_info=(
                    "MTA 'bbn.com' gives error message  (USER) Unknown user name in "
                    "H.Hildegard(a)bbn.com"
                ),
            ),
        ),
        subject_intermediate_trace=(
            TraceElement(UKAC, "910207154818Z"),
            TraceElement(UKAC, "910207154820Z"),
        ),
        content_identifier="Greetings.",
        content_type=22,
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def example_2() -> Report:
    """RFC 2156 5.3.8.4 Example Delivery Report 2 (no returned content)."""
    return Report(
        identifier=MTSIdentifier(DGC, "DLE/910207154840Z/000"),
        destination=KILLE,
        trace=(TraceElement(DGC, "910207154840Z"), TraceElement(UKAC, "910207154908Z")),
        internal_trace=(TraceElement(UKAC, "910207154908Z", mta="bells.cs.ucl.ac.uk"),),
        subject=MTSIdentifier(UKAC, "<1796.665941626@UK.AC.UCL.CS>"),
        recipients=(
            ReportedRecipient(
                actual=NOSUCHUSER,
                number=1,
                outcome=NonDelivered(1, 0),
                arrival="910207154840Z",
                supplementary_info="DG 21187: (CEO POA) Unknown addressee.",
            ),
        ),
        content_identifier="A useful mess...",
    )


def parse(content: bytes) -> email.message.Message:
    return email.message_from_bytes(content, policy=policy.compat32)


def part(content: bytes, index: int) -> email.message.Message:
    """The ``index``-th body part of the report."""
    found = parse(content).get_payload(index)
    assert isinstance(found, email.message.Message)
    return found


def human(content: bytes) -> str:
    """The text of the first (human) part."""
    text = part(content, 0).get_payload()
    assert isinstance(text, str)
    return text


def status_groups(content: bytes) -> list[dict[str, list[str]]]:
    """Every field of every group of the delivery-status part, unfolded."""
    msg = parse(content)
    for each in msg.walk():
        if each.get_content_type() == "message/delivery-status":
            out = []
            for block in each.get_payload():
                assert isinstance(block, email.message.Message)
                group: dict[str, list[str]] = {}
                for name, value in block.items():
                    unfolded = str(value).replace("\r\n", "").replace("\n", "")
                    group.setdefault(name.lower(), []).append(unfolded.strip())
                out.append(group)
            return out
    raise AssertionError("no delivery-status part")


def header(content: bytes, name: str) -> list[str]:
    return [v for n, v in header_fields(content) if n.lower() == name.lower()]


# --- X.400 report -> DSN ------------------------------------------------------------


def test_example_1_envelope_and_header() -> None:
    out = report_to_dsn(example_1(), GW, returned=RETURNED)
    assert isinstance(out, InternetReport)
    assert out.mail_from == ""  # null reverse-path
    assert out.notify == frozenset()  # NOTIFY=NEVER
    mailbox = GW.to_rfc822(KILLE)
    assert out.rcpt_to == (mailbox,)
    content = out.content
    assert content.count(b"\n") == content.count(b"\r\n")  # CRLF only
    assert header(content, "From") == ["UCL-CS MTA <postmaster@cs.ucl.ac.uk>"]
    assert header(content, "To") == [mailbox]
    assert header(content, "Subject") == ["Delivery Report (failure) for H.Hildegard@bbn.com"]
    assert header(content, "Message-Type") == ["Delivery Report"]
    assert header(content, "X400-MTS-Identifier") == [
        "[/PRMD=uk.ac/ADMD=gold 400/C=gb/;bells.cs.u.694:07.01.91.15.48.34]"
    ]
    assert header(content, "Message-ID") == [
        '<"bells.cs.u.694:07.01.91.15.48.34*/PRMD=uk.ac/ADMD=gold 400/C=gb/"@MHS>'
    ]
    assert header(content, "Date") == ["Thu, 07 Feb 1991 15:48:34 +0000"]
    # 5.3.7: trace first, merged (the internal element stands for the external one).
    assert header_fields(content)[0] == (
        "X400-Received",
        'by mta "bells.cs.ucl.ac.uk" in /PRMD=uk.ac/ADMD=gold 400/C=gb/ ; Relayed ; '
        "Thu, 07 Feb 1991 15:48:34 +0000",
    )
    msg = parse(content)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    types = [part(content, n).get_content_type() for n in range(len(msg.get_payload()))]
    assert types == ["text/plain", "message/delivery-status", "message/rfc822"]


def test_example_1_delivery_status_fields() -> None:
    content = report_to_dsn(example_1(), GW, returned=RETURNED).content
    per_message, recipient = status_groups(content)
    assert per_message["original-envelope-id"] == [
        "[/PRMD=uk.ac/ADMD=gold 400/C=gb/;<1803.665941698@UK.AC.UCL.CS>]"
    ]
    assert per_message["reporting-mta"] == [
        'x400; mta "bells.cs.ucl.ac.uk" in /PRMD=uk.ac/ADMD=gold 400/C=gb/'
    ]
    assert per_message["dsn-gateway"] == ["dns; bells.cs.ucl.ac.uk"]
    assert per_message["arrival-date"] == ["Thu, 07 Feb 1991 15:48:18 +0000"]
    assert per_message["x400-conversion-date"] == ["Thu, 07 Feb 1991 15:48:40 +0000"]
    assert per_message["x400-content-identifier"] == ["Greetings."]
    assert per_message["x400-content-type"] == ["P2-1988 (22)"]
    assert per_message["x400-subject-intermediate-trace-information"] == [
        "by /PRMD=uk.ac/ADMD=gold 400/C=gb/ ; Relayed ; Thu, 07 Feb 1991 15:48:20 +0000",
        "by /PRMD=uk.ac/ADMD=gold 400/C=gb/ ; Relayed ; Thu, 07 Feb 1991 15:48:18 +0000",
    ]  # most recent first (5.3.8.3)
    assert recipient["original-recipient"] == ["rfc822;H.Hildegard@bbn.com"]
    assert recipient["final-recipient"] == [
        "x400;/RFC-822=H.Hildegard(a)bbn.com/OU=cs/O=ucl/PRMD=uk.ac/ADMD=gold 400/C=gb/"
    ]
    assert recipient["action"] == ["failed"]
    assert recipient["status"] == ["5.1.1"]
    assert recipient["diagnostic-code"] == [
        "X-400; Reason 1 (unable-to-transfer); Diagnostic 0 (unrecognised-OR-name)"
    ]
    assert recipient["x400-last-trace"] == ["(IA5-Text) Thu, 07 Feb 1991 15:48:18 +0000"]
    assert recipient["x400-converted-eits"] == ["IA5-Text;"]
    assert recipient["x400-originally-specified-recipient-number"] == ["1"]
    assert recipient["x400-supplementary-info"] == [
        "\"MTA 'bbn.com' gives error message  (USER) Unknown user name in H.Hildegard(a)bbn.com\";"
    ]


def test_example_1_human_text() -> None:
    content = report_to_dsn(example_1(), GW, returned=RETURNED).content
    text = human(content)
    assert text.startswith("This report relates to your message:\r\n\r\n\tGreetings.\r\n")
    assert "\tof Thu, 07 Feb 1991 15:48:18 +0000" in text
    assert "Your message was not delivered to:\r\n\tH.Hildegard@bbn.com\r\n" in text
    assert "\tfor the following reason:\r\n\tUnable to transfer: unrecognised OR name" in text
    assert "(USER) Unknown user name" in text
    assert text.rstrip().endswith("The Original Message follows:")


def test_returned_message_is_whole_for_failures() -> None:
    content = report_to_dsn(example_1(), GW, returned=RETURNED).content
    returned = part(content, 2)
    assert returned.get_content_type() == "message/rfc822"
    assert b"\r\n\r\nSteve\r\n" in content
    assert parse_dsn(content) is not None
    assert parse_dsn(content).original_message_id == "<1803.665941698@UK.AC.UCL.CS>"  # type: ignore[union-attr]


def test_returned_header_only_for_successes() -> None:
    delivered = dataclasses.replace(
        example_1().recipients[0], outcome=Delivered("910207154900Z", type_of_user=0)
    )
    content = report_to_dsn(example_1(recipients=(delivered,)), GW, returned=RETURNED).content
    assert part(content, 2).get_content_type() == "text/rfc822-headers"
    assert b"\r\n\r\nSteve\r\n" not in content
    assert header(content, "Subject") == ["Delivery Report (success) for H.Hildegard@bbn.com"]
    _, recipient = status_groups(content)
    assert recipient["action"] == ["delivered"]
    assert recipient["status"] == ["2.0.0"]
    assert "diagnostic-code" not in recipient
    assert recipient["x400-delivery-time"] == ["Thu, 07 Feb 1991 15:49:00 +0000"]
    assert recipient["x400-type-of-mts-user"] == ["public (0)"]
    text = human(content)
    assert (
        "Your message was successfully delivered to:\r\n"
        "\tH.Hildegard@bbn.com at Thu, 07 Feb 1991 15:49:00 +0000"
    ) in text


def test_example_2_without_returned_content() -> None:
    content = report_to_dsn(example_2(), GW).content
    msg = parse(content)
    assert len(msg.get_payload()) == 2
    text = human(content)
    assert text.rstrip().endswith("The Original Message is not available")
    assert "\tA useful mess...\r\n" in text
    # No MCGAM for PRMD=DGC here: the mailbox is the std-or at the gateway (4.3.5).
    mailbox = f'"{format_std_or(NOSUCHUSER.address)}"@bells.cs.ucl.ac.uk'
    assert header(content, "Subject") == [f"Delivery Report (failure) for {mailbox}"]
    assert f"Your message was not delivered to:\r\n\t{mailbox}\r\n" in text
    per_message, recipient = status_groups(content)
    assert per_message["reporting-mta"] == ["x400; /PRMD=DGC/ADMD=GOLD 400/C=GB/"]
    assert per_message["original-envelope-id"] == [
        "[/PRMD=uk.ac/ADMD=gold 400/C=gb/;<1796.665941626@UK.AC.UCL.CS>]"
    ]
    assert recipient["final-recipient"] == [
        "x400;/I=j/S=nosuchuser/OU=dle/O=cambridge/PRMD=DGC/ADMD=GOLD 400/C=GB/"
    ]
    assert recipient["x400-supplementary-info"] == ['"DG 21187: (CEO POA) Unknown addressee.";']
    # newest first: ours (with its MTA), then the DGC element
    received = header(content, "X400-Received")
    assert received[0].startswith('by mta "bells.cs.ucl.ac.uk" in /PRMD=uk.ac/')
    assert received[1].startswith("by /PRMD=DGC/ADMD=GOLD 400/C=GB/ ; Relayed ;")


def test_mixed_report_subject_and_mta() -> None:
    ok = ReportedRecipient(
        actual=KILLE, number=2, outcome=Delivered("910207154900Z"), arrival="910207154818Z"
    )
    report = example_1(recipients=(*example_1().recipients, ok))
    content = report_to_dsn(report, GW).content
    assert header(content, "Subject") == [
        'Delivery Report (success and failures) for MTA "bells.cs.ucl.ac.uk"'
    ]
    groups = status_groups(content)
    assert [g["action"] for g in groups[1:]] == [["failed"], ["delivered"]]


def test_envid_correlator_goes_to_original_envelope_id() -> None:
    """5.3.8.1: a correlator "SMTP/NOTARY ENVID: x" gives Original-Envelope-Id x;
    the subject identifier then goes to X400-Subject-Submission-Identifier."""
    report = example_1(content_correlator="SMTP/NOTARY ENVID: QQ314159")
    per_message, _ = status_groups(report_to_dsn(report, GW).content)
    assert per_message["original-envelope-id"] == ["QQ314159"]
    assert per_message["x400-subject-submission-identifier"] == [
        "[/PRMD=uk.ac/ADMD=gold 400/C=gb/;<1803.665941698@UK.AC.UCL.CS>]"
    ]
    assert "x400-content-correlator" not in per_message


def test_other_correlator_is_kept() -> None:
    report = example_1(content_correlator="Subject: Greetings.\r\nDate: Thu, 7 Feb 91")
    content = report_to_dsn(report, GW).content
    per_message, _ = status_groups(content)
    assert per_message["x400-content-correlator"] == ["Subject: Greetings. Date: Thu, 7 Feb 91"]
    text = human(content)
    assert "\tSubject: Greetings.\r\n\tDate: Thu, 7 Feb 91\r\n" in text


def test_redirected_recipient() -> None:
    """5.3.8.1: with an originally intended recipient, Original-Recipient is
    its x400 form, Final-Recipient its rfc822 form, and the actual recipient
    goes to X400-Redirect-Recipient / X400-Mapped-Redirect-Recipient."""
    r = dataclasses.replace(
        example_1().recipients[0],
        actual=NOSUCHUSER,
        originally_intended=HILDEGARD,
        redirection_history=(Redirection(HILDEGARD, "910207154818Z", "alias"),),
    )
    _, recipient = status_groups(report_to_dsn(example_1(recipients=(r,)), GW).content)
    assert recipient["original-recipient"] == [
        "x400;/RFC-822=H.Hildegard(a)bbn.com/OU=cs/O=ucl/PRMD=uk.ac/ADMD=gold 400/C=gb/"
    ]
    assert recipient["final-recipient"] == ["rfc822;H.Hildegard@bbn.com"]
    assert recipient["x400-redirect-recipient"] == [
        "x400;/I=j/S=nosuchuser/OU=dle/O=cambridge/PRMD=DGC/ADMD=GOLD 400/C=GB/"
    ]
    assert recipient["x400-mapped-redirect-recipient"][0].startswith("rfc822;")
    assert recipient["x400-redirection-history"] == [
        "intended recipient H.Hildegard@bbn.com redirected to Alias on "
        "Thu, 07 Feb 1991 15:48:18 +0000"
    ]  # 5.3.6 redirection-history-item


def test_directory_name_is_a_comment() -> None:
    named = ORName(HILDEGARD.address, directory_name="CN=Hilde (H),O=BBN")
    r = dataclasses.replace(example_1().recipients[0], actual=named)
    _, recipient = status_groups(report_to_dsn(example_1(recipients=(r,)), GW).content)
    assert recipient["final-recipient"][0].endswith("/C=gb/ (CN=Hilde \\(H\\),O=BBN)")


def test_discarded_extensions_are_listed() -> None:
    report = example_1(extensions=(Extension(27, b"\x01\x01\xff"), Extension("1.2.3.4", b"")))
    per_message, _ = status_groups(report_to_dsn(report, GW).content)
    assert per_message["x400-discarded-dr-extensions"] == ["(27), (1)(2)(3)(4)"]


@pytest.mark.parametrize(
    ("pair", "status"),
    [((1, 0), "5.1.1"), ((2, 9), "5.6.3"), ((0, None), "4.4.0"), ((4, 35), "5.1.0")],
)
def test_status_and_diagnostic_from_codes(pair: tuple[int, int | None], status: str) -> None:
    r = dataclasses.replace(example_1().recipients[0], outcome=NonDelivered(*pair))
    _, recipient = status_groups(report_to_dsn(example_1(recipients=(r,)), GW).content)
    assert recipient["status"] == [status]
    assert recipient["diagnostic-code"] == ["X-400; " + codes.diagnostic_code_text(*pair)]


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        (22, "P2-1988 (22)"),
        (2, "P2-1984 (2)"),
        (35, "edi-messaging (35)"),
        (7, "(7)"),
        ("2.6.1.4.17", "(2)(6)(1)(4)(17)"),
    ],
)
def test_content_type_both_ways(content_type: int | str, text: str) -> None:
    dsn = report_to_dsn(example_1(content_type=content_type), GW)
    per_message, _ = status_groups(dsn.content)
    assert per_message["x400-content-type"] == [text]
    back, _ = dsn_to_reports(dsn.content, dsn.rcpt_to[0], GW)
    assert back is not None and back.content_type == content_type


def test_binary_returned_content_is_reduced_to_its_header() -> None:
    content = report_to_dsn(example_1(), GW, returned=RETURNED + b"x" * 1200 + b"\r\n").content
    assert part(content, 2).get_content_type() == "text/rfc822-headers"


def test_same_input_same_bytes() -> None:
    assert report_to_dsn(example_1(), GW).content == report_to_dsn(example_1(), GW).content


def test_long_lines_are_folded_and_unfold_exactly() -> None:
    content = report_to_dsn(example_1(), GW, returned=RETURNED).content
    head, _, _ = content.partition(b"\r\n\r\n")
    assert all(len(line) <= 998 for line in content.split(b"\r\n"))
    assert max(len(line) for line in head.split(b"\r\n")) <= 90


# --- DSN -> X.400 report ------------------------------------------------------------


def test_round_trip_example_1() -> None:
    """X.400 report -> DSN -> X.400 report keeps identifiers, recipients,
    reason and diagnostic, and the other MIXER fields."""
    original = example_1()
    dsn = report_to_dsn(original, GW, returned=RETURNED)
    back, ipm = dsn_to_reports(dsn.content, dsn.rcpt_to[0], GW)
    assert ipm is None
    assert back is not None
    assert back.identifier == original.identifier
    assert back.subject == original.subject
    assert back.destination.address == GW.to_or(dsn.rcpt_to[0])
    assert back.content_identifier == "Greetings."
    assert back.content_type == 22
    assert back.subject_intermediate_trace == original.subject_intermediate_trace
    assert back.recipients == original.recipients
    # The report's trace, then the gateway's own element (5.1.6).
    assert back.trace[: len(original.trace)] == original.trace
    assert back.trace[-1].domain == GW.global_domain
    assert back.internal_trace[0] == original.internal_trace[0]
    # 5.1.8.3: the other header fields go to dsn-header-list.
    assert "Message-Type: Delivery Report" in back.rfc822_headers
    assert not any(h.lower().startswith("x400-received:") for h in back.rfc822_headers)


def test_round_trip_mixed_and_redirected() -> None:
    failed = dataclasses.replace(
        example_1().recipients[0],
        actual=NOSUCHUSER,
        number=3,
        outcome=NonDelivered(2, 19),
        originally_intended=HILDEGARD,
        redirection_history=(
            Redirection(HILDE, "910207154818Z", "directory-look-up"),
            Redirection(HILDEGARD, "910207154819Z", "alias"),
        ),
    )
    ok = ReportedRecipient(
        actual=KILLE,
        number=1,
        outcome=Delivered("910207154900Z", type_of_user=2),
        arrival="910207154818Z",
        mta_report="report",
        originator_report="report",
    )
    original = example_1(recipients=(ok, failed), content_correlator="SMTP/NOTARY ENVID: abc")
    dsn = report_to_dsn(original, GW)
    back, _ = dsn_to_reports(dsn.content, dsn.rcpt_to[0], GW)
    assert back is not None
    assert back.subject == original.subject
    assert back.content_correlator == "SMTP/NOTARY ENVID: abc"
    got_ok, got_failed = back.recipients
    assert got_ok == ok
    assert got_failed.actual == NOSUCHUSER
    assert got_failed.originally_intended == HILDEGARD
    assert got_failed.outcome == NonDelivered(2, 19)  # exact, from Diagnostic-Code
    assert got_failed.number == 3
    # Through its mailbox (5.3.6 syntax): exact for a mnemonic address; one
    # with an RFC-822 attribute comes back as that address at the gateway.
    first, second = got_failed.redirection_history
    assert first == failed.redirection_history[0]
    assert second.reason == "alias" and second.time == "910207154819Z"
    assert second.intended.address == GW.to_or("H.Hildegard@bbn.com")


def test_delivered_with_mixer_fields_round_trips() -> None:
    r = ReportedRecipient(
        actual=HILDEGARD,
        number=1,
        outcome=Delivered("910207154900+0100", type_of_user=3),
        arrival="910207154818Z",
        mta_report="report",
        originator_report="report",
    )
    dsn = report_to_dsn(example_1(recipients=(r,)), GW)
    back, _ = dsn_to_reports(dsn.content, dsn.rcpt_to[0], GW)
    assert back is not None and back.recipients == (r,)


def _without_x400_diagnostic(content: bytes) -> bytes:
    """The DSN as an Internet MTA might pass it on: the X-400 diagnostic gone."""
    lines = content.split(b"\r\n")
    out = []
    skipping = False
    for line in lines:
        if line.startswith(b"Diagnostic-Code:"):
            skipping = True
            continue
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = False
        out.append(line)
    return b"\r\n".join(out)


ALL_PAIRS = sorted(
    {(r, None) for r in codes.REASONS} | {(r, d) for r in (0, 1, 2, 4) for d in range(50)},
    key=lambda p: (p[0], -1 if p[1] is None else p[1]),
)


@pytest.mark.parametrize("pair", ALL_PAIRS)
def test_reason_and_diagnostic_through_the_status(pair: tuple[int, int | None]) -> None:
    """Without the X-400 Diagnostic-Code the pair comes back from Status by
    the 5.1.8.4 table: unchanged for codes.LOSSLESS_PAIRS, degraded as the
    two tables say for the others."""
    r = dataclasses.replace(example_1().recipients[0], outcome=NonDelivered(*pair))
    dsn = report_to_dsn(example_1(recipients=(r,)), GW)
    exact, _ = dsn_to_reports(dsn.content, dsn.rcpt_to[0], GW)
    assert exact is not None and exact.recipients[0].outcome == NonDelivered(*pair)
    stripped, _ = dsn_to_reports(_without_x400_diagnostic(dsn.content), dsn.rcpt_to[0], GW)
    assert stripped is not None
    expected = codes.x400_for(codes.status_for(*pair))
    assert stripped.recipients[0].outcome == NonDelivered(*expected)
    assert (expected == pair) == (pair in codes.LOSSLESS_PAIRS)


def test_a_diagnostic_that_disagrees_with_status_is_not_trusted() -> None:
    dsn = report_to_dsn(example_1(), GW)
    changed = dsn.content.replace(b"Status: 5.1.1", b"Status: 5.2.2")
    back, _ = dsn_to_reports(changed, dsn.rcpt_to[0], GW)
    assert back is not None and back.recipients[0].outcome == NonDelivered(1, 4)


# An Internet DSN (Postfix style) about a message that came from X.400 through
# the gateway, which sent it with ENVID "X400-MTS-Identifier: [...]".
INTERNET_DSN = (
    b"Received: by mx.example.com (Postfix) id 2EE7C40AB0; Thu, 7 Feb 1991 16:00:01 +0000\r\n"
    b"Date: Thu, 7 Feb 1991 16:00:02 +0000 (UTC)\r\n"
    b"From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"To: S.Kille@cs.ucl.ac.uk\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
    b'\tboundary="B1"\r\n'
    b"Message-Id: <20240101.ABC@mx.example.com>\r\n"
    b"\r\n"
    b"--B1\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"I'm sorry to have to inform you...\r\n"
    b"\r\n"
    b"--B1\r\n"
    b"Content-Type: message/delivery-status\r\n"
    b"\r\n"
    b"Reporting-MTA: dns; mx.example.com\r\n"
    b"Original-Envelope-Id: X400-MTS-Identifier: [/PRMD=uk.ac/ADMD=gold 400/C=gb/;<abc@x>]\r\n"
    b"Arrival-Date: Thu, 7 Feb 1991 15:59:00 +0000\r\n"
    b"\r\n"
    b"Final-Recipient: rfc822; riley@example.net\r\n"
    b"Original-Recipient: rfc822;riley@example.net\r\n"
    b"Action: failed\r\n"
    b"Status: 5.1.1\r\n"
    b"Remote-MTA: dns; mx2.example.net\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 <riley@example.net>: Recipient address rejected\r\n"
    b"\r\n"
    b"Final-Recipient: rfc822; casey@example.net\r\n"
    b"Action: delivered\r\n"
    b"Status: 2.0.0\r\n"
    b"\r\n"
    b"Final-Recipient: rfc822; jo@example.net\r\n"
    b"Original-Recipient: rfc822;list@example.net\r\n"
    b"Action: delivered\r\n"
    b"Status: 2.0.0\r\n"
    b"\r\n"
    b"--B1--\r\n"
)


def test_internet_dsn_to_report() -> None:
    report, ipm = dsn_to_reports(INTERNET_DSN, "S.Kille@cs.ucl.ac.uk", GW)
    assert ipm is None
    assert report is not None
    # 5.1.8.3 subject identifier from "X400-MTS-Identifier: [..]"
    assert report.subject == MTSIdentifier(UKAC, "<abc@x>")
    # report identifier from the Message-Id by 4.6.3
    assert report.identifier.local == "<20240101.ABC@mx.example.com>"
    assert report.destination.address == GW.to_or("S.Kille@cs.ucl.ac.uk")
    failed, delivered, listed = report.recipients
    assert [r.number for r in report.recipients] == [1, 2, 3]  # incremental
    assert failed.actual.address == GW.to_or("riley@example.net")
    assert failed.originally_intended is None  # ORCPT names the same address
    assert failed.outcome == NonDelivered(1, 0)  # 5.1.1 -> 1/0
    assert failed.arrival == "910207155900Z"  # Arrival-Date
    assert failed.mta_report == failed.originator_report == "non-delivery-report"
    assert failed.supplementary_info is not None
    assert failed.supplementary_info.startswith("mx2.example.net: 550 5.1.1 (060)riley(a)")
    assert delivered.outcome == Delivered("910207155900Z", type_of_user=0)  # public
    assert delivered.mta_report == "report"
    assert listed.originally_intended is not None
    assert listed.originally_intended.address == GW.to_or("list@example.net")
    # 5.1.8.3: Received: is trace, the rest dsn-header-list.
    assert report.trace[-1].domain == GW.global_domain
    assert any(e.mta == "mx.example.com" for e in report.internal_trace)
    assert "Subject: Undelivered Mail Returned to Sender" in report.rfc822_headers
    assert not any(h.startswith("Received:") for h in report.rfc822_headers)
    assert report.content_correlator is None
    assert report.returned_content is None  # the caller maps the DSN as an IPM


def test_delayed_recipients_go_on_as_a_message() -> None:
    delayed = INTERNET_DSN.replace(b"Action: delivered", b"Action: delayed", 1)
    report, ipm = dsn_to_reports(delayed, "S.Kille@cs.ucl.ac.uk", GW)
    assert report is not None and len(report.recipients) == 2
    assert ipm == delayed
    only_delayed = INTERNET_DSN.replace(b"Action: failed", b"Action: relayed").replace(
        b"Action: delivered", b"Action: expanded"
    )
    assert dsn_to_reports(only_delayed, "S.Kille@cs.ucl.ac.uk", GW) == (None, only_delayed)


def test_legacy_failure_action_and_x400_diagnostic_type() -> None:
    """The 5.3.8.4 examples write "Action: failure" and "x400;"."""
    dsn = report_to_dsn(example_2(), GW).content
    legacy = dsn.replace(b"Action: failed", b"Action: failure").replace(b"X-400;", b"x400;")
    report, _ = dsn_to_reports(legacy, "S.Kille@cs.ucl.ac.uk", GW)
    assert report is not None and report.recipients[0].outcome == NonDelivered(1, 0)


def test_subject_envelope_fills_in() -> None:
    env = MessageEnvelope(
        identifier=MTSIdentifier(UKAC, "<abc@x>"),
        originator=KILLE,
        recipients=(
            TransferRecipient(
                ORName(GW.to_or("casey@example.net")), number=7, originator_report="report"
            ),
        ),
        trace=(),
        content_type=2,
        content_identifier="Hello",
        original_eits=("ia5-text",),
    )
    no_envid = INTERNET_DSN.replace(
        b"Original-Envelope-Id: X400-MTS-Identifier: "
        b"[/PRMD=uk.ac/ADMD=gold 400/C=gb/;<abc@x>]\r\n",
        b"",
    )
    report, _ = dsn_to_reports(no_envid, "S.Kille@cs.ucl.ac.uk", GW, subject_envelope=env)
    assert report is not None
    assert report.subject == env.identifier
    assert report.content_type == 2 and report.content_identifier == "Hello"
    assert report.original_eits == ("ia5-text",)
    numbers = [r.number for r in report.recipients]
    assert numbers[1] == 7 and report.recipients[1].originator_report == "report"
    assert sorted(numbers) == sorted(set(numbers))


def test_generated_identifiers_without_message_id_or_envid() -> None:
    bare = INTERNET_DSN.replace(b"Message-Id: <20240101.ABC@mx.example.com>\r\n", b"")
    bare = bare.replace(b"Original-Envelope-Id: X400-MTS-Identifier: ", b"Original-Envelope-Id: ")
    bare = bare.replace(b"[/PRMD=uk.ac/ADMD=gold 400/C=gb/;<abc@x>]", b"QQ314159")
    report, _ = dsn_to_reports(bare, "S.Kille@cs.ucl.ac.uk", GW)
    assert report is not None
    assert report.identifier.domain == GW.global_domain
    assert report.subject.domain == GW.global_domain
    assert report.subject != report.identifier
    # an ENVID that is not an X.400 identifier goes back into the correlator
    assert report.content_correlator == "SMTP/NOTARY ENVID: QQ314159"


def test_no_date_no_arrival_uses_conversion_time() -> None:
    bare = INTERNET_DSN.replace(b"Date: Thu, 7 Feb 1991 16:00:02 +0000 (UTC)\r\n", b"")
    bare = bare.replace(b"Arrival-Date: Thu, 7 Feb 1991 15:59:00 +0000\r\n", b"")
    report, _ = dsn_to_reports(bare, "S.Kille@cs.ucl.ac.uk", GW)
    assert report is not None and report.recipients[0].arrival == "910207154840Z"


def test_dsn_date_when_no_arrival_date() -> None:
    bare = INTERNET_DSN.replace(b"Arrival-Date: Thu, 7 Feb 1991 15:59:00 +0000\r\n", b"")
    report, _ = dsn_to_reports(bare, "S.Kille@cs.ucl.ac.uk", GW)
    assert report is not None and report.recipients[0].arrival == "910207160002Z"


def test_not_a_dsn() -> None:
    plain = b"From: a@b\r\nTo: c@d\r\nSubject: hi\r\n\r\nhello\r\n"
    assert dsn_to_reports(plain, "c@d", GW) == (None, plain)


def test_report_message_id_reads_back() -> None:
    ident = MTSIdentifier(GlobalDomainId("DE", " ", "GMD"), "x y*z")
    content = report_to_dsn(example_1(identifier=ident), GW).content
    assert header(content, "Message-ID") == [report_message_id(ident)]
    back, _ = dsn_to_reports(content, "S.Kille@cs.ucl.ac.uk", GW)
    assert back is not None and back.identifier == ident


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(codes.REASONS)),
            st.none() | st.sampled_from(sorted(codes.DIAGNOSTICS)),
            st.booleans(),
            st.none() | st.text(st.sampled_from("abc XYZ019'()+,-./:=?"), max_size=60),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_round_trip_property(items: list[tuple[int, int | None, bool, str | None]]) -> None:
    recipients = []
    for n, (reason, diagnostic, ok, suppl) in enumerate(items, start=1):
        outcome: Delivered | NonDelivered = (
            Delivered("910207154900Z") if ok else NonDelivered(reason, diagnostic)
        )
        request: ReportRequest = "report" if ok else "non-delivery-report"
        recipients.append(
            ReportedRecipient(
                actual=ORName(parse_std_or(f"/S=user{n}/O=ucl/PRMD=uk.ac/ADMD=gold 400/C=gb/")),
                number=n,
                outcome=outcome,
                arrival="910207154818Z",
                mta_report=request,
                originator_report=request,
                supplementary_info=" ".join(suppl.split()) or None if suppl else None,
            )
        )
    original = example_1(recipients=tuple(recipients))
    dsn = report_to_dsn(original, GW)
    back, ipm = dsn_to_reports(dsn.content, dsn.rcpt_to[0], GW)
    assert ipm is None and back is not None
    assert back.recipients == original.recipients
    assert back.identifier == original.identifier and back.subject == original.subject


def test_envid_with_special_characters_is_xtext_both_ways() -> None:
    """RFC 3464 2.2.1 / RFC 3461 4.4: Original-Envelope-Id carries the ENVID
    as xtext; it comes back exactly into the correlator."""
    envid = "batch 7+8=done"
    report = example_1(content_correlator=f"SMTP/NOTARY ENVID: {envid}")
    dsn = report_to_dsn(report, GW)
    per_message, _ = status_groups(dsn.content)
    assert per_message["original-envelope-id"] == ["batch+207+2B8+3Ddone"]
    back, _ = dsn_to_reports(dsn.content, dsn.rcpt_to[0], GW)
    assert back is not None and back.content_correlator == f"SMTP/NOTARY ENVID: {envid}"
