"""Run the real daemon as a subprocess on free loopback ports, for tests.

Not a test module: integration tests import :class:`Daemon` from here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from gateway.cli.control_client import DaemonUnavailable, request

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
TWISTD = str(Path(sys.executable).with_name("twistd"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """One gateway instance with its own config and data directory."""

    def __init__(
        self,
        directory: Path,
        extra_config: str = "",
        relay: bool = False,
        local_domains: tuple[str, ...] = ("example.test",),
        authn: bool = False,
        server_config: str = "",
    ) -> None:
        """``server_config``: more lines for the ``[server]`` table.
        ``relay``: keep the outbound relay on (then ``extra_config`` must
        point ``[dns] servers`` at a test DNS server: no test may query the
        system resolver); off, remote recipients fail with 5.4.4.
        ``authn``: keep sender authentication of inbound mail on (SPF, DKIM,
        DMARC look up DNS: ``extra_config`` must then point ``[dns] servers``
        at a test DNS server); off, ``[authn] enabled = false``."""
        relay_config = "" if relay else "[relay]\nenabled = false\n"
        if not authn:
            relay_config += "[authn]\nenabled = false\n"
        self.directory = directory
        self.http_port = free_port()
        self.data_dir = directory / "var"
        self.config = directory / "gateway.toml"
        self.log_path = directory / "twistd.log"
        self.config.write_text(
            "[server]\n"
            'hostname = "mail.example.test"\n'
            f'data_dir = "{self.data_dir}"\n'
            f"local_domains = [{', '.join(repr(d) for d in local_domains)}]\n"
            + server_config
            + relay_config
            + "[listeners]\n"
            f'http = "tcp:{self.http_port}:interface=127.0.0.1"\n' + extra_config
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def control_socket(self) -> Path:
        return self.data_dir / "run" / "control.sock"

    def maildir(self, user: str) -> Path:
        local, domain = user.split("@")
        return self.data_dir / "mail" / domain / local.lower()

    def start(self, wait: bool = True) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [TWISTD, "--pidfile=", "-n", "mailgateway", "--config", str(self.config)],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"},
        )
        log.close()
        if wait:
            self.wait_ready()
        return self.process

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.process.returncode}:\n{self.log()}")
            try:
                if request(self.control_socket, {"op": "ping"}, timeout=5) == "pong":
                    return
            except (DaemonUnavailable, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"daemon not ready after {START_TIMEOUT}s:\n{self.log()}")

    def request(self, header: dict[str, Any], payload: bytes = b"") -> Any:
        return request(self.control_socket, header, payload)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait; returns the exit status.

        twistd re-raises the signal after a clean shutdown, so a clean stop
        returns ``-SIGTERM``; the log then ends with "Server Shut Down".
        """
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            # PYTHONFAULTHANDLER (set at start) makes SIGABRT write every
            # thread's stack to the log: say where it stuck, not just that it did
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(30)
            raise AssertionError(
                f"daemon still running {timeout:g} s after SIGTERM:\n{self.log()[-12000:]}"
            ) from None
        busy = [line for line in self.log().splitlines() if "still busy after" in line]
        if busy:  # the daemon's own stop timeout ended it (server.stop_timeout)
            warnings.warn("daemon stop timed out: " + "; ".join(busy), stacklevel=2)
        return status

    def kill(self) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)

    def cli(
        self, *args: str, stdin: bytes = b"", check: bool = False
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", "--config", str(self.config), *args],
            input=stdin,
            capture_output=True,
            cwd=self.directory,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"mailgateway {' '.join(args)} exited {result.returncode}: "
                f"{result.stderr.decode()}"
            )
        return result

    def add_user(self, address: str, password: str = "secret") -> None:
        self.cli(
            "user", "add", address, "--password-stdin", stdin=password.encode() + b"\n", check=True
        )

    def messages(self, user: str) -> list[Path]:
        root = self.maildir(user)
        return sorted(
            p for sub in ("new", "cur") if (root / sub).is_dir() for p in (root / sub).iterdir()
        )

    def wait_for(self, predicate: Any, timeout: float = 60.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log()[-4000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()
