"""gateway.x400.heading: IPM heading <-> RFC 822 fields (RFC 2156 5.3.4, 5.1.3, 4.7)."""

from __future__ import annotations

import contextlib
import dataclasses
import email
from email import policy
from email.message import Message

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.x400.heading import (
    heading_fields,
    heading_from_fields,
    mailbox_to_ordescriptor,
    ordescriptor_to_mailbox,
    parse_address_list,
)
from gateway.x400.model import (
    Extension,
    Heading,
    IPMIdentifier,
    ORDescriptor,
    ORName,
    RecipientSpecifier,
)
from gateway.x400.orname import ps_encode
from tests.x400.test_msgid import DIETRICH, GW

ID = IPMIdentifier(local="1803.665941698(a)UK.AC.UCL.CS")


def internet(address: str) -> ORName:
    """The O/R name an Internet address with no MCGAM maps to (Stage II)."""
    return ORName(dataclasses.replace(GW.or_address, dda=(("RFC-822", ps_encode(address)),)))


def message(text: str) -> Message:
    raw = text.replace("\n", "\r\n").encode() + b"\r\n\r\nbody\r\n"
    return email.message_from_bytes(raw, policy=policy.SMTP)


def fields_to_message(fields: list[tuple[str, str]]) -> Message:
    return message("\n".join(f"{n}: {v}" if v else f"{n}:" for n, v in fields))


JIM = ORDescriptor(internet("jim@relay.example"), "Jim Craigie")

# X.400 -> RFC 822, one heading element at a time (5.3.4): exact strings.
TO_822 = [
    (Heading(ID, originator=JIM), [("From", "Jim Craigie <jim@relay.example>")]),
    (
        Heading(ID, originator=JIM, authorizing_users=(ORDescriptor(ORName(DIETRICH)),)),
        [
            ("From", "/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/@x400-gw.example.net"),
            ("Sender", "Jim Craigie <jim@relay.example>"),
        ],
    ),
    (
        Heading(ID, primary=(RecipientSpecifier(ORDescriptor(free_form="Friends")),)),
        [("To", "Friends:;")],
    ),
    (
        Heading(ID, copy=(RecipientSpecifier(JIM, reply_requested=True),)),
        [("Cc", "Jim Craigie <jim@relay.example> (Reply requested)")],
    ),
    (Heading(ID, blind_copy=()), [("Bcc", "")]),
    (
        Heading(
            ID,
            reply_recipients=(
                ORDescriptor(internet("a@b.example"), telephone="+44-181-333-7777"),
            ),
        ),
        [("Reply-To", "a@b.example (Tel +44-181-333-7777)")],
    ),
    (
        Heading(ID, replied_to=IPMIdentifier(DIETRICH, "147")),
        [("In-Reply-To", '<"147*/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/"@MHS>')],
    ),
    (
        Heading(ID, related=(IPMIdentifier(local="Your message"), ID)),
        [("References", "Your message <1803.665941698@UK.AC.UCL.CS>")],
    ),
    (Heading(ID, obsoleted=(ID,)), [("Supersedes", "<1803.665941698@UK.AC.UCL.CS>")]),
    (Heading(ID, subject="Email Problems"), [("Subject", "Email Problems")]),
    (Heading(ID, subject="Grüße"), [("Subject", "=?utf-8?b?R3LDvMOfZQ==?=")]),
    (Heading(ID, subject="two\r\nlines"), [("Subject", "two lines")]),
    (
        Heading(ID, expiry_time="891020192511+0100", reply_time="910530182027Z"),
        [
            ("Expires", "Fri, 20 Oct 1989 19:25:11 +0100"),
            ("Reply-By", "Thu, 30 May 1991 18:20:27 +0000"),
        ],
    ),
    (
        Heading(ID, importance="high", sensitivity="company-confidential", autoforwarded=True),
        [
            ("Importance", "high"),
            ("Sensitivity", "Company-Confidential"),
            ("Autoforwarded", "TRUE"),
        ],
    ),
    (Heading(ID, autoforwarded=False), [("Autoforwarded", "FALSE")]),
    (
        Heading(ID, incomplete_copy=True, languages=("en", "fr"), auto_submitted="auto-replied"),
        [
            ("Incomplete-Copy", ""),
            ("Content-Language", "en, fr"),
            ("Autosubmitted", "auto-replied"),
        ],
    ),
    (
        Heading(ID, rfc822_fields=("Fruit-Of-The-Day: Kiwi Fruit", "Keywords: a, b")),
        [("Fruit-Of-The-Day", "Kiwi Fruit"), ("Keywords", "a, b")],
    ),
    (
        Heading(ID, languages=("en",), rfc822_fields=("Content-Language: en-GB",)),
        [("Content-Language", "en-GB")],
    ),
    (
        Heading(ID, extensions=(Extension("1.2.826.0.1004.10", b"\x05\x00"), Extension(7, b""))),
        [("Discarded-X400-IPMS-Extensions", "(1)(2)(826)(0)(1004)(10), (7)")],
    ),
]


