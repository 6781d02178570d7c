"""Real SMTP peers for end-to-end tests and benchmarks (loopback only).

Not a test module. It provides:

- :class:`SMTPDaemon`: the gateway (:class:`~tests.integration.daemon.Daemon`)
  with ``smtp``, ``submission`` and ``submissions`` listeners on free
  loopback ports and an ``[smtp]`` section.
- :class:`PostfixInstance`: a private Postfix (own config, queue and log) that
  relays to a ``relayhost`` and/or delivers one domain to Maildir, set up as
  /work/shared/reference/PEERS.md describes.
- :func:`smtp_source` and :class:`SMTPSink`: Postfix's load tools.
- :func:`swaks` and :func:`nmap_script_output`: the Debian clients.
- :func:`split_trace` and :func:`assert_intact`: compare what reached a
  Maildir with what was sent, after the trace fields added on the way.

``python -m tests.integration.peers`` checks the peers alone (Postfix starts,
accepts, delivers to Maildir and stops; smtp-source; nmap's relay script tells
an open relay from a closed one), without the gateway.
"""

from __future__ import annotations

import itertools
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.integration.daemon import Daemon, free_port

LOOPBACK = "127.0.0.1"
POSTFIX = shutil.which("postfix", path="/usr/sbin:/usr/bin:/sbin:/bin") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue", path="/usr/sbin:/usr/bin") or "/usr/sbin/postqueue"
SMTP_SOURCE = shutil.which("smtp-source", path="/usr/sbin:/usr/bin") or "/usr/sbin/smtp-source"
SMTP_SINK = shutil.which("smtp-sink", path="/usr/sbin:/usr/bin") or "/usr/sbin/smtp-sink"
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
NMAP = shutil.which("nmap") or "/usr/bin/nmap"


def have(*programs: str) -> bool:
    """True if every program exists and is executable."""
    return all(os.access(p, os.X_OK) for p in programs)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def wait_listening(port: int, timeout: float = 30.0, what: str = "listener") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not listening on {LOOPBACK}:{port}") from None
            time.sleep(0.05)


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


# --------------------------------------------------------------------------
# The gateway with SMTP listeners


class SMTPDaemon(Daemon):
    """The gateway with ``smtp``, ``submission`` and ``submissions`` listeners
    (and ``pop3``, ``pop3s`` with ``pop3=True``, ``imap``, ``imaps`` with
    ``imap=True``).

    ``smtp_config`` is TOML for the body of the ``[smtp]`` section (after
    ``trusted_networks``); ``extra_config`` is appended after it (whole
    sections).
    """

    def __init__(
        self,
        directory: Path,
        *,
        trusted_networks: tuple[str, ...] = (),
        smtp_config: str = "",
        extra_config: str = "",
        pop3: bool = False,
        imap: bool = False,
        relay: bool = False,
        local_domains: tuple[str, ...] = ("example.test",),
        authn: bool = False,
        server_config: str = "",
    ) -> None:
        self.smtp_port, self.submission_port, self.submissions_port = free_ports(3)
        listeners = (
            f'smtp = "tcp:{self.smtp_port}:interface={LOOPBACK}"\n'
            f'submission = "tcp:{self.submission_port}:interface={LOOPBACK}"\n'
            f'submissions = "tcp:{self.submissions_port}:interface={LOOPBACK}"\n'
        )
        self.pop3_port: int | None = None
        self.pop3s_port: int | None = None
        if pop3:
            self.pop3_port, self.pop3s_port = free_ports(2)
            listeners += (
                f'pop3 = "tcp:{self.pop3_port}:interface={LOOPBACK}"\n'
                f'pop3s = "tcp:{self.pop3s_port}:interface={LOOPBACK}"\n'
            )
        self.imap_port: int | None = None
        self.imaps_port: int | None = None
        if imap:
            self.imap_port, self.imaps_port = free_ports(2)
            listeners += (
                f'imap = "tcp:{self.imap_port}:interface={LOOPBACK}"\n'
                f'imaps = "tcp:{self.imaps_port}:interface={LOOPBACK}"\n'
            )
        networks = ", ".join(toml_string(n) for n in trusted_networks)
        smtp = f"[smtp]\ntrusted_networks = [{networks}]\n{smtp_config}"
        if smtp and not smtp.endswith("\n"):
            smtp += "\n"
        super().__init__(
            directory,
            listeners + smtp + extra_config,
            relay=relay,
            local_domains=local_domains,
            authn=authn,
            server_config=server_config,
        )

    @property
    def ports(self) -> dict[str, int]:
        ports = {
            "smtp": self.smtp_port,
            "submission": self.submission_port,
            "submissions": self.submissions_port,
        }
        if self.pop3_port is not None and self.pop3s_port is not None:
            ports.update(pop3=self.pop3_port, pop3s=self.pop3s_port)
        if self.imap_port is not None and self.imaps_port is not None:
            ports.update(imap=self.imap_port, imaps=self.imaps_port)
        return ports

    @property
    def certificate(self) -> Path:
        """The self-signed certificate generated at first start."""
        return self.data_dir / "tls" / "cert.pem"

    def start(self, wait: bool = True) -> subprocess.Popen[bytes]:
        process = super().start(wait)
        if wait:
            for name, port in self.ports.items():
                wait_listening(port, what=f"gateway {name}")
        return process


