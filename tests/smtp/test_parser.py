"""SMTP command and argument parsing (RFC 5321 4.1, RFC 1870, 3461, 4954, 6152, 6531)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.envelope import Address
from gateway.errors import UNKNOWN_USER, GatewayError
from gateway.smtp import codes
from gateway.smtp.parser import (
    Command,
    MailFrom,
    RcptTo,
    SMTPSyntaxError,
    parse_command,
    parse_helo,
    parse_mail_from,
    parse_rcpt_to,
    xtext_decode,
    xtext_encode,
)

PM = "example.test"


def status_of(exc: pytest.ExceptionInfo[SMTPSyntaxError]) -> tuple[int, str | None]:
    return exc.value.reply.code, exc.value.reply.status


# --- parse_command ----------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "verb", "argument"),
    [
        (b"EHLO client.example.org", "EHLO", "client.example.org"),
        (b"ehlo client", "EHLO", "client"),
        (b"QUIT", "QUIT", ""),
        (b"DATA ", "DATA", ""),
        (b"MAIL FROM:<a@b.example> SIZE=10", "MAIL", "FROM:<a@b.example> SIZE=10"),
        (b'RCPT TO:<"a  b"@x.example>', "RCPT", 'TO:<"a  b"@x.example>'),
        (b"STARTTLS", "STARTTLS", ""),
        (b"starttls", "STARTTLS", ""),
        (b"XYZW foo", "XYZW", "foo"),  # unknown verbs are the server's to refuse
        (b"POST / HTTP/1.1", "POST", "/ HTTP/1.1"),
        (b"MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", "MAIL", "FROM:<jörg@b.example> SMTPUTF8"),
    ],
)
def test_parse_command(line: bytes, verb: str, argument: str) -> None:
    assert parse_command(line) == Command(verb, argument)


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (b"", codes.UNRECOGNIZED),
        (b"   ", codes.UNRECOGNIZED),
        (b" QUIT", codes.UNRECOGNIZED),
        (b"GET / HTTP/1.0", codes.UNRECOGNIZED),
        (b"HELLO there", codes.UNRECOGNIZED),
        (b"QU1T", codes.UNRECOGNIZED),
        (b"MAIL\tFROM:<a@b>", codes.UNRECOGNIZED),
        (b"NOOP \x00", codes.NUL_IN_COMMAND),
        (b"\x00QUIT", codes.NUL_IN_COMMAND),
        (b"NOOP a\rb", codes.BARE_NEWLINE),
        (b"NOOP a\nb", codes.BARE_NEWLINE),
    ],
)
def test_parse_command_refused(line: bytes, reply: codes.Reply) -> None:
    with pytest.raises(SMTPSyntaxError) as exc:
        parse_command(line)
    assert exc.value.reply == reply


@pytest.mark.parametrize("line", [b"MAIL FROM:<\xff@b>", b"NOOP \x01", b"NOOP \x7f", b"HELO a\tb"])
def test_parse_command_bad_argument(line: bytes) -> None:
    with pytest.raises(SMTPSyntaxError) as exc:
        parse_command(line)
    assert status_of(exc) == (501, "5.5.2")


# --- MAIL FROM --------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("FROM:<a@b.example>", MailFrom(Address("a", "b.example"))),
        ("from:<a@B.Example>", MailFrom(Address("a", "b.example"))),
        ("FROM: <a@b.example>", MailFrom(Address("a", "b.example"))),  # Postfix tolerance
        ("FROM:<>", MailFrom(None)),
        ("FROM:<> ", MailFrom(None)),
        ("FROM:<a@b.example>  SIZE=100", MailFrom(Address("a", "b.example"), size=100)),
        ("FROM:<a@b.example> SIZE=0", MailFrom(Address("a", "b.example"), size=0)),
        (
            "FROM:<a@b.example> size=12345678901234567890",
            MailFrom(Address("a", "b.example"), size=12345678901234567890),
        ),
        ("FROM:<a@b.example> BODY=8bitmime", MailFrom(Address("a", "b.example"), body="8BITMIME")),
        ("FROM:<a@b.example> BODY=7BIT", MailFrom(Address("a", "b.example"), body="7BIT")),
        (
            "FROM:<a@b.example> BODY=BINARYMIME",
            MailFrom(Address("a", "b.example"), body="BINARYMIME"),
        ),
        ("FROM:<a@b.example> RET=hdrs", MailFrom(Address("a", "b.example"), ret="HDRS")),
        ("FROM:<a@b.example> RET=FULL", MailFrom(Address("a", "b.example"), ret="FULL")),
        (
            "FROM:<a@b.example> ENVID=QQ314159+2B+3Dx",
            MailFrom(Address("a", "b.example"), envid="QQ314159+=x"),
        ),
        ("FROM:<a@b.example> AUTH=<>", MailFrom(Address("a", "b.example"), auth="<>")),
        (
            "FROM:<a@b.example> AUTH=e+3Dmc2@example.com",
            MailFrom(Address("a", "b.example"), auth="e=mc2@example.com"),
        ),
        ("FROM:<a@b.example> SMTPUTF8", MailFrom(Address("a", "b.example"), smtputf8=True)),
        (
            "FROM:<jörg@bü.example> SMTPUTF8",
            MailFrom(Address("jörg", "bü.example"), smtputf8=True),
        ),
        ('FROM:<"a b"@b.example>', MailFrom(Address('"a b"', "b.example"))),
        ('FROM:<"a>b\\"c"@b.example>', MailFrom(Address('"a>b\\"c"', "b.example"))),
        ("FROM:<@relay.example,@r2.example:a@b.example>", MailFrom(Address("a", "b.example"))),
        ("FROM:<a@[192.0.2.1]>", MailFrom(Address("a", "[192.0.2.1]"))),
        ("FROM:<a@[IPv6:2001:db8::1]>", MailFrom(Address("a", "[ipv6:2001:db8::1]"))),
        ("FROM:<a%c.example@b.example>", MailFrom(Address("a%c.example", "b.example"))),
        (
            "FROM:<a@b.example> SIZE=1 BODY=8BITMIME RET=HDRS ENVID=x SMTPUTF8 AUTH=<>",
            MailFrom(Address("a", "b.example"), 1, "8BITMIME", "HDRS", "x", True, "<>"),
        ),
    ],
)
def test_mail_from(argument: str, expected: MailFrom) -> None:
    assert parse_mail_from(argument) == expected


@pytest.mark.parametrize(
    ("argument", "code", "status"),
    [
        ("", 501, "5.5.4"),
        ("FROM", 501, "5.5.4"),
        ("FROM:", 501, "5.5.4"),
        ("TO:<a@b.example>", 501, "5.5.4"),
        ("FROMX:<a@b.example>", 501, "5.5.4"),
        ("FROM:a@b.example", 501, "5.1.7"),  # path must be in <>
        ("FROM:<a@b.example", 501, "5.1.7"),
        ("FROM:<a@b.example>SIZE=1", 501, "5.1.7"),
        ("FROM:<a@b.example> <c@d>", 501, "5.5.4"),
        ("FROM:<a b@b.example>", 501, "5.1.7"),
        ("FROM:<a@b@c.example>", 501, "5.1.7"),
        ("FROM:<a..b@b.example>", 501, "5.1.7"),
        ("FROM:<.a@b.example>", 501, "5.1.7"),
        ("FROM:<a@-b.example>", 501, "5.1.7"),
        ("FROM:<a@b..example>", 501, "5.1.7"),
        ("FROM:<a@>", 501, "5.1.7"),
        ("FROM:<@b.example>", 501, "5.1.7"),
        ("FROM:<a@[300.1.1.1]>", 501, "5.1.7"),
        ("FROM:<a@[IPv6:zz]>", 501, "5.1.7"),
        ('FROM:<"a@b.example>', 501, "5.1.7"),
        ('FROM:<"a"b@b.example>', 501, "5.1.7"),
        ("FROM:<user>", 553, "5.1.7"),  # unqualified
        ('FROM:<"user">', 553, "5.1.7"),
        ("FROM:<" + "a" * 250 + "@b.example>", 501, "5.5.4"),  # a long local part: path > 256
        ("FROM:<a@" + "b" * 250 + ".example>", 501, "5.5.4"),  # path > 256
        ("FROM:<jörg@b.example>", 553, "5.6.7"),  # RFC 6531 3.7.4.1
        ("FROM:<a@bü.example>", 553, "5.6.7"),
        ("FROM:<a@b.example> SIZE=", 501, "5.5.4"),
        ("FROM:<a@b.example> SIZE", 501, "5.5.4"),
        ("FROM:<a@b.example> SIZE=-1", 501, "5.5.4"),
        ("FROM:<a@b.example> SIZE=1k", 501, "5.5.4"),
        ("FROM:<a@b.example> SIZE=123456789012345678901", 501, "5.5.4"),
        ("FROM:<a@b.example> SIZE=1 SIZE=2", 501, "5.5.4"),
        ("FROM:<a@b.example> SIZE=1 size=1", 501, "5.5.4"),
        ("FROM:<a@b.example> BODY=9BIT", 501, "5.5.4"),
        ("FROM:<a@b.example> RET=ALL", 501, "5.5.4"),
        ("FROM:<a@b.example> ENVID=a+zz", 501, "5.5.4"),
        ("FROM:<a@b.example> ENVID=" + "x" * 101, 501, "5.5.4"),
        ("FROM:<a@b.example> ENVID=a+00", 501, "5.5.4"),
        ("FROM:<a@b.example> SMTPUTF8=yes", 501, "5.5.4"),
        ("FROM:<a@b.example> AUTH", 501, "5.5.4"),
        ("FROM:<a@b.example> AUTH=a+2", 501, "5.5.4"),
        ("FROM:<a@b.example> =x", 501, "5.5.4"),
        ("FROM:<a@b.example> -X=1", 501, "5.5.4"),
        ("FROM:<a@b.example> X=a=b", 501, "5.5.4"),
        ("FROM:<a@b.example> ENVID=é", 501, "5.5.4"),  # xtext is ASCII
        ("FROM:<a@b.example> XFOO=é", 555, "5.5.4"),
        ("FROM:<a@b.example> NOTIFY=NEVER", 555, "5.5.4"),  # RCPT-only parameter
        ("FROM:<a@b.example> XFOO", 555, "5.5.4"),
        ("FROM:<a@b.example> XFOO=1", 555, "5.5.4"),
    ],
)
def test_mail_from_refused(argument: str, code: int, status: str) -> None:
    with pytest.raises(SMTPSyntaxError) as exc:
        parse_mail_from(argument)
    assert status_of(exc) == (code, status)


# --- RCPT TO ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "utf8", "expected"),
    [
        ("TO:<a@b.example>", False, RcptTo(Address("a", "b.example"))),
        ("to: <a@b.example>", False, RcptTo(Address("a", "b.example"))),
        ("TO:<Postmaster>", False, RcptTo(Address("postmaster", PM), postmaster=True)),
        ("TO:<POSTMASTER>", False, RcptTo(Address("postmaster", PM), postmaster=True)),
        (
            "TO:<postmaster@other.example>",
            False,
            RcptTo(Address("postmaster", "other.example")),
        ),
        ("TO:<a@b.example> NOTIFY=NEVER", False, RcptTo(Address("a", "b.example"), frozenset())),
        (
            "TO:<a@b.example> NOTIFY=success,Failure,DELAY",
            False,
            RcptTo(Address("a", "b.example"), frozenset({"SUCCESS", "FAILURE", "DELAY"})),
        ),
        (
            "TO:<a@b.example> ORCPT=rfc822;a+2Bb@c.example",
            False,
            RcptTo(Address("a", "b.example"), orcpt=("rfc822", "a+b@c.example")),
        ),
        (
            "TO:<a@b.example> NOTIFY=FAILURE ORCPT=rfc822;x@y.example",
            False,
            RcptTo(Address("a", "b.example"), frozenset({"FAILURE"}), ("rfc822", "x@y.example")),
        ),
        ("TO:<@hop.example:a@b.example>", False, RcptTo(Address("a", "b.example"))),
        ('TO:<"a b"@b.example>', False, RcptTo(Address('"a b"', "b.example"))),
        ("TO:<ü@b.example>", True, RcptTo(Address("ü", "b.example"))),
        (
            "TO:<Postmaster> NOTIFY=NEVER",
            False,
            RcptTo(Address("postmaster", PM), frozenset(), postmaster=True),
        ),
    ],
)
def test_rcpt_to(argument: str, utf8: bool, expected: RcptTo) -> None:
    assert parse_rcpt_to(argument, PM, utf8=utf8) == expected


@pytest.mark.parametrize(
    ("argument", "code", "status"),
    [
        ("", 501, "5.5.4"),
        ("TO", 501, "5.5.4"),
        ("FROM:<a@b.example>", 501, "5.5.4"),
        ("TO:a@b.example", 501, "5.1.3"),
        ("TO:<>", 501, "5.1.3"),
        ("TO:<a@b.example", 501, "5.1.3"),
        ("TO:<a@@b.example>", 501, "5.1.3"),
        ("TO:<user>", 553, "5.1.3"),  # unqualified
        ("TO:<postmaster2>", 553, "5.1.3"),
        ("TO:<ü@b.example>", 553, "5.6.7"),
        ("TO:<a@b.example> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"),
        ("TO:<a@b.example> NOTIFY=", 501, "5.5.4"),
        ("TO:<a@b.example> NOTIFY=SOMETIMES", 501, "5.5.4"),
        ("TO:<a@b.example> NOTIFY=SUCCESS,", 501, "5.5.4"),
        ("TO:<a@b.example> NOTIFY=SUCCESS NOTIFY=DELAY", 501, "5.5.4"),
        ("TO:<a@b.example> ORCPT=rfc822", 501, "5.5.4"),
        ("TO:<a@b.example> ORCPT=rfc822;", 501, "5.5.4"),
        ("TO:<a@b.example> ORCPT=;a@b", 501, "5.5.4"),
        ("TO:<a@b.example> ORCPT=rfc822;a+4", 501, "5.5.4"),
        ("TO:<a@b.example> ORCPT=rfc822;a+0Ab", 501, "5.5.4"),
        ("TO:<a@b.example> SIZE=10", 555, "5.5.4"),  # MAIL-only parameter
        ("TO:<a@b.example> XFOO", 555, "5.5.4"),
    ],
)
def test_rcpt_to_refused(argument: str, code: int, status: str) -> None:
    with pytest.raises(SMTPSyntaxError) as exc:
        parse_rcpt_to(argument, PM)
    assert status_of(exc) == (code, status)


# --- HELO / EHLO ------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("client.example.org", "client.example.org"),
        (" client.example.org ", "client.example.org"),
        ("localhost", "localhost"),
        ("my_pc.lan", "my_pc.lan"),
        ("mx.example.org.", "mx.example.org."),
        ("[192.0.2.1]", "[192.0.2.1]"),
        ("[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]"),
        ("[ipv6:::1]", "[ipv6:::1]"),
        ("192.0.2.1", "192.0.2.1"),
        ("bücher.example", "bücher.example"),
    ],
)
def test_helo(argument: str, expected: str) -> None:
    assert parse_helo(argument) == expected


@pytest.mark.parametrize(
    "argument",
    [
        "",
        "   ",
        "two words",
        "-bad.example",
        "bad-.example",
        "a..b",
        ".example",
        "[192.0.2]",
        "[192.0.2.1",
        "[IPv6:2001:db8::zz]",
        "[IPv6:fe80::1%eth0]",
        "host(x)",
        "a/b",
        "x" * 256,
    ],
)
def test_helo_refused(argument: str) -> None:
    with pytest.raises(SMTPSyntaxError) as exc:
        parse_helo(argument)
    assert status_of(exc) == (501, "5.5.4")


# --- xtext (RFC 3461 4) -----------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("", ""),
        ("abc", "abc"),
        ("a+2Bb", "a+b"),
        ("a+3Db", "a=b"),
        ("a+20b", "a b"),
        ("+C3+BC", "ü"),
    ],
)
def test_xtext_decode(encoded: str, decoded: str) -> None:
    assert xtext_decode(encoded) == decoded


@pytest.mark.parametrize("bad", ["a+", "a+2", "a+2b", "a+ZZ", "a=b", "a b", "é", "+FF", "\x00"])
def test_xtext_decode_invalid(bad: str) -> None:
    with pytest.raises(ValueError):
        xtext_decode(bad)


def test_xtext_encode() -> None:
    assert xtext_encode("a+b=c d") == "a+2Bb+3Dc+20d"
    assert xtext_encode("ü") == "+C3+BC"


@given(st.text())
@example("+=")
def test_xtext_round_trip(text: str) -> None:
    encoded = xtext_encode(text)
    assert all(33 <= ord(c) <= 126 for c in encoded)
    assert xtext_decode(encoded) == text


@given(
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="+="))
)
def test_xtext_plain_is_identity(text: str) -> None:
    assert xtext_encode(text) == text
    assert xtext_decode(text) == text


# --- only our own error, whatever the input ---------------------------------

_SEEDS = [
    b"MAIL FROM:<a@b.example> SIZE=100",
    b"RCPT TO:<Postmaster> NOTIFY=NEVER",
    b"EHLO [IPv6:::1]",
    b'RCPT TO:<"\\">"@x>',
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==",
]


@given(st.binary())
@example(b"\xff")
@example(b"STARTTLS\x00")
def test_parse_command_total(line: bytes) -> None:
    for candidate in [line, *(seed + line for seed in _SEEDS)]:
        try:
            cmd = parse_command(candidate)
        except SMTPSyntaxError:
            continue
        assert cmd.verb.isupper()


_ARG = st.one_of(
    st.text(),
    st.text(alphabet='<>@:"\\ .,;=+[]()aAbB0-_éü\x00\r\n\t').map(lambda s: s),
    st.sampled_from(["FROM:", "TO:", "from: ", "to:"]).flatmap(
        lambda k: st.text(alphabet='<>@:"\\ .,;=+[]aZ09-é').map(lambda s: k + s)
    ),
)


@given(_ARG, st.booleans())
@example('FROM:<"\\', False)
@example("TO:<@a:", True)
def test_argument_parsers_total(argument: str, utf8: bool) -> None:
    for call in (
        lambda: parse_mail_from(argument),
        lambda: parse_rcpt_to(argument, PM, utf8=utf8),
        lambda: parse_helo(argument),
    ):
        with contextlib.suppress(SMTPSyntaxError):
            call()


@given(st.from_regex(r"\A[a-z0-9]{1,10}@[a-z0-9]{1,10}\.example\Z"))
def test_mail_and_rcpt_accept_plain_addresses(address: str) -> None:
    mail = parse_mail_from(f"FROM:<{address}>")
    rcpt = parse_rcpt_to(f"TO:<{address}>", PM)
    assert mail.sender is not None
    assert str(mail.sender) == str(rcpt.address) == address


# --- replies (gateway.smtp.codes) -------------------------------------------


def test_reply_encode() -> None:
    assert codes.OK.encode() == b"250 2.0.0 Ok\r\n"
    assert codes.START_DATA.encode() == b"354 End data with <CR><LF>.<CR><LF>\r\n"
    assert codes.AUTH_CONTINUE.encode() == b"334 \r\n"
    # RFC 2034 4: the status code on every line of a multi-line reply.
    assert codes.reply(250, "2.0.0", "a", "b", "c").encode() == (
        b"250-2.0.0 a\r\n250-2.0.0 b\r\n250 2.0.0 c\r\n"
    )
    assert codes.reply(250, None, "mx.example", "PIPELINING").encode() == (
        b"250-mx.example\r\n250 PIPELINING\r\n"
    )


def test_reply_with_text() -> None:
    r = codes.OK.with_text("Ok: queued as X1", "second")
    assert (r.code, r.status, r.lines) == (250, "2.0.0", ("Ok: queued as X1", "second"))


@pytest.mark.parametrize(
    ("code", "status", "lines"),
    [
        (199, None, ("x",)),
        (600, None, ("x",)),
        (250, "5.0.0", ("x",)),
        (250, "2.0", ("x",)),
        (250, "2.0.0", ()),
        (250, "2.0.0", ("a\r\nMAIL FROM:<x>",)),
        (250, "2.0.0", ("a\n",)),
    ],
)
def test_reply_validation(code: int, status: str | None, lines: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        codes.Reply(code, status, lines)


def test_every_constant_is_consistent() -> None:
    constants = [v for v in vars(codes).values() if isinstance(v, codes.Reply)]
    assert len(constants) > 40
    for r in constants:
        # RFC 2034 3: an enhanced status on every 2xx/4xx/5xx reply we send.
        assert (r.status is None) == (300 <= r.code < 400), r
        assert r.encode().endswith(b"\r\n")


def test_from_gateway_error() -> None:
    assert codes.from_gateway_error(UNKNOWN_USER) == codes.reply(550, "5.1.1", "No such user here")
    hostile = GatewayError(451, "4.3.0", "line one\r\nline two\n\x00x")
    r = codes.from_gateway_error(hostile)
    assert r.lines == ("line one", "line two", " x")
    assert r.encode() == b"451-4.3.0 line one\r\n451-4.3.0 line two\r\n451 4.3.0  x\r\n"


def test_local_parts_longer_than_64_are_accepted() -> None:
    """RFC 5321 4.5.3.1.1: 64 is what every server must take, not a cap;
    MIXER addresses ("/G=.../S=.../O=.../"@gateway, RFC 2156 4.3.5) need more."""
    local = '"/G=Marshall/I=MT/S=Rose/OU=Research/O=Widget Corp/PRMD=Lab/ADMD= /C=GB/"'
    assert len(local) > 64
    address = Address.parse(f"{local}@gw.example.test")
    assert address.local == local and str(address) == f"{local}@gw.example.test"