@pytest.mark.parametrize(("heading", "expected"), TO_822)
def test_heading_to_822(heading: Heading, expected: list[tuple[str, str]]) -> None:
    assert heading_fields(heading, GW) == [
        ("Message-ID", "<1803.665941698@UK.AC.UCL.CS>"),
        *expected,
    ]


# RFC 822 -> X.400 (5.1.3): the header (after Message-ID) and the heading fields it sets.
FROM_822 = [
    ("From: Jim Craigie <jim@relay.example>", {"originator": JIM}),
    (
        "From: jim@relay.example\nSender: Jim Craigie <jim@relay.example>",
        {"originator": JIM, "authorizing_users": (ORDescriptor(internet("jim@relay.example")),)},
    ),
    (  # comments join the phrase in the free-form name (4.7.1 step 2)
        "To: Jim (the boss) Craigie <jim@relay.example> (office)",
        {
            "primary": (
                RecipientSpecifier(
                    ORDescriptor(internet("jim@relay.example"), "Jim Craigie (the boss) (office)")
                ),
            )
        },
    ),
    (
        "To: Friends: a@b.example, c@d.example;, e@f.example\nTo: g@h.example",
        {
            "primary": tuple(
                RecipientSpecifier(d)
                for d in (
                    ORDescriptor(free_form="Friends"),
                    ORDescriptor(internet("a@b.example")),
                    ORDescriptor(internet("c@d.example")),
                    ORDescriptor(internet("e@f.example")),
                    ORDescriptor(internet("g@h.example")),
                )
            )
        },
    ),
    (
        "To: <@relay.example,@r2.example:jim@relay.example>",  # source route dropped
        {"primary": (RecipientSpecifier(ORDescriptor(internet("jim@relay.example"))),)},
    ),
    ("Bcc:", {"blind_copy": ()}),
    (
        "Bcc: undisclosed-recipients:;",
        {"blind_copy": (RecipientSpecifier(ORDescriptor(free_form="undisclosed-recipients")),)},
    ),
    ("In-Reply-To: <a@b.example>", {"replied_to": IPMIdentifier(local="a(a)b.example")}),
    (
        "In-Reply-To: <a@b.example> <c@d.example>\nReferences: <c@d.example> <e@f>",
        {
            "related": tuple(
                IPMIdentifier(local=x) for x in ("c(a)d.example", "e(a)f", "a(a)b.example")
            )
        },
    ),
    ("Subject: =?iso-8859-1?q?Gr=FC=DFe?= =?utf-8?b?IQ==?=  aus", {"subject": "Grüße! aus"}),
    ("Subject: " + "x" * 200, {"subject": "x" * 128}),
    (
        "Supersedes: <a@b.example>\nObsoletes: <c@d>",
        {"obsoleted": (IPMIdentifier(local="a(a)b.example"), IPMIdentifier(local="c(a)d"))},
    ),
    ("Expiry-Date: Tue, 20 Jun 89 19:25:11 +0100", {"expiry_time": "890620192511+0100"}),
    (
        "Expires: Tue, 20 Jun 1989 19:25:11 +0100\nReply-By: 1 Jan 2000 00:00 Z",
        {"expiry_time": "890620192511+0100", "reply_time": "000101000000Z"},
    ),
    (
        "Importance: HIGH\nSensitivity: private\nAutoforwarded: true",
        {"importance": "high", "sensitivity": "private", "autoforwarded": True},
    ),
    (
        "Incomplete-Copy:\nAutosubmitted: Auto-Generated",
        {"incomplete_copy": True, "auto_submitted": "auto-generated"},
    ),
    ("Content-Language: en, fr", {"languages": ("en", "fr")}),
    (
        "Content-Language: en-GB (British)",
        {"languages": ("en",), "rfc822_fields": ("Content-Language: en-GB (British)",)},
    ),
    ("Language: de", {"languages": ("de",)}),
    (  # no IPM home: rfc-822-field-list, unfolded, "Name: value"
        "Keywords: a,\n  b\nComments: hi\nResent-From: x@y.example\nX-Fruit:Kiwi\n"
        "Fruit-of-the-day: Kiwi",
        {
            "rfc822_fields": (
                "Keywords: a, b",
                "Comments: hi",
                "Resent-From: x@y.example",
                "X-Fruit: Kiwi",
                "Fruit-of-the-day: Kiwi",
            )
        },
    ),
    (  # unparseable fields go there too (5.1.3 "Other Fields")
        "To: not an address\nDate: someday\nImportance: urgent\nExpires: never\n"
        "Autosubmitted: auto-forwarded",
        {
            "rfc822_fields": (
                "To: not an address",
                "Date: someday",
                "Importance: urgent",
                "Expires: never",
                "Autosubmitted: auto-forwarded",
            )
        },
    ),
    (  # handled elsewhere or never mapped back (5.1.7): not in the heading
        "Date: Thu, 30 May 1991 18:20:27 +0100\n"
        "Received: from a by b; Thu, 30 May 1991 18:20:27 +0100\n"
        "X400-Originator: a@b\nX400-Recipients: a@b\nX400-MTS-Identifier: [/C=GB/ADMD=x/;y]\n"
        "X400-Content-Type: P2-1988 (22)\nMessage-Type: Delivery Report\n"
        "Discarded-X400-MTS-Extensions: (9)\nDiscarded-X400-IPMS-Extensions: (1)(2)\n"
        "MIME-Version: 1.0\nContent-Type: text/plain\nPriority: urgent\nConversion: Prohibited\n"
        "X400-Received: by /ADMD=x/C=GB/ ; Relayed ; Thu, 30 May 1991 18:20:27 +0100",
        {},
    ),
    (  # MIXER envelope fields that do not parse are kept
        "Priority: 1 (Highest)\nX400-Received: garbage",
        {"rfc822_fields": ("Priority: 1 (Highest)", "X400-Received: garbage")},
    ),
]


