"""The daemon refuses to start on a bad configuration, and says why.

Each case starts the real twistd, which must exit non-zero (well within the
timeout: it never reaches the point of serving) with one message naming the
configuration file and the dotted key; ``mailgateway config check`` reports
the same problem with exit status 78 (EX_CONFIG).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.integration.daemon import Daemon

pytestmark = pytest.mark.integration

EX_CONFIG = 78
EXIT_TIMEOUT = 60


def refused(daemon: Daemon) -> str:
    """Start the daemon, expect it to exit non-zero; return its output."""
    process = daemon.start(wait=False)
    status = process.wait(EXIT_TIMEOUT)
    assert status != 0, daemon.log()
    assert not daemon.control_socket.exists(), "a refused daemon opened its control socket"
    return daemon.log()


def config_check(daemon: Daemon, *args: str) -> tuple[int, str]:
    result = daemon.cli("config", "check", *args)
    return result.returncode, result.stdout.decode() + result.stderr.decode()


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        pytest.param(
            "[queue]\nretry_frist = '5m'\n", "queue.retry_frist", "unknown key", id="unknown-key"
        ),
        pytest.param(
            "smtp_typo = 'tcp:2525'\n",
            "listeners.smtp_typo",
            "unknown listener",
            id="unknown-listener",
        ),
        pytest.param(
            "[queue]\nmax_deliveries = 'ten'\n",
            "queue.max_deliveries",
            "expected an integer, got string 'ten'",
            id="wrong-type",
        ),
        pytest.param("[server2]\nx = 1\n", "server2", "unknown section", id="unknown-section"),
    ],
)
def test_bad_config_refuses_to_start(tmp_path: Path, extra: str, key: str, problem: str) -> None:
    daemon = Daemon(tmp_path, extra)
    try:
        output = refused(daemon)
        expected = f"{daemon.config}: {key}: {problem}"
        assert expected in output, output
        assert "Traceback" not in output

        status, text = config_check(daemon)
        assert status == EX_CONFIG, text
        assert expected in text
    finally:
        daemon.close()


def test_missing_tls_certificate_refuses_to_start(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not used: the certificate is missing\n")
    cert = tmp_path / "missing" / "cert.pem"
    daemon = Daemon(tmp_path, f"[tls]\ncertificate = '{cert}'\nkey = '{key}'\n")
    try:
        output = refused(daemon)
        expected = f"{daemon.config}: tls.certificate: file not found: {cert}"
        assert expected in output, output

        status, text = config_check(daemon)
        assert status == EX_CONFIG and expected in text, text
    finally:
        daemon.close()


def test_http_port_in_use_refuses_to_start(daemon: Daemon) -> None:
    squatter = socket.socket()
    try:
        squatter.bind(("127.0.0.1", daemon.http_port))
        squatter.listen()
        output = refused(daemon)
        expected = (
            f"{daemon.config}: listeners.http: port {daemon.http_port} on 127.0.0.1 "
            "is already in use"
        )
        assert expected in output, output

        status, text = config_check(daemon)
        assert status == EX_CONFIG and expected in text, text
        # --no-bind skips exactly that check
        status, text = config_check(daemon, "--no-bind")
        assert status == 0, text
    finally:
        squatter.close()
    # with the port free again, the same configuration is fine and starts
    status, text = config_check(daemon)
    assert status == 0, text
    daemon.start()
    assert daemon.request({"op": "ping"}) == "pong"


def test_config_check_accepts_a_good_config(daemon: Daemon) -> None:
    status, text = config_check(daemon)
    assert status == 0, text
    assert f"{daemon.config}: OK" in text


def test_config_check_names_a_missing_config_file(daemon: Daemon) -> None:
    missing = daemon.directory / "nope.toml"
    result = daemon.cli("--config", str(missing), "config", "check")
    # the later --config wins (argparse): the file does not exist
    assert result.returncode == EX_CONFIG
    assert f"{missing}: configuration file not found" in result.stderr.decode()


def test_second_daemon_on_same_data_dir_refuses(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    daemon.add_user("alice@example.test")

    # same data_dir, its own (free) HTTP port: only the spool is shared
    other_dir = tmp_path / "second"
    other_dir.mkdir()
    second = Daemon(other_dir)
    second.config.write_text(
        second.config.read_text().replace(str(second.data_dir), str(daemon.data_dir))
    )
    try:
        output = refused(second)
        assert "queue" in output and "in use by another process" in output, output
        assert str(daemon.data_dir / "queue") in output
    finally:
        second.close()

    # the first one is unharmed: its control socket answers, and it delivers
    assert daemon.control_socket.exists()
    assert daemon.request({"op": "ping"}) == "pong"
    sent = daemon.cli("sendmail", "alice@example.test", stdin=b"Subject: still here\n\nhi\n")
    assert sent.returncode == 0, sent.stderr.decode()
    daemon.wait_for(lambda: daemon.messages("alice@example.test"), what="delivery")
    assert daemon.stop() == -15
