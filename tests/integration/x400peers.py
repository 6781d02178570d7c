"""Two real gateways that exchange mail over X.400 P1 on loopback.

Not a test module. It provides:

- :func:`write_tables`: RFC 2156 Appendix F tables holding the MCGAMs of
  both test domains (``a.test`` <-> ``PRMD=A``, ``b.test`` <-> ``PRMD=B``), so
  that at either gateway ``bob@b.test`` is an X.400 address and
  ``/S=bob/PRMD=B/ADMD= /C=GB/`` the Internet mailbox ``bob@b.test``;
- :class:`X400Daemon`: the gateway (:class:`~tests.integration.peers.SMTPDaemon`)
  with an ``x400`` listener on a free loopback port, an ``[x400]`` section
  and one ``[x400.peers.<name>]`` table per :class:`PeerEntry`;
- :func:`gateway_pair`: gateways A and B configured as each other's peer,
  and :func:`start_together` to start daemons in parallel;
- :class:`Capture`: ``tshark -i lo`` writing live traffic to a pcap while
  a ``with`` block runs, read back with ``tshark -r`` (expert rows, fields);
- raw-socket fakes of a broken peer: :class:`ClosingPeer` (reads, then
  hangs up), :class:`SilentPeer` (accepts, never answers) and
  :class:`CuttingProxy` (relays to a real gateway, but breaks the first
  association in the middle of a transfer);
- :func:`reports`, :func:`dsn_groups`: the RFC 3464 reports in a Maildir,
  read with :func:`gateway.dsn.parse.parse_dsn`.

Every socket is on 127.0.0.1; the relay stays off (no DNS at all).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import pytest

from gateway.dsn.parse import ParsedReport, parse_dsn
from tests.integration.peers import LOOPBACK, SMTPDaemon, free_ports, toml_string, wait_listening
from tests.x400.oracle import _expert_lines

__all__ = [
    "GW_A",
    "GW_B",
    "Capture",
    "ClosingPeer",
    "CuttingProxy",
    "GatewaySpec",
    "PeerEntry",
    "SilentPeer",
    "X400Daemon",
    "another_port",
    "dsn_groups",
    "gateway_pair",
    "reports",
    "start_together",
    "write_tables",
]

#: RFC 2156 Appendix F: domain -> O/R (mcgam-domain-or) and back.
MCGAMS = (("a.test", "PRMD$A.ADMD$ .C$GB"), ("b.test", "PRMD$B.ADMD$ .C$GB"))


def write_tables(directory: Path) -> Path:
    """The four Appendix F tables in ``directory``: the MCGAMs of
    :data:`MCGAMS` both ways, no gateway entries."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "mcgam-domain-or.table").write_text(
        "".join(f"{domain}#{orsp}#\n" for domain, orsp in MCGAMS), encoding="ascii"
    )
    (directory / "mcgam-or-domain.table").write_text(
        "".join(f"{orsp}#{domain}#\n" for domain, orsp in MCGAMS), encoding="ascii"
    )
    for name in ("gateway-domain-or.table", "gateway-or-domain.table"):
        (directory / name).write_text("", encoding="ascii")
    return directory


@dataclass(frozen=True)
class GatewaySpec:
    """Who one test gateway is."""

    name: str  # its peer name at the other gateway
    domain: str  # its local (Internet) domain
    x400_domain: str  # [x400] domain
    or_address: str  # [x400] or_address
    mta_name: str  # [x400] mta_name
    or_space: str  # what the other gateway routes to it
    password: str  # what it presents when it binds to the other


GW_A = GatewaySpec(
    name="a",
    domain="a.test",
    x400_domain="x400-a.test",
    or_address="/O=GwA/PRMD=A/ADMD= /C=GB/",
    mta_name="mta.a.test",
    or_space="/PRMD=A/ADMD= /C=GB/",
    password="a-secret",
)
GW_B = GatewaySpec(
    name="b",
    domain="b.test",
    x400_domain="x400-b.test",
    or_address="/O=GwB/PRMD=B/ADMD= /C=GB/",
    mta_name="mta.b.test",
    or_space="/PRMD=B/ADMD= /C=GB/",
    password="b-secret",
)


@dataclass
class PeerEntry:
    """One ``[x400.peers.<name>]`` table. ``our_password``: what we present;
    ``password``: what the peer must present to us. ``extra``: more TOML
    lines for the table (timeouts...)."""

    spec: GatewaySpec
    port: int
    our_password: str
    password: str
    extra: str = ""

    def toml(self) -> str:
        s = self.spec
        return (
            f"[x400.peers.{s.name}]\n"
            f"mta_name = {toml_string(s.mta_name)}\n"
            f"password = {toml_string(self.password)}\n"
            f"our_password = {toml_string(self.our_password)}\n"
            f'host = "{LOOPBACK}"\n'
            f"port = {self.port}\n"
            f"or_space = [{toml_string(s.or_space)}]\n" + self.extra
        )


#: Short queue retries: a deferred transfer is tried again within seconds.
FAST_QUEUE = '[queue]\nretry_first = "1s"\nretry_max = "2s"\nretry_factor = 1.5\n'


