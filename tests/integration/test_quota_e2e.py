"""Mailbox quotas against the running daemon.

A user whose users-file line carries Dovecot's quota rule gets mail until
the mailbox is full; then SMTP refuses further mail at RCPT time with
452 4.2.2 (the sender keeps it queued), and mail that was already accepted
(here through ``mailgateway sendmail``) stays deferred with 4.2.2 instead
of bouncing, and is delivered once there is room again.
"""

from __future__ import annotations

import poplib
import smtplib
import ssl
from collections.abc import Iterator

import pytest

from tests.integration.peers import SMTPDaemon

CAROL = "carol@example.test"
UNVERIFIED = ssl._create_unverified_context()  # the daemon's self-signed certificate


@pytest.fixture
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SMTPDaemon]:
    gateway = SMTPDaemon(tmp_path_factory.mktemp("quota"), pop3=True)
    gateway.add_user(CAROL, "pw")
    users = gateway.data_dir / "users"
    text = users.read_text()
    users.write_text(text.rstrip("\n") + "::::::userdb_quota_rule=*:messages=1\n")
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
        gateway.close()


def test_full_mailbox_refused_at_rcpt_and_deferred_not_bounced(daemon: SMTPDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", daemon.smtp_port) as smtp:
        smtp.sendmail("bob@remote.test", [CAROL], b"Subject: one\r\n\r\nfits\r\n")
    daemon.wait_for(lambda: len(daemon.messages(CAROL)) == 1, what="first delivery")

    with smtplib.SMTP("127.0.0.1", daemon.smtp_port) as smtp:
        smtp.ehlo()
        smtp.mail("bob@remote.test")
        code, text = smtp.rcpt(CAROL)
    assert (code, text[:5]) == (452, b"4.2.2"), text

    result = daemon.cli("sendmail", CAROL, stdin=b"Subject: two\r\n\r\nwaits\r\n", check=True)
    assert result.returncode == 0

    def deferred() -> bool:
        listing = daemon.cli("queue", "list", check=True).stdout.decode()
        return f"{CAROL}  [deferred]" in listing

    daemon.wait_for(deferred, what="a deferred delivery")
    assert len(daemon.messages(CAROL)) == 1  # nothing bounced, nothing written
    qid = daemon.cli("queue", "list", check=True).stdout.decode().split()[0]
    shown = daemon.cli("queue", "show", qid, check=True).stdout.decode()
    assert "4.2.2" in shown, shown

    # The user makes room over POP3: the quota cache is dropped at once.
    client = poplib.POP3_SSL("127.0.0.1", daemon.pop3s_port or 0, context=UNVERIFIED)
    client.user(CAROL)
    client.pass_("pw")
    client.dele(1)
    client.quit()
    assert daemon.messages(CAROL) == []
    daemon.cli("queue", "retry", qid, check=True)
    daemon.wait_for(lambda: len(daemon.messages(CAROL)) == 1, what="delivery once there is room")
    assert b"waits" in daemon.messages(CAROL)[0].read_bytes()
