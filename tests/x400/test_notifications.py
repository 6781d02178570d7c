"""gateway.x400.notifications: X.420 IPN <-> RFC 8098 MDN (RFC 2156 5.3.5)."""

from __future__ import annotations

import email
import email.message
from datetime import UTC, datetime
from email import policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.message import header_fields
from gateway.x400.model import IPN, IPMIdentifier, NonReceipt, ORDescriptor, ORName, Receipt
from gateway.x400.notifications import (
    MESSAGE_TYPE,
    SUBJECT,
    SUBJECT_FAILURE,
    disposition_for,
    ipn_to_internet,
    mdn_to_ipn,
)
from gateway.x400.orname import parse_std_or
from tests.x400 import gateways

NOW = datetime(1989, 6, 21, 8, 45, 25, tzinfo=UTC)
GW = gateways.make_gateway(
    "gw.cs.ucl.ac.uk",
    "/O=ucl/PRMD=uk.ac/ADMD=gold 400/C=gb/",
    admin="postmaster@cs.ucl.ac.uk",
    now=NOW,
)
# Addresses in the case of the AC.UK MCGAM, so that their mailboxes map back.
KILLE = ORDescriptor(
    formal=ORName(parse_std_or("/S=Kille/OU=cs/O=ucl/PRMD=UK.AC/ADMD=GOLD 400/C=GB/")),
    free_form="Steve Kille",
)
ONIONS = ORDescriptor(
    formal=ORName(parse_std_or("/S=Onions/O=nott/PRMD=UK.AC/ADMD=GOLD 400/C=GB/"))
)
SUBJECT_IPM = IPMIdentifier(local="1229.614418325(a)UK.AC.NOTT.CS")
FORWARD_COMMENT = "Sent on to a random destination"
TO = "Julian Onions <jpo@computer-science.nottingham.ac.uk>"


def ipn(fields: Receipt | NonReceipt, **kw: object) -> IPN:
    return IPN(subject_ipm=SUBJECT_IPM, fields=fields, ipn_originator=KILLE, **kw)  # type: ignore[arg-type]


def parts(content: bytes) -> list[email.message.Message]:
    msg = email.message_from_bytes(content, policy=policy.compat32)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "disposition-notification"
    found = msg.get_payload()
    assert isinstance(found, list)
    return [p for p in found if isinstance(p, email.message.Message)]


def text_of(content: bytes) -> str:
    return str(parts(content)[0].get_payload())


def mdn_fields(content: bytes) -> dict[str, str]:
    part = parts(content)[1]
    assert part.get_content_type() == "message/disposition-notification"
    inner = part.get_payload(0)
    assert isinstance(inner, email.message.Message)
    return {k.lower(): str(v) for k, v in inner.items()}


def header(content: bytes, name: str) -> list[str]:
    return [v for n, v in header_fields(content) if n.lower() == name.lower()]


# --- IPN -> MDN ------------------------------------------------------------------


def test_rfc_5_3_5_example() -> None:
    """The auto-forwarded example of RFC 2156 5.3.5."""
    out = ipn_to_internet(
        ipn(
            NonReceipt(
                "ipm-auto-forwarded", auto_forward_comment="Sent on to a random destination"
            ),
            conversion_eits=("g3-facsimile",),
        ),
        GW,
        to=TO,
    )
    assert out.count(b"\n") == out.count(b"\r\n")
    assert header(out, "From") == ["Steve Kille <Kille@cs.ucl.AC.UK>"]
    assert header(out, "To") == [TO]
    assert header(out, "Subject") == [SUBJECT_FAILURE]
    assert header(out, "Message-Type") == [MESSAGE_TYPE]
    assert header(out, "References") == ["<1229.614418325@UK.AC.NOTT.CS>"]
    assert header(out, "Date") == ["Wed, 21 Jun 1989 08:45:25 +0000"]
    assert text_of(out) == (
        "Your message to: Steve Kille <Kille@cs.ucl.AC.UK>\r\n"
        "was automatically forwarded.\r\n"
        "The following comment was made:\r\n"
        "   Sent on to a random destination\r\n"
        "\r\n"
        "The following information types were converted: G3-Fax\r\n"
        "\r\n"
        "The Original Message is not available\r\n"
    )
    fields = mdn_fields(out)
    assert fields["disposition"] == "automatic-action/MDN-sent-automatically; dispatched"
    assert fields["original-message-id"] == "<1229.614418325@UK.AC.NOTT.CS>"
    assert fields["final-recipient"] == "rfc822;Kille@cs.ucl.AC.UK"
    assert fields["mdn-gateway"] == "dns;gw.cs.ucl.ac.uk"


