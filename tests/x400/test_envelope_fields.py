"""gateway.x400.envelope_fields: X.411 envelope <-> MIXER fields and SMTP
parameters (RFC 2156 4.6, 5.3.6, 5.3.7, 5.1.5-5.1.7, App. A, App. C)."""

from __future__ import annotations

import dataclasses
import email
from email import policy
from email.message import Message

import pytest

from gateway.x400.envelope_fields import (
    CriticalExtensionError,
    envelope_fields,
    envelope_from_internet,
)
from gateway.x400.model import (
    DLExpansion,
    Extension,
    GlobalDomainId,
    MessageEnvelope,
    MTSIdentifier,
    ORName,
    Redirection,
    TraceElement,
    TransferRecipient,
)
from gateway.x400.orname import parse_std_or
from gateway.x400.trace import EIT_MIXER
from tests.x400.test_heading import internet
from tests.x400.test_msgid import GW, NOW

HMG = GlobalDomainId("GB", "GOLD 400", "HMG")
UKAC = GlobalDomainId("gb", " ", "uk.ac")
HARRISON = internet("Stephen.Harrison@gosip-uk.hmg.gold-400.gb")
KILLE = internet("S.Kille@cs.ucl.ac.uk")
BATES = internet("tony@ean-relay.ac.uk")

ENV = MessageEnvelope(
    identifier=MTSIdentifier(HMG, "PC1000-910530172027-57D8"),
    originator=HARRISON,
    recipients=(TransferRecipient(KILLE, 1), TransferRecipient(BATES, 2, responsibility=False)),
    trace=(TraceElement(HMG, "910530182027+0100"), TraceElement(UKAC, "910530182326+0100")),
    internal_trace=(TraceElement(UKAC, "910530182326+0100", mta="mhs-relay.ac.uk"),),
    content_type=2,
    original_eits=("ia5-text",),
    content_identifier="Email Problems",
)


def test_rfc2156_5_3_4_2_example_envelope() -> None:
    assert envelope_fields(ENV, GW, recipient_count=1) == [
        (
            "X400-Received",
            'by mta "mhs-relay.ac.uk" in /PRMD=uk.ac/ADMD= /C=gb/ ; Relayed ;'
            " Thu, 30 May 1991 18:23:26 +0100",
        ),
        (
            "X400-Received",
            "by /PRMD=HMG/ADMD=GOLD 400/C=GB/ ; Relayed ; Thu, 30 May 1991 18:20:27 +0100",
        ),
        ("X400-MTS-Identifier", "[/PRMD=HMG/ADMD=GOLD 400/C=GB/;PC1000-910530172027-57D8]"),
        ("X400-Originator", "Stephen.Harrison@gosip-uk.hmg.gold-400.gb"),
        ("X400-Recipients", "S.Kille@cs.ucl.ac.uk"),  # disclosure prohibited: this one only
        ("X400-Content-Type", "P2-1984 (2)"),
        ("X400-Content-Identifier", "Email Problems"),
        ("Original-Encoded-Information-Types", "IA5-Text"),
    ]


def test_x400_recipients_and_disclosure() -> None:
    disclosed = dataclasses.replace(ENV, indicators=frozenset({"disclosure-of-other-recipients"}))
    assert dict(envelope_fields(disclosed, GW, recipient_count=2))["X400-Recipients"] == (
        "S.Kille@cs.ucl.ac.uk, tony@ean-relay.ac.uk"
    )
    names = [n for n, _ in envelope_fields(ENV, GW, recipient_count=2)]
    assert "X400-Recipients" not in names  # prohibited, several SMTP recipients


def test_redirect_comment_4_6_2_2() -> None:
    history = (
        Redirection(
            internet("sales-manager@sales.widget.com"),
            "910530143940+0100",
            "originator-requested-alternate-recipient",
        ),
        Redirection(
            internet("postmaster@sales.widget.com"),
            "910530144120+0100",
            "recipient-MD-assigned-alternate-recipient",
        ),
    )
    phys = Extension(7, b"\x0a\x01\x01")  # physical-forwarding-prohibited: prohibited
    default = Extension(14, b"\x0a\x01\x00")  # at its default: no comment
    rcpt = TransferRecipient(
        internet("postmaster@widget.com"),
        1,
        redirection_history=history,
        extensions=(phys, default),
    )
    env = dataclasses.replace(ENV, recipients=(rcpt,))
    assert dict(envelope_fields(env, GW, recipient_count=1))["X400-Recipients"] == (
        "postmaster@widget.com (Originally To: sales-manager@sales.widget.com"
        " Redirected on Thu, 30 May 1991 14:39:40 +0100"
        " To: Originator Requested Alternate Recipient"
        " postmaster@sales.widget.com Redirected Again on Thu, 30 May 1991 14:41:20 +0100"
        " To: Recipient MD Assigned Alternate Recipient) (Physical Forwarding Prohibited)"
    )


