"""SMTPClientProtocol phase by phase, over a StringTransport and a task.Clock."""

from __future__ import annotations

from twisted.internet.ssl import CertificateOptions

from gateway.envelope import Address, Envelope
from gateway.smtp.client import (
    ClientSettings,
    RelayTransaction,
    Timeouts,
    dot_stuff,
    parse_reply,
)
from tests.smtp.client_harness import (
    EHLO_ALL,
    EHLO_BARE,
    HELO,
    REMOTE,
    Client,
    ehlo,
    rcpt,
    session,
    transaction,
)

# --- wire helpers -------------------------------------------------------------


def test_parse_reply_takes_enhanced_status_from_every_line() -> None:
    r = parse_reply([b"550-5.1.1 No such", b"550 5.1.1 user here"])
    assert (r.code, r.status, r.lines) == (550, "5.1.1", ("No such", "user here"))


def test_parse_reply_ignores_status_of_the_wrong_class() -> None:
    r = parse_reply([b"250 4.1.1 odd"])
    assert r.status is None and r.lines == ("4.1.1 odd",)


def test_dot_stuffing_and_terminator() -> None:
    assert dot_stuff(b".a\r\nb\r\n.\r\n..c") == b"..a\r\nb\r\n..\r\n...c\r\n.\r\n"
    assert dot_stuff(b"bare\nlf\r") == b"bare\r\nlf\r\n.\r\n"  # RFC 5321 2.3.8
    assert dot_stuff(b"") == b".\r\n"


# --- greeting and EHLO ----------------------------------------------------------


def test_greeting_554_fails_with_the_servers_reply_and_quits() -> None:
    c = Client()
    c.server("554 5.7.1 go away")
    error = c.ready_error
    assert (error.reply.code, error.reply.status, error.phase, error.remote) == (
        554,
        "5.7.1",
        "greeting",
        True,
    )
    assert c.sent() == ["QUIT"]
    assert c.transport.disconnecting


def test_greeting_421_is_temporary() -> None:
    c = Client()
    c.server("421 4.3.2 busy")
    assert c.ready_error.reply.temporary and c.sent() == []


def test_multiline_greeting_and_ehlo_extensions() -> None:
    c = Client()
    c.server(f"220-{REMOTE} ESMTP", "220 welcome")
    assert c.sent() == [f"EHLO {HELO}"]
    c.server(*ehlo("PIPELINING", "size 1000", "AUTH PLAIN LOGIN"))
    assert c.ready == [c.protocol]
    assert c.protocol.extensions == {"PIPELINING": "", "SIZE": "1000", "AUTH": "PLAIN LOGIN"}


def test_helo_fallback_on_500_and_502() -> None:
    for code in (500, 502):
        c = Client()
        c.server("220 old")
        c.sent()
        c.server(f"{code} what?")
        assert c.sent() == [f"HELO {HELO}"]
        c.server("250 old.example")
        assert c.ready == [c.protocol]
        assert not c.protocol.esmtp and c.protocol.extensions == {}


def test_ehlo_other_5xx_fails() -> None:
    c = Client()
    c.server("220 x")
    c.server("550 5.7.1 not you")
    assert c.ready_error.reply.code == 550 and c.ready_error.phase == "EHLO"


def test_malformed_reply_is_a_temporary_session_failure() -> None:
    c = Client()
    c.server("hello there")
    assert c.ready_error.reply.code == 421 and c.ready_error.reply.status == "4.5.0"


# --- STARTTLS ---------------------------------------------------------------------


def tls_client(policy: str) -> Client:
    c = Client(ClientSettings(HELO, tls_policy=policy))
    c.server("220 x")
    c.sent()
    return c


def test_starttls_may_uses_tls_when_offered_and_ehlos_again() -> None:
    c = tls_client("may")
    c.server(*ehlo("STARTTLS", "PIPELINING"))
    assert c.sent() == ["STARTTLS"]
    c.server("220 2.0.0 go ahead", "250 injected")  # RFC 3207 4.2: dropped
    assert c.transport.tls_started
    assert isinstance(c.transport.tls_options, CertificateOptions)
    assert c.sent() == [f"EHLO {HELO}"]
    assert c.protocol.extensions == {}
    c.server(*ehlo("PIPELINING", "DSN"))
    assert c.ready == [c.protocol]
    assert c.protocol.tls is not None and c.protocol.tls.version == "TLSv1.3"
    assert "DSN" in c.protocol.extensions