def test_receipt() -> None:
    out = ipn_to_internet(
        ipn(Receipt("890621084522+0100", "manual", "Thanks"), intended_recipient=ONIONS),
        GW,
        to=TO,
    )
    assert header(out, "Subject") == [SUBJECT]
    assert header(out, "Auto-Submitted") == []  # sent by the user
    assert text_of(out) == (
        "Your message to: Onions@nott.AC.UK\r\n"
        "was received at Wed, 21 Jun 1989 08:45:22 +0100\r\n"
        "\r\n"
        "This notification was generated Manually\r\n"
        "The following extra information was given:\r\n"
        "   Thanks\r\n"
    )  # 5.3.5: no ipn-content-return for a receipt
    fields = mdn_fields(out)
    assert fields["disposition"] == "manual-action/MDN-sent-manually; displayed"
    assert fields["original-recipient"] == "rfc822;Onions@nott.AC.UK"
    assert fields["final-recipient"] == "rfc822;Kille@cs.ucl.AC.UK"
    assert len(parts(out)) == 2


@pytest.mark.parametrize(
    ("fields", "disposition"),
    [
        (Receipt("890621084522Z", "automatic"), "manual-action/MDN-sent-automatically; displayed"),
        (Receipt("890621084522Z", "manual"), "manual-action/MDN-sent-manually; displayed"),
        (
            NonReceipt("ipm-discarded", "ipm-expired"),
            "automatic-action/MDN-sent-automatically; deleted",
        ),
        (
            NonReceipt("ipm-discarded", "ipm-obsoleted"),
            "automatic-action/MDN-sent-automatically; deleted",
        ),
        (
            NonReceipt("ipm-discarded", "user-subscription-terminated"),
            "automatic-action/MDN-sent-automatically; deleted",
        ),
        (NonReceipt("ipm-discarded"), "automatic-action/MDN-sent-automatically; deleted"),
        (
            NonReceipt("ipm-discarded", "not-used"),
            "manual-action/MDN-sent-automatically; deleted",
        ),
        (NonReceipt("ipm-auto-forwarded"), "automatic-action/MDN-sent-automatically; dispatched"),
    ],
)
def test_dispositions(fields: Receipt | NonReceipt, disposition: str) -> None:
    assert disposition_for(fields) == disposition
    assert mdn_fields(ipn_to_internet(ipn(fields), GW, to=TO))["disposition"] == disposition


@pytest.mark.parametrize(
    ("reason", "word"),
    [
        ("ipm-expired", "Expired"),
        ("ipm-obsoleted", "Obsoleted"),
        ("user-subscription-terminated", "User Subscription Terminated"),
        ("not-used", "IPM Deleted"),
        (None, "IPM Deleted"),
    ],
)
def test_discard_reason_words(reason: str | None, word: str) -> None:
    out = ipn_to_internet(ipn(NonReceipt("ipm-discarded", reason)), GW, to=TO)  # type: ignore[arg-type]
    assert header(out, "Subject") == [SUBJECT_FAILURE]
    assert f"was discarded for the following reason: {word}\r\n" in text_of(out)


def test_returned_ipm_follows() -> None:
    returned = b"From: a@b\r\nSubject: the original\r\n\r\nbody\r\n"
    out = ipn_to_internet(
        ipn(NonReceipt("ipm-discarded", "ipm-expired")), GW, to=TO, returned=returned
    )
    assert text_of(out).endswith("The Original Message follows:\r\n")
    third = parts(out)[2]
    assert third.get_content_type() == "message/rfc822"
    assert b"\r\n\r\nbody\r\n" in out
    # never for a receipt (5.3.5)
    receipt = ipn_to_internet(ipn(Receipt("890621084522Z")), GW, to=TO, returned=returned)
    assert len(parts(receipt)) == 2


def test_no_originator_falls_back() -> None:
    anonymous = IPN(subject_ipm=SUBJECT_IPM, fields=Receipt("890621084522Z"))
    out = ipn_to_internet(anonymous, GW, to=TO)
    assert header(out, "From") == ["postmaster@cs.ucl.ac.uk"]
    assert mdn_fields(out)["final-recipient"] == "rfc822;postmaster@cs.ucl.ac.uk"
    assert text_of(out).startswith("Your message to: (unknown recipient)\r\n")


def test_subject_ipm_from_x400() -> None:
    x400_id = IPMIdentifier(user=parse_std_or("/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/"), local="147")
    out = ipn_to_internet(IPN(subject_ipm=x400_id, fields=Receipt("890621084522Z")), GW, to=TO)
    assert header(out, "References") == ['<"147*/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/"@MHS>']
    back = mdn_to_ipn(out, GW)
    assert back is not None and back.subject_ipm == x400_id


# --- round trips -------------------------------------------------------------------

ROUND_TRIPS = [
    ipn(Receipt("890621084522Z", "automatic")),
    ipn(Receipt("890621084522+0100", "manual", "Thanks"), intended_recipient=ONIONS),
    ipn(NonReceipt("ipm-discarded", "ipm-expired")),
    ipn(
        NonReceipt("ipm-discarded", "ipm-obsoleted"), conversion_eits=("ia5-text", "g3-facsimile")
    ),
    ipn(NonReceipt("ipm-discarded", "user-subscription-terminated")),
    ipn(NonReceipt("ipm-discarded", "not-used")),
    ipn(NonReceipt("ipm-auto-forwarded", auto_forward_comment=FORWARD_COMMENT)),
    ipn(NonReceipt("ipm-auto-forwarded")),
]