def test_other_mts_fields() -> None:
    dl = parse_std_or("/S=list/O=lists/ADMD=DBP/C=DE/")
    env = dataclasses.replace(
        ENV,
        content_type=22,
        priority="urgent",
        original_eits=("ia5-text", "g3-facsimile", "2.6.3.4.1"),
        indicators=frozenset({"implicit-conversion-prohibited"}),
        conversion_with_loss_prohibited=True,
        dl_expansion_history=(
            DLExpansion(ORName(dl), "910530180000Z"),
            DLExpansion(KILLE, "910530181000Z"),
        ),
        deferred_delivery="910530190000+0100",
        latest_delivery="910601000000Z",
        originator_return_address=BATES.address,
        extensions=(Extension(99, b""), Extension("1.2.3.4", b""), Extension(16, b"")),
    )
    fields = [f for f in envelope_fields(env, GW, recipient_count=1) if f[0] != "X400-Received"]
    assert fields[3:] == [
        ("X400-Content-Type", "P2-1988 (22)"),
        ("X400-Content-Identifier", "Email Problems"),
        ("Priority", "urgent"),
        ("Original-Encoded-Information-Types", "IA5-Text, G3-Fax, (2)(6)(3)(4)(1)"),
        ("DL-Expansion-History", "S.Kille@cs.ucl.ac.uk ; Thu, 30 May 1991 18:10:00 +0000 ;"),
        (
            "DL-Expansion-History",
            "/S=list/O=lists/ADMD=DBP/C=DE/@x400-gw.example.net ;"
            " Thu, 30 May 1991 18:00:00 +0000 ;",
        ),
        ("Conversion", "Prohibited"),
        ("Conversion-With-Loss", "Prohibited"),
        (
            "Discarded-X400-MTS-Extensions",
            "(99), (1)(2)(3)(4)",
        ),  # 16 (message-token): known, dropped
        ("Deferred-Delivery", "Thu, 30 May 1991 19:00:00 +0100"),
        ("Latest-Delivery-Time", "Sat, 01 Jun 1991 00:00:00 +0000"),
        ("Originator-Return-Address", "tony@ean-relay.ac.uk"),
    ]
    assert ("Priority", "normal") not in envelope_fields(ENV, GW, recipient_count=1)


@pytest.mark.parametrize(
    ("ext", "what"),
    [
        (Extension(99, b"", frozenset({"delivery"})), "standard extension 99 (unknown)"),
        (Extension("1.2.3", b"", frozenset({"transfer"})), "private extension 1.2.3"),
        (
            Extension(20, b"", frozenset({"transfer"})),
            "standard extension 20 (message-security-label)",
        ),
    ],
)
def test_critical_extension_is_refused(ext: Extension, what: str) -> None:
    with pytest.raises(CriticalExtensionError, match="critical") as info:
        envelope_fields(dataclasses.replace(ENV, extensions=(ext,)), GW, recipient_count=1)
    assert what in str(info.value)
    assert (info.value.reason, info.value.diagnostic, info.value.status) == (1, 18, "5.3.3")
    # critical for submission only: not the gateway's concern
    quiet = dataclasses.replace(ext, criticality=frozenset({"submission"}))
    envelope_fields(dataclasses.replace(ENV, extensions=(quiet,)), GW, recipient_count=1)


# --- RFC 822 -> X.400 ---------------------------------------------------------------


def message(text: str) -> Message:
    raw = text.replace("\n", "\r\n").encode() + b"\r\n\r\nbody\r\n"
    return email.message_from_bytes(raw, policy=policy.SMTP)


HEADER = (
    "Received: from pc by relay.example; Thu, 30 May 1991 18:25:00 +0100\n"
    "Subject: A useful message about X\n"
    "Message-ID: <1803.665941698@UK.AC.UCL.CS>\n"
    "Date: Thu, 30 May 1991 18:20:00 +0100\n"
    "To: S.Kille@cs.ucl.ac.uk\n"
    "From: jim@relay.example"
)


def test_defaults_4_6_1_and_5_1_5() -> None:
    env = envelope_from_internet(
        message(HEADER), "jim@relay.example", ["S.Kille@cs.ucl.ac.uk", "a@b.example"], GW
    )
    assert env.originator == internet("jim@relay.example")
    assert [(r.name, r.number, r.originator_report) for r in env.recipients] == [
        (ORName(GW.to_or("S.Kille@cs.ucl.ac.uk")), 1, "non-delivery-report"),
        (internet("a@b.example"), 2, "non-delivery-report"),
    ]
    # disclosure prohibited, conversion allowed, alternate recipient allowed,
    # return of content (5.2)
    assert env.indicators == frozenset({"alternate-recipient-allowed", "content-return-request"})
    assert env.content_type == 22
    assert env.original_eits == ("ia5-text", EIT_MIXER)
    assert env.content_identifier == "A useful mess..."  # fact 13
    assert env.content_correlator == (
        "Subject: A useful message about X\r\nMessage-ID: <1803.665941698@UK.AC.UCL.CS>\r\n"
        "Date: Thu, 30 May 1991 18:20:00 +0100\r\nTo: S.Kille@cs.ucl.ac.uk"
    )
    assert env.identifier.local == "<1803.665941698@UK.AC.UCL.CS>"  # 4.6.3
    assert env.trace[0].arrival == "910530182000+0100"  # from Date:
    assert env.trace[-1].converted_eits == ("ia5-text", EIT_MIXER)
    assert [t.mta for t in env.internal_trace] == ["relay.example", "relay.example", GW.mta_name]