@pytest.mark.parametrize(("header", "expected"), FROM_822)
def test_822_to_heading(header: str, expected: dict[str, object]) -> None:
    heading = heading_from_fields(
        message("Message-ID: <1803.665941698@UK.AC.UCL.CS>\n" + header), GW
    )
    assert heading == dataclasses.replace(Heading(ID), **expected)  # type: ignore[arg-type]


def test_default_this_ipm() -> None:
    one = heading_from_fields(message("Subject: a"), GW)
    assert one.this_ipm.user == GW.or_address and one.this_ipm.local
    assert heading_from_fields(message("Subject: a"), GW).this_ipm == one.this_ipm
    bad = heading_from_fields(message("Message-ID: junk"), GW)
    assert bad.rfc822_fields == ("Message-ID: junk",)


def test_rfc2156_5_3_4_2_example_header() -> None:
    text = (
        "From: Stephen.Harrison@gosip-uk.hmg.gold-400.gb (Tel +44 71 217 3487)\n"
        "Message-ID: <PC1000-910530172027-57D8*@MHS>\n"
        "To: Jim Craigie <NTIN36@gec-b.rutherford.ac.uk>,\n    Tony Bates <tony@ean-relay.ac.uk>\n"
        "Subject: Email Problems\nSender: Stephen.Harrison@gosip-uk.hmg.gold-400.gb"
    )
    heading = heading_from_fields(message(text), GW)
    assert heading.this_ipm == IPMIdentifier(local="PC1000-910530172027-57D8")
    assert heading.originator == ORDescriptor(
        internet("Stephen.Harrison@gosip-uk.hmg.gold-400.gb")
    )
    assert heading.authorizing_users[0].free_form == "(Tel +44 71 217 3487)"
    # AC.UK#PRMD$UK\.AC.ADMD$GOLD 400.C$GB# (conf/x400): an X.400 user
    assert heading.primary[0].recipient.formal is not None
    assert heading.primary[0].recipient.formal.address.prmd == "UK.AC"
    assert heading.primary[0].recipient.free_form == "Jim Craigie"
    out = dict(heading_fields(heading, GW))
    assert out["Message-ID"] == "<PC1000-910530172027-57D8*@MHS>"
    assert out["Sender"] == "Stephen.Harrison@gosip-uk.hmg.gold-400.gb"
    assert out["To"] == (
        "Jim Craigie <NTIN36@gec-b.rutherford.AC.UK>, Tony Bates <tony@ean-relay.AC.UK>"
    )