def test_starttls_may_goes_on_in_the_clear_when_not_offered_or_refused() -> None:
    c = tls_client("may")
    c.server(*ehlo("PIPELINING"))
    assert c.ready == [c.protocol] and c.sent() == []
    c = tls_client("may")
    c.server(*ehlo("STARTTLS"))
    c.sent()
    c.server("454 4.7.0 TLS not available")
    assert c.ready == [c.protocol] and c.protocol.tls is None and not c.transport.tls_started


def test_starttls_encrypt_fails_with_4_7_10_when_not_offered() -> None:
    c = tls_client("encrypt")
    c.server(*ehlo("PIPELINING"))
    error = c.ready_error
    assert (error.reply.code, error.reply.status) == (451, "4.7.10")
    assert "TLS is required, but was not offered" in error.reply.lines[0]


def test_starttls_encrypt_fails_when_refused() -> None:
    c = tls_client("encrypt")
    c.server(*ehlo("STARTTLS"))
    c.sent()
    c.server("454 4.7.0 no")
    assert c.ready_error.reply.status == "4.7.10"


def test_handshake_failure_is_a_tls_failure() -> None:
    c = tls_client("encrypt")
    c.server(*ehlo("STARTTLS"))
    c.server("220 go")
    c.lose(Exception("certificate verify failed"))
    error = c.ready_error
    assert error.tls_failed and error.reply.status == "4.7.5"
    assert "certificate verify failed" in error.reply.lines[0]


def test_none_policy_never_starttls() -> None:
    c = tls_client("none")
    c.server(*ehlo("STARTTLS"))
    assert c.ready == [c.protocol] and c.sent() == []


def test_verify_policy_needs_a_hostname() -> None:
    settings = ClientSettings(HELO, tls_policy="verify", tls_hostname="mx.remote.test")
    assert settings.tls_options() is not None
    try:
        ClientSettings(HELO, tls_policy="verify").tls_options()
    except ValueError:
        pass
    else:
        raise AssertionError("no hostname accepted")


# --- AUTH -----------------------------------------------------------------------


def auth_client(mechanisms: str, **kw: object) -> Client:
    c = Client(ClientSettings(HELO, tls_policy="may", credentials=("user", "pass"), **kw))  # type: ignore[arg-type]
    c.server("220 x")
    c.server(*ehlo("STARTTLS"))
    c.server("220 go")
    c.sent()
    c.server(*ehlo(f"AUTH {mechanisms}"))
    return c


def test_auth_plain_with_initial_response() -> None:
    c = auth_client("LOGIN PLAIN")
    assert c.sent() == ["AUTH PLAIN AHVzZXIAcGFzcw=="]
    c.server("235 2.7.0 ok")
    assert c.ready == [c.protocol] and c.protocol.authenticated


def test_auth_login() -> None:
    c = auth_client("LOGIN")
    assert c.sent() == ["AUTH LOGIN"]
    c.server("334 VXNlcm5hbWU6")
    assert c.sent() == ["dXNlcg=="]
    c.server("334 UGFzc3dvcmQ6")
    assert c.sent() == ["cGFzcw=="]
    c.server("235 2.7.0 ok")
    assert c.protocol.authenticated


def test_auth_failure_defers() -> None:
    c = auth_client("PLAIN")
    c.server("535 5.7.8 bad credentials")
    error = c.ready_error
    assert error.reply.code == 454 and error.reply.status == "4.7.8"
    assert "bad credentials" in error.reply.lines[0]


def test_no_credentials_in_the_clear() -> None:
    c = Client(ClientSettings(HELO, tls_policy="none", credentials=("u", "p")))
    c.server("220 x")
    c.server(*ehlo("AUTH PLAIN"))
    assert c.ready_error.reply.status == "4.7.10"
    c = Client(
        ClientSettings(HELO, tls_policy="none", credentials=("u", "p"), auth_without_tls=True)
    )
    c.server("220 x")
    c.sent()
    c.server(*ehlo("AUTH PLAIN"))
    assert c.sent() == ["AUTH PLAIN AHUAcA=="]


# --- transactions ---------------------------------------------------------------


def finish(c: Client, final: str = "250 2.0.0 Ok: queued as X") -> None:
    c.pump_body()
    c.server(final)