# --------------------------------------------------------------------------
# What arrived in a Maildir

# Fields that hops and final delivery put on top of a message (X-Original-To:
# Postfix's delivery agents).
TRACE_FIELDS = frozenset(
    {b"return-path", b"delivered-to", b"x-original-to", b"received", b"authentication-results"}
)
_FIELD_NAME = re.compile(rb"([!-9;-~]+):")


def split_trace(data: bytes) -> tuple[list[bytes], bytes]:
    """The leading trace fields (raw, each with its folded lines and line
    end) and the rest of the message, as stored."""
    fields: list[bytes] = []
    pos = 0
    while True:
        match = _FIELD_NAME.match(data, pos)
        if match is None or match.group(1).lower() not in TRACE_FIELDS:
            return fields, data[pos:]
        end = pos
        while True:
            newline = data.find(b"\n", end)
            if newline < 0:
                end = len(data)
                break
            end = newline + 1
            if data[end : end + 1] not in (b" ", b"\t"):
                break
        fields.append(data[pos:end])
        pos = end


def unfold(field: bytes) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", field.decode("utf-8", "replace")).strip()


def trace_named(fields: list[bytes], name: str) -> list[str]:
    """The unfolded values (``Name: value``) of the trace fields called ``name``."""
    prefix = name.lower().encode() + b":"
    return [unfold(f) for f in fields if f.lower().startswith(prefix)]


def assert_intact(stored: bytes, sent: bytes) -> None:
    """``stored`` (a message after its trace fields) is ``sent`` (the content
    as on the wire after dot-unstuffing), byte for byte: with CRLF line ends,
    or with every CRLF turned into LF (the usual Maildir form)."""
    if stored == sent or stored == sent.replace(b"\r\n", b"\n"):
        return
    raise AssertionError(
        "message not intact:\n--- sent ---\n"
        + sent.decode("utf-8", "replace")
        + "\n--- stored (after trace fields) ---\n"
        + stored.decode("utf-8", "replace")
    )


def maildir_files(maildir: Path) -> list[Path]:
    return [
        Path(entry.path)
        for sub in ("new", "cur")
        if (maildir / sub).is_dir()
        for entry in os.scandir(maildir / sub)
    ]


