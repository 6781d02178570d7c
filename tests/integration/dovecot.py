"""A private Dovecot 2.3 on loopback, for interoperability tests and benchmarks.

Not a test module. It provides:

- :class:`DovecotInstance`: a Dovecot with its own ``dovecot.conf``, run
  directory, state directory, log and ``passwd-file`` users, serving IMAP and
  POP3 (and, given a certificate, IMAPS and POP3S) on free loopback ports,
  reading Maildir++ trees laid out as the gateway lays them out
  (``<root>/<domain>/<localpart>/``, INBOX at that root, folders as
  ``.Name``).
- :func:`make_test_tls`: a throw-away CA and a server certificate for
  ``localhost`` / ``127.0.0.1`` signed by it, so clients can verify the
  server (fetchmail, getmail6, :mod:`ssl`) instead of turning checks off.

Set up as /work/shared/reference/PEERS.md describes, plus what running it as
root needed (see the comments in :meth:`DovecotInstance._write_config`):
Dovecot refuses mail access as uid/gid 0 whatever ``first_valid_uid`` says
("Mail access not allowed for root"), so mail processes run as the system
user ``mail`` and the Maildirs they read must belong to it
(:meth:`DovecotInstance.adopt`).

``python -m tests.integration.dovecot`` starts one, logs in over IMAP and
POP3 and stops it.
"""

from __future__ import annotations

import datetime
import grp
import ipaddress
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.integration.peers import LOOPBACK, StartedPeer, free_ports, process_alive

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm", path="/usr/bin:/usr/sbin") or "/usr/bin/doveadm"
# The system user that owns the mail Dovecot reads (Debian's "mail", uid 8).
MAIL_USER = "mail"

_instances = itertools.count(1)


def have_dovecot() -> bool:
    """True if Debian's dovecot-core is installed."""
    return os.access(DOVECOT, os.X_OK)


# --------------------------------------------------------------------------
# Test certificates


@dataclass(frozen=True)
class TestTLS:
    """PEM files: ``ca`` (trust anchor for clients), ``certificate`` and
    ``key`` (the server's, SAN ``localhost`` and ``127.0.0.1``)."""

    ca: Path
    certificate: Path
    key: Path

    __test__ = False  # not a pytest test class despite the name