class X400Daemon(SMTPDaemon):
    """The gateway with an ``x400`` listener (``x400_port``), its own
    mapping tables and ``peers``. ``extra_config`` is appended (whole
    sections, before the peer tables)."""

    def __init__(
        self,
        directory: Path,
        spec: GatewaySpec,
        peers: list[PeerEntry],
        *,
        x400_port: int | None = None,
        x400_config: str = "",
        extra_config: str = FAST_QUEUE,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.spec = spec
        self.peers = peers
        self.x400_port = x400_port if x400_port is not None else free_ports(1)[0]
        self.tables = write_tables(directory / "x400")
        self._x400_config = x400_config
        self._extra = extra_config
        super().__init__(directory, local_domains=(spec.domain,))
        self.write_config()

    def write_config(self) -> None:
        """(Re)write the config file: after changing :attr:`peers` (takes
        effect at the next start)."""
        s = self.spec
        if not hasattr(self, "_base_config"):
            self._base_config = self.config.read_text()
        x400 = (
            "[x400]\n"
            f"tables = {toml_string(str(self.tables))}\n"
            f"domain = {toml_string(s.x400_domain)}\n"
            f"or_address = {toml_string(s.or_address)}\n"
            f"mta_name = {toml_string(s.mta_name)}\n"
            'bind_timeout = "5s"\n' + self._x400_config
        )
        text = self._base_config.replace(
            "[listeners]\n", f'[listeners]\nx400 = "tcp:{self.x400_port}:interface={LOOPBACK}"\n'
        )
        self.config.write_text(
            text + self._extra + x400 + "".join(peer.toml() for peer in self.peers)
        )

    def start(self, wait: bool = True) -> subprocess.Popen[bytes]:
        process = super().start(wait)
        if wait:
            wait_listening(self.x400_port, what="gateway x400")
        return process

    def queue_list(self) -> str:
        return self.cli("queue", "list", check=True).stdout.decode()

    def track(self, what: str) -> str:
        return self.cli("track", what).stdout.decode()


#: Short peer timeouts; a parked association is released after a second.
PEER_TIMEOUTS = (
    'connect_timeout = "5s"\nbind_timeout = "5s"\ntransfer_timeout = "10s"\nidle_timeout = "1s"\n'
)


def start_together(*daemons: SMTPDaemon) -> None:
    """Start the daemons at once, then wait until all of them listen.

    A daemon answers on its control socket only once every listener is
    bound, so the TCP probes come after all are ready: a probe's own
    ephemeral port cannot take a port another daemon is about to bind."""
    for daemon in daemons:
        daemon.start(wait=False)
    for daemon in daemons:
        daemon.wait_ready()
    for daemon in daemons:
        for name, port in daemon.ports.items():
            wait_listening(port, what=f"gateway {name}")
        if isinstance(daemon, X400Daemon):
            wait_listening(daemon.x400_port, what="gateway x400")


def all_ports(daemon: X400Daemon) -> list[int]:
    return [daemon.http_port, daemon.x400_port, *daemon.ports.values()]


def another_port(*daemons: X400Daemon) -> int:
    """A free port that none of ``daemons`` is configured to use."""
    taken = {port for daemon in daemons for port in all_ports(daemon)}
    while (port := free_ports(1)[0]) in taken:
        pass
    return port


def gateway_pair(root: Path, *, peer_extra: str = PEER_TIMEOUTS) -> tuple[X400Daemon, X400Daemon]:
    """A and B, each the other's peer (passwords both ways), with users
    alice@a.test at A and bob@b.test at B; not started. To change a peer
    entry (``a.peers[0]`` is B as A knows it): edit it, then
    :meth:`X400Daemon.write_config` before the next start."""
    while True:  # free ports are picked one call at a time: no port twice
        port_a, port_b = free_ports(2)
        a = X400Daemon(
            root / "a",
            GW_A,
            [PeerEntry(GW_B, port_b, GW_A.password, GW_B.password, peer_extra)],
            x400_port=port_a,
        )
        b = X400Daemon(
            root / "b",
            GW_B,
            [PeerEntry(GW_A, port_a, GW_B.password, GW_A.password, peer_extra)],
            x400_port=port_b,
        )
        ports = all_ports(a) + all_ports(b)
        if len(set(ports)) == len(ports):
            break
    a.add_user("alice@a.test", "pw")
    b.add_user("bob@b.test", "pw")
    return a, b


# --------------------------------------------------------------------------
# Reports


def reports(daemon: SMTPDaemon, user: str) -> list[ParsedReport]:
    """The DSNs in ``user``'s Maildir."""
    found = []
    for path in daemon.messages(user):
        parsed = parse_dsn(path.read_bytes())
        if parsed is not None:
            found.append(parsed)
    return found


def dsn_groups(report: ParsedReport) -> list[dict[str, str]]:
    """Per-recipient groups with lower-case field names."""
    return [{k.lower(): v for k, v in group.items()} for group in report.recipients]


# --------------------------------------------------------------------------
# tshark on live traffic

TSHARK = shutil.which("tshark")


class Capture:
    """``tshark -i lo -f "tcp port N" -w FILE`` while the ``with`` block
    runs. Skips the test when tshark is missing or may not capture here."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.pcap = directory / f"p1-{port}.pcap"
        self.config_dir = directory / "wireshark"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "WIRESHARK_CONFIG_DIR": str(self.config_dir)}
        self.process: subprocess.Popen[bytes] | None = None
        self.stderr = directory / f"tshark-{port}.err"
        (self.knock,) = free_ports(1)  # see _wait_until_recording

    def __enter__(self) -> Self:
        if TSHARK is None:
            pytest.skip("tshark (Wireshark) not installed")
        if os.geteuid() != 0:
            pytest.skip("live capture needs root")
        with self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [
                    TSHARK,
                    "-n",
                    "-i",
                    "lo",
                    "-f",
                    f"tcp port {self.port} or udp port {self.knock}",
                    "-w",
                    str(self.pcap),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=self.env,
            )
        # tshark says "Capturing on 'Loopback: lo'" once the capture runs
        deadline = time.monotonic() + 30
        while "Capturing on" not in self.stderr.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                why = self.stderr.read_text(errors="replace").strip()
                self.process.kill()
                self.process.wait()
                pytest.skip(f"cannot capture on lo: {why}")
            time.sleep(0.05)
        self._wait_until_recording()
        return self

    def _wait_until_recording(self) -> None:
        """ "Capturing on" can come before the filter sees traffic on a busy
        machine: knock (a UDP datagram to :attr:`knock`, which the filter
        also takes; nothing for the TCP or P1 dissectors to warn about) until
        the capture file has grown past its header, i.e. packets are being
        recorded, so the association that follows is captured from its
        first octet."""
        header = self.pcap.stat().st_size if self.pcap.exists() else 0
        deadline = time.monotonic() + 30
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    udp.sendto(b"knock", (LOOPBACK, self.knock))
                time.sleep(0.1)
                if self.pcap.exists() and self.pcap.stat().st_size > header:
                    return
        pytest.fail("tshark captured nothing on lo within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def read(self, *args: str) -> str:
        """``tshark -r`` the capture, P1 decoded on :attr:`port`."""
        assert TSHARK is not None
        done = subprocess.run(
            [TSHARK, "-n", "-r", str(self.pcap), "-d", f"tcp.port=={self.port},tpkt", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"tshark failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def expert(self) -> list[str]:
        """The Warning and Error rows of ``-z expert``."""
        return _expert_lines(self.read("-q", "-z", "expert"))


# --------------------------------------------------------------------------
# Broken peers on raw sockets


class _RawPeer:
    """A listening socket on ``port`` (127.0.0.1) served by a thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOPBACK, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class ClosingPeer(_RawPeer):
    """Accepts, reads what the caller sends first (its COTP CR), closes."""

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError):
            self.received += conn.recv(4096)
        conn.close()