def test_resent_fields_stop_msgid_mapping() -> None:
    env = envelope_from_internet(
        message(HEADER + "\nResent-From: x@y.example"), "a@b.example", ["c@d.example"], GW
    )
    assert env.identifier.local != "<1803.665941698@UK.AC.UCL.CS>"
    assert env.identifier.domain == GW.global_domain


@pytest.mark.parametrize(
    ("notify", "report"),
    [
        (frozenset({"NEVER"}), "no-report"),
        # NOTIFY=NEVER as gateway.envelope.Recipient holds it: the mapping is
        # codes.notify_to_requests (this once gave non-delivery-report)
        (frozenset(), "no-report"),
        (frozenset({"SUCCESS"}), "report"),
        (frozenset({"SUCCESS", "FAILURE"}), "report"),
        (frozenset({"FAILURE"}), "non-delivery-report"),
        (frozenset({"DELAY"}), "non-delivery-report"),
        (None, "non-delivery-report"),  # RFC 3461 4.1: failure reports only
    ],
)
def test_notify_app_a(notify: frozenset[str] | None, report: str) -> None:
    env = envelope_from_internet(
        message(HEADER), "a@b.example", ["c@d.example"], GW, notify=[notify]
    )
    assert env.recipients[0].originator_report == report


def test_app_c_default_only_without_notify() -> None:
    """Generate-Delivery-Report (App. C) asks for the report bit when the
    client gave no NOTIFY; an explicit NOTIFY (App. A 3.1) wins."""
    text = HEADER + "\nGenerate-Delivery-Report:"
    rcpt = ["c@d.example", "e@f.example"]
    notify = [None, frozenset({"FAILURE"})]
    env = envelope_from_internet(message(text), "a@b.example", rcpt, GW, notify=notify)
    assert [r.originator_report for r in env.recipients] == ["report", "non-delivery-report"]


def test_envid_ret_and_null_sender() -> None:
    env = envelope_from_internet(
        message(HEADER), "<>", ["c@d.example"], GW, envid="QQ314159", ret="HDRS"
    )
    assert env.content_correlator == "SMTP/NOTARY ENVID: QQ314159"
    assert "content-return-request" not in env.indicators
    assert env.originator == ORName(GW.or_address)
    assert env.recipients[0].originator_report == "no-report"


def test_mixer_and_app_c_fields_map_back() -> None:
    text = (
        "Subject: x\nPriority: Urgent\nConversion: Prohibited\nConversion-With-Loss: Prohibited\n"
        "X400-Content-Identifier: Email Problems\n"
        "Original-Encoded-Information-Types: IA5-Text, G3-Fax\n"
        "Deferred-Delivery: Thu, 30 May 1991 19:00:00 +0100\n"
        "Latest-Delivery-Time: Sat, 01 Jun 1991 00:00:00 +0000\n"
        "Originator-Return-Address: tony@ean-relay.ac.uk\n"
        "DL-Expansion-History: a@b.example ; Thu, 30 May 1991 18:10:00 +0000 ;\n"
        "DL-Expansion-History: c@d.example ; Thu, 30 May 1991 18:00:00 +0000 ;\n"
        "Disclose-Recipients: Allowed\nAlternate-Recipient: Prohibited\n"
        "Generate-Delivery-Report:\n"
        "X400-Received: by /PRMD=HMG/ADMD=GOLD 400/C=GB/ ; Relayed ;"
        " Thu, 30 May 1991 18:20:27 +0100"
    )
    env = envelope_from_internet(message(text), "a@b.example", ["c@d.example"], GW)
    assert env.priority == "urgent"
    assert env.indicators == frozenset(
        {
            "implicit-conversion-prohibited",
            "disclosure-of-other-recipients",
            "content-return-request",
        }
    )
    assert env.conversion_with_loss_prohibited
    assert env.content_identifier == "Email Problems"
    assert env.original_eits == ("ia5-text", "g3-facsimile", EIT_MIXER)
    assert env.deferred_delivery == "910530190000+0100"
    assert env.latest_delivery == "910601000000Z"
    assert env.originator_return_address == GW.to_or("tony@ean-relay.ac.uk")
    assert env.dl_expansion_history == (  # oldest first again
        DLExpansion(internet("c@d.example"), "910530180000Z"),
        DLExpansion(internet("a@b.example"), "910530181000Z"),
    )
    assert env.recipients[0].originator_report == "report"
    assert env.trace[0] == TraceElement(HMG, "910530182027+0100")  # not from Date: (5.1.7)


def test_no_subject_no_identifier() -> None:
    env = envelope_from_internet(message("From: a@b.example"), "a@b.example", ["c@d.example"], GW)
    assert env.content_identifier is None
    assert env.content_correlator is None
    assert env.trace[0].arrival == "240506070809Z"  # no Date: the conversion time
    assert NOW.year == 2024