def test_pipelined_transaction_in_one_write_with_replies_in_order() -> None:
    c = session(*EHLO_ALL)
    box = c.send(transaction("a@remote.test", "b@remote.test", "c@remote.test"))
    assert len(c.transport.writes) == 1  # RFC 2920 3.1: one group, one write
    assert c.raw() == (
        b"MAIL FROM:<bob@example.test> SIZE=23\r\n"
        b"RCPT TO:<a@remote.test>\r\nRCPT TO:<b@remote.test>\r\nRCPT TO:<c@remote.test>\r\n"
        b"DATA\r\n"
    )
    c.server("250 2.1.0 ok", "250 2.1.5 ok", "550 5.1.1 no such user", "451 4.3.0 later", "354 go")
    c.pump_body()
    assert c.raw() == b"Subject: hi\r\n\r\nHello.\r\n.\r\n"
    c.server("250 2.0.0 queued")
    (outcomes,) = box
    assert [(o.reply.code, o.status, o.phase) for o in outcomes] == [
        (250, "2.0.0", "end of data"),
        (550, "5.1.1", "RCPT"),
        (451, "4.3.0", "RCPT"),
    ]
    assert outcomes[0].success and outcomes[0].dsn and outcomes[0].action == "delivered"
    assert outcomes[1].permanent and outcomes[2].temporary
    assert all(o.remote and o.remote_host == REMOTE for o in outcomes)


def test_one_at_a_time_without_pipelining() -> None:
    c = session(*EHLO_BARE)
    box = c.send(transaction("a@remote.test", "b@remote.test"))
    assert c.sent() == ["MAIL FROM:<bob@example.test>"]
    c.server("250 ok")
    assert c.sent() == ["RCPT TO:<a@remote.test>"]
    c.server("550 5.1.1 no")
    assert c.sent() == ["RCPT TO:<b@remote.test>"]
    c.server("250 ok")
    assert c.sent() == ["DATA"]
    c.server("354 go")
    finish(c)
    (outcomes,) = box
    assert [o.reply.code for o in outcomes] == [550, 250]
    assert outcomes[1].action == "relayed"  # no DSN at the next hop: RFC 3461 4


def test_mail_rejected_fails_everyone() -> None:
    c = session(*EHLO_BARE)
    box = c.send(transaction("a@remote.test", "b@remote.test"))
    c.server("553 5.1.7 bad sender")
    (outcomes,) = box
    assert [(o.reply.code, o.phase) for o in outcomes] == [(553, "MAIL")] * 2


def test_pipelined_mail_rejected_but_data_accepted_sends_empty_message() -> None:
    c = session("PIPELINING")
    box = c.send(transaction("a@remote.test"))
    c.sent()
    c.server("550 no", "503 need MAIL", "354 go")
    assert c.sent() == ["."]
    c.server("554 no valid recipients")
    (outcomes,) = box
    assert outcomes[0].reply.code == 550 and outcomes[0].phase == "MAIL"


def test_all_rcpts_rejected_no_data_then_rset_before_next() -> None:
    c = session(*EHLO_BARE)
    box = c.send(transaction("a@remote.test"))
    c.sent()
    c.server("250 ok")
    c.sent()
    c.server("550 5.1.1 no")
    (outcomes,) = box
    assert outcomes[0].reply.code == 550
    assert c.sent() == []
    box = c.send(transaction("b@remote.test"))
    assert c.sent() == ["RSET"]
    c.server("250 ok")
    assert c.sent() == ["MAIL FROM:<bob@example.test>"]


def test_pipelined_all_rcpts_rejected() -> None:
    c = session("PIPELINING")
    box = c.send(transaction("a@remote.test", "b@remote.test"))
    c.sent()
    c.server("250 ok", "550 5.1.1 no", "450 4.2.0 greylisted", "554 5.5.1 no valid recipients")
    (outcomes,) = box
    assert [o.reply.code for o in outcomes] == [550, 450]
    assert c.sent() == []


def test_data_rejected_fails_accepted_recipients() -> None:
    c = session(*EHLO_BARE)
    box = c.send(transaction("a@remote.test"))
    c.server("250 ok")
    c.server("250 ok")
    c.server("451 4.3.0 try later")
    (outcomes,) = box
    assert outcomes[0].reply.code == 451 and outcomes[0].phase == "DATA"


def test_end_of_data_rejected() -> None:
    c = session("PIPELINING")
    box = c.send(transaction("a@remote.test", "b@remote.test"))
    c.server("250 ok", "250 ok", "550 no", "354 go")
    finish(c, "554 5.7.1 spam")
    (outcomes,) = box
    assert [(o.reply.code, o.phase) for o in outcomes] == [(554, "end of data"), (550, "RCPT")]


