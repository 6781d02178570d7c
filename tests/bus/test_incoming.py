"""Reports that come back are recorded against our original (track shows them)."""

from __future__ import annotations

from pathlib import Path

from gateway.bus.incoming import report_events

FIXTURES = Path(__file__).parents[1] / "dsn" / "fixtures"

ORIGINAL = (
    b"Received: from client.example.test (client.example.test [192.0.2.7])\r\n"
    b"\tby mail.example.test (mailgateway) with ESMTPS id 6615F0000ABCD0000\r\n"
    b"\tfor <bob@remote.test>; Sat, 28 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <orig@example.test>\r\nSubject: hi\r\n\r\nbody\r\n"
)

REPORT = (
    b"From: MAILER-DAEMON@mx.remote.test\r\n"
    b"To: alice@example.test\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
    b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
    b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.remote.test\r\n\r\n"
    b"Final-Recipient: rfc822; bob@remote.test\r\n"
    b"Action: failed\r\nStatus: 5.2.2\r\n"
    b"Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n"
    b"\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\n" + ORIGINAL + b"\r\n--b1--\r\n"
)


def test_a_remote_bounce_names_our_queue_id() -> None:
    (event,) = report_events("REPORTQID", REPORT, 1000.0)
    assert event == {
        "qid": "6615F0000ABCD0000",
        "ev": "reported",
        "t": 1000.0,
        "to": "bob@remote.test",
        "action": "failed",
        "status": "5.2.2",
        "by": "dns; mx.remote.test",
        "diagnostic": "smtp; 552 5.2.2 mailbox full",
        "report": "REPORTQID",
    }


def test_other_mail_and_foreign_reports_give_nothing() -> None:
    assert report_events("Q", ORIGINAL, 1.0) == []
    foreign = REPORT.replace(b"(mailgateway)", b"(Postfix)")
    assert report_events("Q", foreign, 1.0) == []