def wait_for_message(maildir: Path, marker: bytes, timeout: float = 60.0) -> bytes:
    """The content of the (single) Maildir file containing ``marker``."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for path in maildir_files(maildir):
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # moved new/ -> cur/ meanwhile
                continue
            if marker in data:
                found.append(data)
        if found:
            assert len(found) == 1, f"{len(found)} copies of {marker!r} in {maildir}"
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no message with {marker!r} in {maildir} after {timeout}s")
        time.sleep(0.05)


# --------------------------------------------------------------------------
# A private Postfix

_instances = itertools.count(1)

# Only the services a relay/virtual-delivery instance uses; chroot "n"
# everywhere (a private queue directory lacks what a chroot needs).
_MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
proxywrite unix - - n -    1 proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
virtual   unix  - n n -    - virtual
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def child_processes(parent: int, marker: str) -> set[int]:
    """The running children of ``parent`` whose command line contains
    ``marker`` (read from /proc: no procps needed)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if ppid == parent and marker in command and process_alive(int(entry.name)):
            found.add(int(entry.name))
    return found


def process_alive(pid: int) -> bool:
    """Running (not gone, not a zombie): ``kill -0`` is not enough, since a
    master re-parented to a PID 1 that does not reap stays a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


class StartedPeer:
    """A peer used as ``with Peer(...) as peer:``: started on entry (closed
    again if starting fails), closed on exit. Subclasses give start/close."""

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PostfixInstance(StartedPeer):
    """A private Postfix on loopback: its smtpd on ``port``, relaying
    everything to ``relayhost`` (``(host, port)``, named ``[host]:port``: no MX
    lookup) and/or delivering ``maildir_domain`` to Maildir under
    ``directory/mail/<domain>/<local>/`` via the ``virtual`` agent (every
    local part is a mailbox).

    Clients from 127.0.0.0/8 may relay (``mynetworks``), so tests can inject
    mail through its smtpd. With neither a relayhost nor a domain, mail
    bounces (``default_transport = error``) rather than leave the machine.
    """

    def __init__(
        self,
        directory: Path,
        relayhost: tuple[str, int] | None = None,
        maildir_domain: str | None = None,
        port: int | None = None,
        tls_security_level: str = "may",
        extra_main_cf: str = "",
    ) -> None:
        self.directory = directory.resolve()
        self.port = port if port is not None else free_port()
        self.relayhost = relayhost
        self.maildir_domain = maildir_domain
        self.name = f"mgwtest{os.getpid()}x{next(_instances)}"
        self.hostname = f"{self.name}.peers.test"
        # Postfix's unprivileged daemons (user postfix) must reach the data,
        # queue and mail directories, and pytest's temporary directories are
        # private (0700): the instance lives in its own scratch directory
        # (absolute, as postfix -c wants), removed by close().
        self.directory.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir="/var/tmp"))
        self.root.chmod(0o755)
        self.config_dir = self.root / "etc"
        self.queue_dir = self.root / "queue"
        self.data_dir = self.root / "data"
        self.mail_dir = self.root / "mail"
        # Must sit under maillog_file_prefixes (/var by default).
        self.log_path = Path(f"/var/log/postfix-{self.name}.log")
        self.master_pid: int | None = None
        self._write_config(tls_security_level, extra_main_cf)

    def _write_config(self, tls_security_level: str, extra: str) -> None:
        postfix = pwd.getpwnam("postfix")
        for d in (self.config_dir, self.queue_dir, self.data_dir, self.mail_dir):
            d.mkdir(parents=True, exist_ok=True)
        os.chown(self.data_dir, postfix.pw_uid, postfix.pw_gid)
        os.chown(self.mail_dir, postfix.pw_uid, postfix.pw_gid)
        lines = [
            "compatibility_level = 3.6",
            f"queue_directory = {self.queue_dir}",
            f"data_directory = {self.data_dir}",
            f"myhostname = {self.hostname}",
            "mydomain = peers.test",
            "myorigin = $myhostname",
            "mydestination =",
            "relay_domains =",
            "local_recipient_maps =",
            "alias_maps =",
            "alias_database =",
            "biff = no",
            "append_dot_mydomain = no",
            f"inet_interfaces = {LOOPBACK}",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            f"smtp_bind_address = {LOOPBACK}",
            f"syslog_name = postfix-{self.name}",
            f"maillog_file = {self.log_path}",
            "smtpd_peername_lookup = no",
            "smtp_dns_support_level = disabled",
            "smtpd_tls_security_level = none",
            f"smtp_tls_security_level = {tls_security_level}",
            "smtp_tls_loglevel = 1",
            "smtputf8_enable = yes",
        ]
        if self.relayhost is not None:
            host, port = self.relayhost
            lines.append(f"relayhost = [{host}]:{port}")
        else:
            lines.append("default_transport = error:this test instance relays nowhere")
        if self.maildir_domain is not None:
            # texthash: no postmap; a map that says yes to every local part
            # would need a regexp table, and one line per address is enough.
            self.mailbox_map = self.config_dir / "vmailbox"
            self.mailbox_map.write_text("")
            lines += [
                f"virtual_mailbox_domains = {self.maildir_domain}",
                f"virtual_mailbox_base = {self.mail_dir}",
                f"virtual_mailbox_maps = texthash:{self.mailbox_map}",
                "virtual_transport = virtual",
                f"virtual_uid_maps = static:{postfix.pw_uid}",
                f"virtual_gid_maps = static:{postfix.pw_gid}",
            ]
        (self.config_dir / "main.cf").write_text("\n".join(lines) + "\n" + extra)
        (self.config_dir / "master.cf").write_text(
            _MASTER_CF.format(listen=f"{LOOPBACK}:{self.port}")
        )

    # Mailboxes (virtual delivery)

    def add_mailbox(self, address: str) -> Path:
        """Accept ``address`` (in ``maildir_domain``); returns its Maildir.
        Call before :meth:`start` (or reload after)."""
        assert self.maildir_domain is not None, "no maildir_domain configured"
        local, domain = address.rsplit("@", 1)
        relative = f"{domain}/{local}/"  # trailing "/": Maildir, not mbox
        with self.mailbox_map.open("a") as f:
            f.write(f"{address} {relative}\n")
        return self.mail_dir / domain / local

    def maildir(self, address: str) -> Path:
        local, domain = address.rsplit("@", 1)
        return self.mail_dir / domain / local

    # Life cycle

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self) -> None:
        result = self._postfix("start")
        if result.returncode != 0:
            raise RuntimeError(
                f"postfix -c {self.config_dir} start exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n{self.log()[-4000:]}"
            )
        pid_file = self.queue_dir / "pid" / "master.pid"
        deadline = time.monotonic() + 30
        while self.master_pid is None:
            try:
                self.master_pid = int(pid_file.read_text().split()[0])
            except (FileNotFoundError, ValueError, IndexError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no {pid_file}:\n{self.log()[-4000:]}") from None
                time.sleep(0.05)
        wait_listening(self.port, what=f"postfix {self.name} smtpd")

    def reload(self) -> None:
        result = self._postfix("reload")
        if result.returncode != 0:
            raise RuntimeError(f"postfix reload exited {result.returncode}: {result.stderr}")

    def running(self) -> bool:
        return self.master_pid is not None and process_alive(self.master_pid)

    def stop(self, timeout: float = 30.0) -> None:
        """``postfix stop``, then wait until the master is really gone."""
        if self.master_pid is None:
            return
        if process_alive(self.master_pid):
            result = self._postfix("stop")
            if result.returncode != 0 and process_alive(self.master_pid):
                raise RuntimeError(f"postfix stop exited {result.returncode}: {result.stderr}")
        deadline = time.monotonic() + timeout
        while process_alive(self.master_pid):
            if time.monotonic() > deadline:
                os.kill(self.master_pid, 9)
                raise RuntimeError(f"postfix master {self.master_pid} still running; killed")
            time.sleep(0.05)
        self.master_pid = None

    def close(self) -> None:
        """Stop; keep the log and main.cf in ``directory``; remove the
        scratch directory and the log in /var/log."""
        try:
            self.stop()
        finally:
            if self.log_path.exists():
                shutil.copyfile(self.log_path, self.directory / "postfix.log")
                self.log_path.unlink()
            if (self.config_dir / "main.cf").exists():
                shutil.copyfile(self.config_dir / "main.cf", self.directory / "main.cf")
            if self.master_pid is None:  # never remove a queue a master still uses
                shutil.rmtree(self.root, ignore_errors=True)

    # Queue and log

    def queue_listing(self) -> str:
        result = subprocess.run(
            [POSTQUEUE, "-c", str(self.config_dir), "-p"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"postqueue -p exited {result.returncode}: {result.stderr}")
        return result.stdout

    def wait_queue_empty(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            listing = self.queue_listing()
            if "Mail queue is empty" in listing:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"postfix queue not empty after {timeout}s:\n{listing}\n{self.log()[-4000:]}"
                )
            time.sleep(0.1)

    def log(self) -> str:
        for path in (self.log_path, self.directory / "postfix.log"):
            if path.exists():
                return path.read_text(errors="replace")
        return ""

    def wait_log(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """The first match of the regular expression ``pattern`` in the log
        (postlogd writes asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log())
            if match is not None:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not in postfix log:\n{self.log()[-4000:]}")
            time.sleep(0.1)