def test_dsn_parameters_only_when_offered() -> None:
    tx = transaction(
        rcpt(
            "a@remote.test", notify=frozenset({"SUCCESS", "FAILURE"}), orcpt=("rfc822", "A+B=c@x")
        ),
        rcpt("b@remote.test", notify=frozenset()),
        envid="id 1",
        ret="HDRS",
    )
    c = session("PIPELINING", "DSN")
    c.send(tx)
    assert c.sent()[:3] == [
        "MAIL FROM:<bob@example.test> RET=HDRS ENVID=id+201",
        "RCPT TO:<a@remote.test> NOTIFY=FAILURE,SUCCESS ORCPT=rfc822;A+2BB+3Dc@x",
        "RCPT TO:<b@remote.test> NOTIFY=NEVER",
    ]
    c = session("PIPELINING")
    c.send(tx)
    assert c.sent()[:3] == [
        "MAIL FROM:<bob@example.test>",
        "RCPT TO:<a@remote.test>",
        "RCPT TO:<b@remote.test>",
    ]


def test_null_sender() -> None:
    c = session("PIPELINING")
    c.send(transaction("a@remote.test", sender=None))
    assert c.sent()[0] == "MAIL FROM:<>"


def test_size_declared_and_too_big_not_sent() -> None:
    c = session("PIPELINING", "SIZE 20")
    box = c.send(transaction("a@remote.test"))
    assert c.sent() == []
    (outcomes,) = box
    assert (outcomes[0].reply.code, outcomes[0].status, outcomes[0].remote) == (
        552,
        "5.3.4",
        False,
    )
    c = session("PIPELINING", "SIZE 0")  # RFC 1870: 0 means no fixed limit
    c.send(transaction("a@remote.test"))
    assert c.sent()[0] == "MAIL FROM:<bob@example.test> SIZE=23"


EIGHT_BIT = "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n".encode()


def test_8bitmime_when_offered() -> None:
    c = session("PIPELINING", "8BITMIME")
    c.send(transaction("a@remote.test", content=EIGHT_BIT, eight_bit=True))
    assert c.sent()[0] == "MAIL FROM:<bob@example.test> BODY=8BITMIME"
    c.server("250 ok", "250 ok", "354 go")
    c.pump_body()
    assert c.raw() == EIGHT_BIT + b".\r\n"


def test_8bit_downgraded_without_8bitmime() -> None:
    c = session("PIPELINING")
    box = c.send(transaction("a@remote.test", content=EIGHT_BIT, eight_bit=True))
    assert c.sent()[0] == "MAIL FROM:<bob@example.test>"
    c.server("250 ok", "250 ok", "354 go")
    c.pump_body()
    body = c.raw()
    assert body.isascii()
    assert b"Content-Transfer-Encoding: quoted-printable\r\n" in body
    assert b"Gr=C3=BC=C3=9Fe\r\n.\r\n" in body
    c.server("250 ok")
    assert box[0][0].success


def test_8bit_headers_without_8bitmime_fail() -> None:
    c = session("PIPELINING")
    box = c.send(transaction("a@remote.test", content=b"Subject: K\xf6ln\r\n\r\nx\r\n"))
    (outcomes,) = box
    assert outcomes[0].status == "5.6.3" and c.sent() == []


def test_smtputf8_required_but_not_offered() -> None:
    c = session("PIPELINING", "8BITMIME")
    tx = transaction("jörg@remote.test")
    assert not tx.smtputf8  # built by hand; from_envelope works it out
    tx = RelayTransaction.from_envelope(Envelope(None, tx.recipients), tx.content)
    assert tx.smtputf8
    box = c.send(tx)
    (outcomes,) = box
    assert (outcomes[0].reply.code, outcomes[0].status) == (550, "5.6.7")
    assert c.sent() == []


def test_smtputf8_used_when_offered() -> None:
    c = session("PIPELINING", "8BITMIME", "SMTPUTF8")
    c.send(transaction("jörg@remote.test", smtputf8=True))
    assert c.sent()[:2] == ["MAIL FROM:<bob@example.test> SMTPUTF8", "RCPT TO:<jörg@remote.test>"]


def test_from_envelope_flags() -> None:
    env = Envelope(Address.parse("a@b.test"), (rcpt("c@d.test"),), envid="E", ret="FULL")
    tx = RelayTransaction.from_envelope(env, b"Subject: x\r\n\r\nplain\r\n")
    assert (tx.smtputf8, tx.eight_bit, tx.envid, tx.ret) == (False, False, "E", "FULL")
    tx = RelayTransaction.from_envelope(env, "Subject: é\r\n\r\nx\r\n".encode())
    assert tx.smtputf8 and tx.eight_bit


# --- connection loss, timeouts, reuse ---------------------------------------------


