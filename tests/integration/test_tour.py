"""The README's five-minute tour, end to end, as a newcomer would do it.

Real twistd subprocess, real ``mailgateway`` CLI subprocesses, real HTTP.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.integration.daemon import Daemon

pytestmark = pytest.mark.integration

ALICE = "alice@example.test"
MESSAGE_ID = "<tour-1@client.example.test>"
BODY = "Hello Alice, this is the five-minute tour.\n"
MESSAGE = (
    "From: Bob <bob@example.test>\n"
    "To: Alice <alice@example.test>\n"
    "Subject: Welcome\n"
    f"Message-ID: {MESSAGE_ID}\n"
    "\n" + BODY
).encode()


def http_get(daemon: Daemon, path: str) -> tuple[int, str, str]:
    url = f"http://127.0.0.1:{daemon.http_port}{path}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return (
            response.status,
            response.headers.get("Content-Type", ""),
            response.read().decode("utf-8"),
        )


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    return None


def test_five_minute_tour(daemon: Daemon) -> None:
    assert not daemon.data_dir.exists()

    # 1. start
    daemon.start()
    log = daemon.log()
    assert f"created the data directory {daemon.data_dir}" in log
    assert daemon.data_dir.is_dir()
    assert re.search(rf"listener http \(.*\) open on 127\.0\.0\.1:{daemon.http_port}\b", log), log
    assert re.search(
        rf"listener control \(.*\) open on {re.escape(str(daemon.control_socket))}", log
    ), log
    assert re.search(r"generated a self-signed", log, re.IGNORECASE), log
    assert (daemon.data_dir / "tls").is_dir()

    # 2. add a user
    added = daemon.cli("user", "add", ALICE, "--password-stdin", stdin=b"tour-password\n")
    assert added.returncode == 0, added.stderr.decode()
    listed = daemon.cli("user", "list", check=True)
    assert ALICE in listed.stdout.decode()

    # 3. inject a message
    sent = daemon.cli("sendmail", ALICE, stdin=MESSAGE)
    assert sent.returncode == 0, sent.stderr.decode()

    # 4. see it in alice's Maildir: exactly one file, in new/
    daemon.wait_for(lambda: daemon.messages(ALICE), what="delivery to alice")
    files = daemon.messages(ALICE)
    assert len(files) == 1, files
    assert files[0].parent.name == "new"
    data = files[0].read_bytes()
    lines = data.split(b"\n")  # Maildir files have LF line ends
    assert re.fullmatch(rb"Return-Path: <[^<>\s]*>", lines[0]), lines[0]
    assert lines[1] == b"Delivered-To: " + ALICE.encode()
    assert b"Subject: Welcome" in data
    assert MESSAGE_ID.encode() in data
    assert data.endswith(BODY.encode())
    assert b"\r" not in data

    # 5. track by Message-ID: accepted and delivered, with the queue id (the
    # Maildir file appears a moment before the outcome is recorded: wait)
    daemon.wait_for(
        lambda: "delivered" in daemon.cli("track", MESSAGE_ID).stdout.decode(),
        what="track to show the delivery",
    )
    by_mid = daemon.cli("track", MESSAGE_ID)
    assert by_mid.returncode == 0, by_mid.stderr.decode()
    out = by_mid.stdout.decode()
    match = re.search(r"^Queue-ID (\S+)$", out, re.MULTILINE)
    assert match, out
    qid = match.group(1)
    assert re.search(r"^\s+.*\baccepted\b.*to=alice@example\.test", out, re.MULTILINE), out
    assert re.search(
        r"^\s+.*\bdelivered\b.*to=<alice@example\.test> 250 2\.0\.0", out, re.MULTILINE
    ), out
    # the log line about the message carries the same queue id
    assert f"{qid}: delivered to=<{ALICE}>" in daemon.log()

    # ... and by queue id: the same events
    by_qid = daemon.cli("track", qid)
    assert by_qid.returncode == 0, by_qid.stderr.decode()
    assert by_qid.stdout.decode() == out

    # without the angle brackets too
    bare = daemon.cli("track", MESSAGE_ID.strip("<>"))
    assert bare.returncode == 0 and f"Queue-ID {qid}" in bare.stdout.decode()

    # 6. the admin HTTP listener
    status, ctype, text = http_get(daemon, "/healthz")
    assert status == 200 and text.strip() == "ok"
    assert ctype.startswith("text/plain")

    def delivered_metric() -> bool:
        return metric(http_get(daemon, "/metrics")[2], "mailgateway_delivered_total") == 1

    daemon.wait_for(delivered_metric, what="mailgateway_delivered_total 1")
    metrics = http_get(daemon, "/metrics")[2]
    assert metric(metrics, "mailgateway_submitted_total") == 1
    assert metric(metrics, "mailgateway_failed_total") == 0

    def queue_empty() -> bool:
        return json.loads(http_get(daemon, "/queue")[2]) == []

    daemon.wait_for(queue_empty, what="an empty /queue")
    status, ctype, text = http_get(daemon, "/queue")
    assert status == 200 and ctype == "application/json"
    assert daemon.cli("queue", "list", check=True).stdout.decode().strip() == "Mail queue is empty"

    # 7. stop cleanly
    assert daemon.stop() == -15
    assert "Server Shut Down" in daemon.log()
    assert len(daemon.messages(ALICE)) == 1


def test_queue_json_lists_a_waiting_message(daemon: Daemon) -> None:
    """``/queue`` is JSON describing the queued messages (a deferred one here)."""
    daemon.start()
    daemon.add_user(ALICE)
    blocker = daemon.maildir(ALICE)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the Maildir should be\n")
    assert daemon.cli("sendmail", ALICE, stdin=MESSAGE).returncode == 0

    def deferred_in_queue() -> bool:
        queue = json.loads(http_get(daemon, "/queue")[2])
        return bool(queue) and queue[0]["recipients"][0]["status"] == "deferred"

    daemon.wait_for(deferred_in_queue, what="a deferred message in /queue")
    (entry,) = json.loads(http_get(daemon, "/queue")[2])
    assert entry["recipients"] == [{"address": ALICE, "status": "deferred"}]
    assert entry["held"] is False
    assert entry["size"] > 0
    assert isinstance(entry["qid"], str) and entry["qid"]
    metrics = http_get(daemon, "/metrics")[2]
    assert metric(metrics, "mailgateway_queue_messages") == 1
    assert metric(metrics, "mailgateway_deferred_total") == 1