@pytest.mark.parametrize("original", ROUND_TRIPS)
def test_round_trip(original: IPN) -> None:
    assert mdn_to_ipn(ipn_to_internet(original, GW, to=TO), GW) == original


def test_no_discard_reason_comes_back_as_not_used() -> None:
    back = mdn_to_ipn(ipn_to_internet(ipn(NonReceipt("ipm-discarded")), GW, to=TO), GW)
    assert back is not None and back.fields == NonReceipt("ipm-discarded", "not-used")


@settings(max_examples=50, deadline=None)
@given(
    st.text(st.sampled_from("abcXYZ 0129'()+,-./:=?"), min_size=1, max_size=60).filter(
        lambda s: s.strip() == s and "  " not in s
    ),
    st.booleans(),
)
def test_supplementary_info_round_trip(info: str, manual: bool) -> None:
    original = ipn(Receipt("890621084522Z", "manual" if manual else "automatic", info))
    assert mdn_to_ipn(ipn_to_internet(original, GW, to=TO), GW) == original


# --- MDNs from the Internet ----------------------------------------------------------


def internet_mdn(disposition: str, *, extra: str = "", omid: bool = True) -> bytes:
    """An MDN as Thunderbird writes one (no MIXER text)."""
    original_id = "Original-Message-ID: <abc.123@example.com>\r\n" if omid else ""
    return (
        "Date: Wed, 21 Jun 1989 09:00:00 +0200\r\n"
        "From: Steve Kille <Kille@cs.ucl.AC.UK>\r\n"
        "To: jpo@computer-science.nottingham.ac.uk\r\n"
        "Subject: Return Receipt (displayed) - hello\r\n"
        "In-Reply-To: <abc.123@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=disposition-notification;\r\n"
        ' boundary="XX"\r\n'
        f"{extra}"
        "\r\n"
        "--XX\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "\r\n"
        "This is a Return Receipt for the mail that you sent.\r\n"
        "\r\n"
        "--XX\r\n"
        "Content-Type: message/disposition-notification; name=MDNPart2.txt\r\n"
        "\r\n"
        "Reporting-UA: cs.ucl.ac.uk; Mozilla Thunderbird\r\n"
        "Final-Recipient: rfc822;Kille@cs.ucl.AC.UK\r\n"
        f"{original_id}"
        f"Disposition: {disposition}\r\n"
        "\r\n"
        "--XX--\r\n"
    ).encode()


def test_internet_displayed() -> None:
    got = mdn_to_ipn(internet_mdn("manual-action/MDN-sent-manually; displayed"), GW)
    assert got is not None
    assert got.subject_ipm == IPMIdentifier(local="abc.123(a)example.com")
    assert got.fields == Receipt("890621090000+0200", "manual")  # the MDN's Date
    assert got.ipn_originator == KILLE
    assert got.intended_recipient is None


def test_internet_displayed_automatically() -> None:
    got = mdn_to_ipn(internet_mdn("manual-action/MDN-sent-automatically; displayed"), GW)
    assert got is not None and got.fields == Receipt("890621090000+0200", "automatic")


@pytest.mark.parametrize(
    ("disposition", "fields"),
    [
        ("manual-action/MDN-sent-manually; deleted", NonReceipt("ipm-discarded", "not-used")),
        ("automatic-action/MDN-sent-automatically; deleted", NonReceipt("ipm-discarded")),
        ("automatic-action/MDN-sent-automatically; dispatched", NonReceipt("ipm-auto-forwarded")),
        ("Automatic-Action/MDN-Sent-Automatically ; Dispatched", NonReceipt("ipm-auto-forwarded")),
    ],
)
def test_internet_non_receipts(disposition: str, fields: NonReceipt) -> None:
    got = mdn_to_ipn(internet_mdn(disposition), GW)
    assert got is not None and got.fields == fields


@pytest.mark.parametrize(
    "disposition",
    [
        "automatic-action/MDN-sent-automatically; processed",
        "manual-action/MDN-sent-manually; displayed/error",
        "automatic-action/MDN-sent-automatically; denied",
        "automatic-action/MDN-sent-automatically; failed",
        "displayed",
        "",
    ],
)
def test_no_x420_equivalent(disposition: str) -> None:
    assert mdn_to_ipn(internet_mdn(disposition), GW) is None


def test_subject_from_in_reply_to_when_no_original_message_id() -> None:
    got = mdn_to_ipn(internet_mdn("manual-action/MDN-sent-manually; displayed", omid=False), GW)
    assert got is not None and got.subject_ipm == IPMIdentifier(local="abc.123(a)example.com")


def test_no_subject_message_at_all() -> None:
    mdn = internet_mdn("manual-action/MDN-sent-manually; displayed", omid=False)
    mdn = mdn.replace(b"In-Reply-To: <abc.123@example.com>\r\n", b"")
    assert mdn_to_ipn(mdn, GW) is None


@pytest.mark.parametrize(
    "content",
    [
        b"From: a@b\r\nSubject: hi\r\n\r\nhello\r\n",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n"
        b"\r\n--B--\r\n",
        b"",
        b"\x00\xff garbage",
    ],
)
def test_not_an_mdn(content: bytes) -> None:
    assert mdn_to_ipn(content, GW) is None