def test_connection_lost_mid_transaction_defers_unanswered() -> None:
    c = session("PIPELINING")
    box = c.send(transaction("a@remote.test", "b@remote.test", "c@remote.test"))
    c.server("250 ok", "550 5.1.1 no")
    c.lose()
    (outcomes,) = box
    assert [(o.reply.code, o.status, o.remote) for o in outcomes] == [
        (550, "5.1.1", True),
        (421, "4.4.2", False),
        (421, "4.4.2", False),
    ]
    assert not c.protocol.alive


def test_connection_lost_during_body() -> None:
    c = session("PIPELINING")
    box = c.send(transaction("a@remote.test"))
    c.server("250 ok", "250 ok", "354 go")
    c.lose()
    (outcomes,) = box
    assert outcomes[0].reply.code == 421 and outcomes[0].temporary


def test_421_at_rcpt_ends_the_session() -> None:
    c = session(*EHLO_BARE)
    box = c.send(transaction("a@remote.test", "b@remote.test"))
    c.server("250 ok")
    c.server("421 4.3.2 shutting down")
    (outcomes,) = box
    assert [o.reply.code for o in outcomes] == [421, 421]
    assert outcomes[0].remote and not c.protocol.alive


def test_greeting_timeout() -> None:
    c = Client(ClientSettings(HELO, tls_policy="none", timeouts=Timeouts(greeting=10)))
    c.clock.advance(9)
    assert c.ready == []
    c.clock.advance(1)
    error = c.ready_error
    assert (error.reply.code, error.reply.status) == (421, "4.4.2")
    assert c.transport.disconnecting or c.transport.disconnected


def test_timeouts_per_phase() -> None:
    # RFC 5321 4.5.3.2: MAIL 5 min, RCPT 5 min, DATA 2 min, end of data 10 min
    for replies, wait, phase in [
        ([], 300, "MAIL"),
        (["250 ok"], 300, "RCPT"),
        (["250 ok", "250 ok"], 120, "DATA"),
        (["250 ok", "250 ok", "354 go"], 600, "end of data"),
    ]:
        c = session("PIPELINING")
        box = c.send(transaction("a@remote.test"))
        if replies:
            c.server(*replies)
        c.pump_body()
        c.clock.advance(wait - 1)
        assert box == [], phase
        c.clock.advance(1)
        (outcomes,) = box
        assert outcomes[0].reply.code == 421 and outcomes[0].phase == phase, phase


def test_data_block_timeout() -> None:
    c = session("PIPELINING")
    box = c.send(transaction("a@remote.test"))
    c.server("250 ok", "250 ok", "354 go")
    producer = c.transport.producer
    assert producer is not None
    producer.resumeProducing()  # the first chunk goes out, and is never taken
    c.clock.advance(179)
    assert box == []
    c.clock.advance(1)
    assert box[0][0].reply.code == 421 and "data" in box[0][0].reply.lines[0]


def test_connection_reused_for_two_transactions() -> None:
    c = session("PIPELINING", "DSN")
    first = c.send(transaction("a@remote.test"))
    c.server("250 ok", "250 ok", "354 go")
    finish(c)
    assert first[0][0].success
    c.raw()
    second = c.send(transaction("b@remote.test", sender=Address.parse("x@example.test")))
    assert c.sent()[0] == "MAIL FROM:<x@example.test>"  # no RSET after a success
    c.server("250 ok", "250 ok", "354 go")
    finish(c)
    assert second[0][0].success
    quit_box: list[object] = []
    c.protocol.quit().addBoth(quit_box.append)
    assert c.sent()[-1] == "QUIT"
    c.server("221 2.0.0 bye")
    assert quit_box == [None] and c.transport.disconnecting


def test_unsolicited_421_while_idle_then_send_defers() -> None:
    c = session("PIPELINING")
    c.server("421 4.4.2 idle timeout")
    assert not c.protocol.alive
    box = c.send(transaction("a@remote.test"))
    assert box[0][0].reply.code == 421 and box[0][0].remote


def test_transaction_log_names_tls() -> None:
    from twisted.logger import globalLogPublisher

    events: list[dict[str, object]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        c = tls_client("may")
        c.server(*ehlo("STARTTLS"))
        c.server("220 go")
        c.server(*ehlo("PIPELINING"))
        c.send(transaction("a@remote.test"))
        c.server("250 ok", "250 ok", "354 go")
        finish(c)
    finally:
        globalLogPublisher.removeObserver(events.append)
    (event,) = [e for e in events if "accepted" in str(e.get("log_format"))]
    assert event["tls"] == "TLS TLSv1.3 TLS_AES_256_GCM_SHA384"