# --------------------------------------------------------------------------
# Postfix's load tools


def smtp_source(
    port: int,
    count: int,
    sessions: int,
    size: int,
    reuse: bool,
    sender: str,
    recipient: str,
    helo: str = "source.test",
    timeout: float = 600.0,
) -> float:
    """Run ``smtp-source`` against 127.0.0.1:port; seconds it took.

    ``count`` is the total number of messages; without ``reuse`` every
    message has its own connection, with it (``-d``) each session keeps one.
    ``-M``, ``-f`` and ``-t`` keep it from doing any DNS lookups.
    """
    command = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(size)]
    command += ["-f", sender, "-t", recipient, "-M", helo]
    if reuse:
        command.append("-d")
    command.append(f"{LOOPBACK}:{port}")
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return elapsed


class SMTPSink:
    """``smtp-sink`` on 127.0.0.1:port: accepts (or scripts errors for) and
    discards mail. ``options`` e.g. ``["-f", "RCPT"]`` (hard error at RCPT)."""

    def __init__(self, port: int | None = None, options: tuple[str, ...] = ()) -> None:
        self.port = port if port is not None else free_port()
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [SMTP_SINK, "-u", "nobody", *self.options, f"{LOOPBACK}:{self.port}", "1024"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_listening(self.port, what="smtp-sink")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)

    def __enter__(self) -> SMTPSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------