class SilentPeer(_RawPeer):
    """Accepts, keeps the connection open, never answers."""

    def handle(self, conn: socket.socket) -> None:
        self._held.append(conn)


def _tpkt_end(buffer: bytes) -> int | None:
    """Where the first whole TPKT of ``buffer`` ends (RFC 1006: the length
    in octets 2-3 counts the 4-octet header), None if it is not all there."""
    if len(buffer) < 4:
        return None
    end = int.from_bytes(buffer[2:4], "big")
    return end if len(buffer) >= end >= 4 else None


class CuttingProxy(_RawPeer):
    """A TCP relay to ``upstream`` (a real gateway's x400 port). On its
    first ``cuts`` connections it passes ``keep`` whole TPKTs from the
    caller (COTP CR, the session CN with the MTA-bind, ...), then half of
    the next one, and closes both sides: the association breaks in the
    middle of a transfer. Later connections are passed through whole."""

    def __init__(self, port: int, upstream: int, *, keep: int = 3, cuts: int = 1) -> None:
        super().__init__(port)
        self.upstream = upstream
        self.keep = keep
        self.cuts = cuts
        self.cut = 0  # connections cut so far

    def handle(self, conn: socket.socket) -> None:
        up = socket.create_connection((LOOPBACK, self.upstream), timeout=10)
        conn.settimeout(None)
        up.settimeout(None)
        self._held += [conn, up]
        cutting = self.connections <= self.cuts
        threading.Thread(target=self._pump, args=(up, conn, False), daemon=True).start()
        threading.Thread(target=self._pump, args=(conn, up, cutting), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, cutting: bool) -> None:
        buffer = b""
        passed = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                if not cutting:
                    sink.sendall(data)
                    continue
                buffer += data
                while (end := _tpkt_end(buffer)) is not None and passed < self.keep:
                    sink.sendall(buffer[:end])
                    buffer = buffer[end:]
                    passed += 1
                if passed >= self.keep and len(buffer) >= 8:
                    sink.sendall(buffer[: len(buffer) // 2])
                    self.cut += 1
                    for s in (source, sink):
                        s.shutdown(socket.SHUT_RDWR)
                    return
        except OSError:
            return