def make_test_tls(directory: Path, hostname: str = "localhost") -> TestTLS:
    """Write a CA and a server certificate signed by it into ``directory``.

    A separate CA (rather than one self-signed leaf) because OpenSSL-based
    clients verify a chain up to a CA certificate; the leaf names both
    ``hostname`` and 127.0.0.1 so a client may connect by either.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    later = now + datetime.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailgateway test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    tls = TestTLS(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    tls.ca.write_bytes(ca_cert.public_bytes(pem))
    tls.certificate.write_bytes(cert.public_bytes(pem))
    tls.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    tls.key.chmod(0o600)
    return tls


# --------------------------------------------------------------------------
# Dovecot


def _listening_ports() -> set[int]:
    """The TCP ports something listens on at 127.0.0.1 or 0.0.0.0 (IPv4)."""
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port = local.split(":")
        if state == "0A" and address in ("0100007F", "00000000"):
            ports.add(int(port, 16))
    return ports


def _dovecot_pids(instance_name: str) -> list[int]:
    """Live (non-zombie) processes of one instance: Dovecot titles its
    children ``dovecot-<instance_name>/<service>``."""
    prefix = f"dovecot-{instance_name}/".encode()
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(prefix) and process_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


class DovecotInstance(StartedPeer):
    """A private Dovecot on loopback (IMAP and POP3; IMAPS and POP3S with ``tls``).

    ``directory`` receives the log, ``dovecot.conf`` and the master's output
    when the instance is closed; the instance itself lives in a scratch
    directory under /var/tmp (``root``) that Dovecot's unprivileged users
    (``dovecot`` for auth, ``dovenull`` for logins, ``mail`` for mail) can
    traverse, which pytest's private (0700) temporary directories are not.

    Mail is read with ``mail_location`` (default
    ``maildir:<mail_root>/%d/%n``: the gateway's layout, so ``mail_root`` may
    be a gateway's ``<data_dir>/mail``, after :meth:`adopt`). With
    ``private_index`` (default) Dovecot's index and control files
    (``dovecot.index*``, ``dovecot-uidlist``) go to the scratch directory
    rather than into the Maildirs, so a tree shared with the gateway only
    gains the renames Dovecot does (``new/`` -> ``cur/``, flags).

    The master runs in the foreground (``dovecot -F``) as our child, so we
    reap it ourselves: no zombie re-parented to a PID 1 that does not reap.
    """

    def __init__(
        self,
        directory: Path,
        *,
        mail_root: Path | None = None,
        mail_location: str | None = None,
        private_index: bool = True,
        tls: TestTLS | None = None,
        extra_conf: str = "",
    ) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("a private Dovecot needs root (it binds, chroots and setuids)")
        self.directory = directory.resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = f"mgwtest{os.getpid()}x{next(_instances)}"
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir="/var/tmp"))
        self.root.chmod(0o755)
        self.config_path = self.root / "dovecot.conf"
        self.users_path = self.root / "users"
        self.log_path = self.root / "dovecot.log"
        self.output_path = self.directory / "dovecot.out"
        self.mail_root = (mail_root or self.root / "mail").resolve()
        self.mail_root.mkdir(parents=True, exist_ok=True)
        self.mail_location = mail_location or f"maildir:{self.mail_root}/%d/%n"
        if private_index:
            self.mail_location += (
                f":INDEX={self.root}/index/%d/%n:CONTROL={self.root}/control/%d/%n"
            )
        self.tls = tls
        self.extra_conf = extra_conf
        mail = pwd.getpwnam(MAIL_USER)
        self.mail_uid, self.mail_gid = mail.pw_uid, mail.pw_gid
        ports = free_ports(4 if tls else 2)
        self.imap_port, self.pop3_port = ports[0], ports[1]
        self.imaps_port: int | None = ports[2] if tls else None
        self.pop3s_port: int | None = ports[3] if tls else None
        self.process: subprocess.Popen[bytes] | None = None
        self.users_path.write_text("")
        os.chown(self.users_path, 0, grp.getgrnam("dovecot").gr_gid)
        self.users_path.chmod(0o640)  # read by the auth process (user dovecot)
        for sub in ("run", "state", "index", "control"):
            (self.root / sub).mkdir()
        for sub in ("index", "control"):
            os.chown(self.root / sub, self.mail_uid, self.mail_gid)
        self.adopt(self.mail_root)
        self._write_config()

    # Configuration

    def _write_config(self) -> None:
        tls_lines = ["ssl = no"]
        if self.tls is not None:
            tls_lines = [
                "ssl = yes",
                f"ssl_cert = <{self.tls.certificate}",
                f"ssl_key = <{self.tls.key}",
                "ssl_min_protocol = TLSv1.2",
            ]
        lines = [
            f"instance_name = {self.name}",
            f"base_dir = {self.root}/run",
            f"state_dir = {self.root}/state",
            f"log_path = {self.log_path}",
            f"info_log_path = {self.log_path}",
            f"listen = {LOOPBACK}",
            "protocols = imap pop3",
            *tls_lines,
            # Dovecot 2.3's name for "allow AUTH/LOGIN/USER+PASS without TLS".
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            # Tests try wrong passwords; the default 2 s penalty only slows them.
            "auth_failure_delay = 0",
            f"mail_location = {self.mail_location}",
            # Dovecot refuses uid/gid 0 for mail access however first_valid_uid
            # is set ("Mail access not allowed for root"; a passwd-file with
            # uid 0 is "invalid UID '0'"): every user's mail is the "mail"
            # user's, which is below the default first_valid_uid of 500.
            f"mail_uid = {self.mail_uid}",
            f"mail_gid = {self.mail_gid}",
            f"first_valid_uid = {self.mail_uid}",
            f"first_valid_gid = {self.mail_gid}",
            # Load tests open many sessions of one user from 127.0.0.1 (default 10).
            "mail_max_userip_connections = 10000",
            "pop3_uidl_format = %08Xu%08Xv",
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {self.users_path}",
            "}",
            "userdb {",
            "  driver = passwd-file",
            f"  args = username_format=%u {self.users_path}",
            "}",
            "service imap-login {",
            f"  inet_listener imap {{\n    port = {self.imap_port}\n  }}",
            f"  inet_listener imaps {{\n    port = {self.imaps_port or 0}\n    ssl = yes\n  }}",
            "}",
            "service pop3-login {",
            f"  inet_listener pop3 {{\n    port = {self.pop3_port}\n  }}",
            f"  inet_listener pop3s {{\n    port = {self.pop3s_port or 0}\n    ssl = yes\n  }}",
            "}",
        ]
        self.config_path.write_text("\n".join(lines) + "\n" + self.extra_conf)

    # Users and mail

    def add_user(self, address: str, password: str) -> Path:
        """Let ``address`` (``local@domain``) log in with ``password``; returns
        its Maildir. The passwd-file is re-read when it changes, so this works
        while running too."""
        if ":" in address + password or "\n" in address + password:
            raise ValueError("passwd-file fields cannot contain ':' or newlines")
        with self.users_path.open("a") as f:
            f.write(f"{address}:{{PLAIN}}{password}::::::\n")
        return self.maildir(address)

    def maildir(self, address: str) -> Path:
        """The Maildir (INBOX) of ``address`` under ``mail_root``."""
        local, domain = address.rsplit("@", 1)
        return self.mail_root / domain / local

    def adopt(self, path: Path) -> None:
        """Give ``path`` (a tree of Maildirs) to the ``mail`` user Dovecot
        reads mail as, and let it traverse the directories above."""
        for dirpath, dirnames, filenames in os.walk(path):
            os.chown(dirpath, self.mail_uid, self.mail_gid)
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), self.mail_uid, self.mail_gid)
        for parent in path.resolve().parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)

    def deliver(self, address: str, content: bytes, flags: str | None = None) -> Path:
        """Put ``content`` into the INBOX of ``address`` as an MDA would:
        written in ``tmp/``, renamed into ``new/``, or, with ``flags`` (e.g.
        ``"FS"``), into ``cur/`` as ``<name>:2,<flags>``. ``,S=<size>`` in the
        name as Dovecot and the gateway write it. Returns the file."""
        box = self.maildir(address)
        for sub in ("tmp", "new", "cur"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        self.adopt(box)
        base = f"{time.time_ns()}.P{os.getpid()}Q{next(_instances)}.test,S={len(content)}"
        temporary = box / "tmp" / base
        temporary.write_bytes(content)
        os.chown(temporary, self.mail_uid, self.mail_gid)
        final = box / "new" / base if flags is None else box / "cur" / f"{base}:2,{flags}"
        os.rename(temporary, final)
        return final

    # Life cycle

    def start(self, timeout: float = 30.0) -> None:
        """Start the master and wait until every port listens and the plain
        IMAP and POP3 ports greet (so the auth process is up).

        Readiness is read from /proc/net/tcp rather than probed with
        :func:`~tests.integration.peers.wait_listening`: a pop3-login that
        gets a connection before auth is ready keeps it until shutdown, and
        then the master takes seconds longer to stop."""
        with self.output_path.open("ab") as output:
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.config_path)],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Not in our process group: a Ctrl-C meant for the test run
                # must not shut Dovecot down under it; close() stops it.
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not set(self.listening_ports) <= _listening_ports():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited {self.process.returncode}:\n{self.output()}{self.log()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot not listening:\n{self.output()}{self.log()}")
            time.sleep(0.02)
        for port, greeting in ((self.pop3_port, b"+OK"), (self.imap_port, b"* OK")):
            with socket.create_connection((LOOPBACK, port), timeout=timeout) as conn:
                conn.settimeout(max(1.0, deadline - time.monotonic()))
                line = conn.makefile("rb").readline()
            if not line.startswith(greeting):
                raise RuntimeError(f"dovecot greeted {line!r} on {port}:\n{self.log()}")

    @property
    def listening_ports(self) -> list[int]:
        ports = [self.imap_port, self.pop3_port, self.imaps_port, self.pop3s_port]
        return [p for p in ports if p is not None]

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the master (as ``doveadm stop`` does) and reap it, then
        wait until none of its children (which it signals) is still alive;
        SIGKILL what remains."""
        if self.process is None:
            return
        if self.process.poll() is None:
            # What "doveadm stop" does, without its polling (3 s, not 1 s).
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        deadline = time.monotonic() + timeout
        while pids := _dovecot_pids(self.name):
            if time.monotonic() > deadline:
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                raise RuntimeError(f"dovecot {self.name} processes {pids} outlived the master")
            time.sleep(0.05)
        self.process = None

    def close(self) -> None:
        """Stop; keep the log and dovecot.conf in ``directory``; remove the
        scratch directory (with any mail under it)."""
        try:
            self.stop()
        finally:
            for path in (self.log_path, self.config_path):
                if path.exists():
                    shutil.copyfile(path, self.directory / path.name)
            if self.process is None:
                shutil.rmtree(self.root, ignore_errors=True)

    # Diagnostics

    def log(self) -> str:
        """Dovecot's log (``log_path``), also after :meth:`close`."""
        for path in (self.log_path, self.directory / self.log_path.name):
            if path.exists():
                return path.read_text(errors="replace")
        return ""

    def output(self) -> str:
        """What the master printed (configuration errors before logging starts)."""
        if self.output_path.exists():
            return self.output_path.read_text(errors="replace")
        return ""


# --------------------------------------------------------------------------
# Self-check: python -m tests.integration.dovecot


def _selfcheck() -> int:
    import imaplib
    import poplib
    import ssl

    if not have_dovecot():
        print(f"missing: {DOVECOT} or {DOVEADM}")
        return 1
    with tempfile.TemporaryDirectory(prefix="dovecot-") as tmp:
        tls = make_test_tls(Path(tmp) / "tls")
        with DovecotInstance(Path(tmp) / "dovecot", tls=tls) as dovecot:
            dovecot.add_user("user@example.test", "pw")
            dovecot.deliver("user@example.test", b"Subject: self-check\n\nhello\n")
            context = ssl.create_default_context(cafile=str(tls.ca))
            assert dovecot.pop3s_port is not None and dovecot.imaps_port is not None
            pop = poplib.POP3_SSL(LOOPBACK, dovecot.pop3s_port, context=context, timeout=30)
            pop.user("user@example.test")
            pop.pass_("pw")
            print("POP3S STAT", pop.stat())
            pop.quit()
            with imaplib.IMAP4(LOOPBACK, dovecot.imap_port, timeout=30) as imap:
                imap.login("user@example.test", "pw")
                print("IMAP SELECT", imap.select("INBOX"))
                imap.logout()
            with socket.create_connection((LOOPBACK, dovecot.pop3_port), timeout=30) as s:
                print("POP3 greeting", s.recv(200))
    print("dovecot self-check passed")
    return 0


if __name__ == "__main__":
    sys.exit(_selfcheck())