# Debian clients


def swaks(port: int, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run swaks against 127.0.0.1:port (TLS certificates are not verified,
    swaks's default). The transcript is in ``stdout``."""
    return subprocess.run(
        [SWAKS, "--server", LOOPBACK, "--port", str(port), "--timeout", "30", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def nmap_script_output(port: int, script: str, script_args: str = "") -> str:
    """Run one NSE script against 127.0.0.1:port and return its output.

    ``+script`` forces it to run although the port is not one its portrule
    knows (25/465/587). Raises if the script produced no output (did not
    run), so a test never mistakes a silent nmap for a pass.
    """
    command = [NMAP, "-Pn", "-n", "-vv", "-p", str(port), "--script", f"+{script}", "-oX", "-"]
    if script_args:
        command += ["--script-args", script_args]
    command.append(LOOPBACK)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"nmap exited {result.returncode}:\n{result.stdout}{result.stderr}")
    root = ET.fromstring(result.stdout)
    outputs = [
        element.get("output", "") for element in root.iter("script") if element.get("id") == script
    ]
    if not outputs:
        raise AssertionError(f"nmap did not run {script}:\n{result.stdout}{result.stderr}")
    return outputs[0].strip()


# smtp-open-relay's verdicts (nmap 7.93 /usr/share/nmap/scripts/smtp-open-relay.nse):
OPEN_RELAY = re.compile(r"^Server is an open relay \((\d+)/16 tests\)")
NO_RELAY_ALL_FAILED = "Server doesn't seem to be an open relay, all tests failed"
NO_RELAY_AUTH_NEEDED = "Server isn't an open relay, authentication needed"


def open_relay_probe(
    port: int, domain: str, ip: str = LOOPBACK, to: str | None = None, sender: str | None = None
) -> str:
    """nmap's smtp-open-relay verdict for 127.0.0.1:port: one of the constants
    above, an "open relay (n/16 tests)" line followed (-vv) by the
    combinations that worked, or an error message."""
    args = [f"smtp-open-relay.domain={domain}", f"smtp-open-relay.ip={ip}"]
    if to is not None:
        args.append(f"smtp-open-relay.to={to}")
    if sender is not None:
        args.append(f"smtp-open-relay.from={sender}")
    return nmap_script_output(port, "smtp-open-relay", ",".join(args))


# --------------------------------------------------------------------------
# Self-check of the peers alone: python -m tests.integration.peers


def _selfcheck() -> int:
    import smtplib

    needed = (POSTFIX, POSTQUEUE, SMTP_SOURCE, SMTP_SINK, SWAKS, NMAP)
    missing = [p for p in needed if not have(p)]
    if missing:
        print("missing:", ", ".join(missing))
        return 1
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        base = Path(tmp)
        # 1. Postfix delivering to Maildir, two instances side by side.
        with (
            PostfixInstance(base / "a", maildir_domain="example.test") as a,
            PostfixInstance(base / "b", relayhost=(LOOPBACK, a.port)) as b,
        ):
            pass
        a = PostfixInstance(base / "a2", maildir_domain="example.test")
        box = a.add_mailbox("user@example.test")
        b = PostfixInstance(base / "b2", relayhost=(LOOPBACK, a.port))
        try:
            a.start()
            b.start()
            message = (
                b"From: <s@client.test>\r\nTo: <user@example.test>\r\n"
                b"Subject: peers self-check\r\nMessage-ID: <selfcheck@client.test>\r\n"
                b"Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\nline one\r\n.dot line\r\n"
            )
            with smtplib.SMTP(LOOPBACK, b.port, timeout=30) as client:
                client.sendmail("s@client.test", ["user@example.test"], message)
            data = wait_for_message(box, b"<selfcheck@client.test>")
            fields, rest = split_trace(data)
            assert_intact(rest, message)
            print(f"relay b -> a -> Maildir ok ({len(fields)} trace fields)")
            b.wait_queue_empty()
            b.wait_log(r"status=sent")
            # smtp-source into a, both modes.
            for reuse in (False, True):
                before = len(maildir_files(box))
                seconds = smtp_source(
                    a.port, 200, 10, 4096, reuse, "f@bench.test", "user@example.test"
                )
                deadline = time.monotonic() + 60
                while len(maildir_files(box)) < before + 200:
                    assert time.monotonic() < deadline, "smtp-source mail not delivered"
                    time.sleep(0.05)
                print(f"smtp-source reuse={reuse}: 200 messages sent in {seconds:.2f}s, delivered")
            # nmap: a Postfix that relays anything from 127.0.0.0/8 to a
            # relayhost is an open relay (for a client on loopback).
            verdict = open_relay_probe(b.port, "elsewhere.test")
            assert OPEN_RELAY.match(verdict), verdict
            print(f"nmap on a relaying Postfix: {verdict.splitlines()[0]}")
        finally:
            a.close()
            b.close()
        assert not a.log_path.exists() and not b.log_path.exists()
        # A Postfix that relays for nobody is no open relay.
        closed = PostfixInstance(
            base / "c", maildir_domain="example.test", extra_main_cf="mynetworks =\n"
        )
        with closed:
            verdict = open_relay_probe(closed.port, "elsewhere.test")
            assert verdict == NO_RELAY_ALL_FAILED, verdict
            print(f"nmap on a closed Postfix: {verdict}")
        with SMTPSink() as sink:
            smtp_source(sink.port, 100, 5, 1024, True, "f@bench.test", "t@example.test")
            print("smtp-sink ok")
    print("peers self-check passed")
    return 0


if __name__ == "__main__":
    sys.exit(_selfcheck())