def test_ordescriptor_mailbox() -> None:
    d = ORDescriptor(ORName(DIETRICH, "CN=Dietrich, O=Siemens"), "Herr (Dr.) Dietrich")
    assert ordescriptor_to_mailbox(d, GW) == (
        '"Herr (Dr.) Dietrich" </S=Dietrich/O=Siemens/ADMD=DBP/C=DE/@x400-gw.example.net>'
        " (CN=Dietrich, O=Siemens)"
    )
    assert mailbox_to_ordescriptor(
        '"Herr (Dr.) Dietrich" <"/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/"@x400-gw.example.net>', GW
    ) == ORDescriptor(ORName(DIETRICH), "Herr (Dr.) Dietrich")
    assert ordescriptor_to_mailbox(ORDescriptor(telephone="+1 555"), GW) == '"":; (Tel +1 555)'
    assert ordescriptor_to_mailbox(ORDescriptor(free_form="Ünïcode"), GW).endswith("?=:;")
    with pytest.raises(ValueError):
        mailbox_to_ordescriptor("a@b.example, c@d.example", GW)
    # free-form names are cut to 64 without breaking a comment
    long = "A" * 50 + " (" + "c" * 30 + ")"
    assert parse_address_list(f"{long} <a@b.example>", GW)[0].free_form == "A" * 50


# --- round trip: Heading -> fields -> Heading ------------------------------------

_local = st.text(alphabet="abcxyz019", min_size=1, max_size=8)
_free = st.none() | st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=20,
).filter(lambda t: t.strip() == t and "  " not in t and "\x85" not in t)
descriptors = st.one_of(
    st.builds(
        lambda lp, f: ORDescriptor(internet(f"{lp}@example.org"), f),
        _local,
        _free,
    ),
    st.builds(lambda lp: ORDescriptor(ORName(dataclasses.replace(DIETRICH, surname=lp))), _local),
    st.builds(lambda f: ORDescriptor(free_form=f), _free.filter(bool)),
)
specs = st.lists(descriptors.map(RecipientSpecifier), max_size=3).map(tuple)
ids = st.one_of(
    st.builds(lambda lp: IPMIdentifier(local=f"{lp}(a)example.org"), _local),
    st.builds(lambda lp: IPMIdentifier(DIETRICH, lp), _local),
    st.builds(lambda lp: IPMIdentifier(local=lp), _local),
)
times = st.sampled_from(["891020192511+0100", "260102030405Z", "000101000000-0500"])


@st.composite
def headings(draw: st.DrawFn) -> Heading:
    return Heading(
        this_ipm=draw(ids.filter(lambda i: i.user is not None or "(a)" in (i.local or ""))),
        originator=draw(st.none() | descriptors.filter(lambda d: d.formal is not None)),
        primary=draw(specs),
        copy=draw(specs),
        blind_copy=draw(st.none() | specs),
        replied_to=draw(st.none() | ids),
        obsoleted=tuple(
            draw(st.lists(ids.filter(lambda i: i.user or "(a)" in (i.local or "")), max_size=2))
        ),
        related=tuple(
            draw(st.lists(ids.filter(lambda i: i.user or "(a)" in (i.local or "")), max_size=2))
        ),
        subject=draw(st.none() | _free.filter(bool)),
        expiry_time=draw(st.none() | times),
        reply_time=draw(st.none() | times),
        reply_recipients=tuple(draw(st.lists(descriptors, max_size=2))),
        importance=draw(st.sampled_from([None, "low", "normal", "high"])),
        sensitivity=draw(st.sampled_from([None, "personal", "private", "company-confidential"])),
        autoforwarded=draw(st.sampled_from([None, True, False])),
        incomplete_copy=draw(st.booleans()),
        languages=tuple(draw(st.lists(st.sampled_from(["en", "fr", "de"]), max_size=2))),
        auto_submitted=draw(
            st.sampled_from([None, "not-auto-submitted", "auto-generated", "auto-replied"])
        ),
        rfc822_fields=tuple(
            draw(
                st.lists(
                    st.sampled_from(["X-Fruit: Kiwi", "Keywords: a, b", "Comments: (x)"]),
                    max_size=2,
                    unique=True,
                )
            )
        ),
    )


@settings(max_examples=150)
@given(headings())
def test_heading_round_trip(heading: Heading) -> None:
    fields = heading_fields(heading, GW)
    back = heading_from_fields(fields_to_message(fields), GW)
    assert back == heading


@given(st.text(max_size=60))
def test_address_parser_only_raises_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_address_list(text, GW)
