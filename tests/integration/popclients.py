"""Real POP3 clients, run once against a server on loopback: Debian's
fetchmail and getmail6.

Not a test module. :func:`fetchmail_retrieve` and :func:`getmail_retrieve`
write a configuration file into a scratch directory (each client also keeps
its state there: fetchmail's lock and ``.fetchids``, getmail's ``oldmail``
files), run the client once, and return what it printed and the messages it
delivered. By default they retrieve and delete (``no keep`` / ``delete =
true``); over implicit TLS (POP3S) they verify the server's certificate
against ``cafile`` if one is given, else they do not verify.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FETCHMAIL = shutil.which("fetchmail") or "/usr/bin/fetchmail"
GETMAIL = shutil.which("getmail") or "/usr/bin/getmail"
# The unprivileged user getmail delivers as when run as root.
MAIL_USER = "mail"


@dataclass
class ClientRun:
    """One client run: exit status, everything it printed, and the delivered
    messages (files, in the order of their names)."""

    returncode: int
    output: str
    messages: list[Path]

    def contents(self) -> list[bytes]:
        return [path.read_bytes() for path in self.messages]


def _quote(value: str) -> str:
    """A fetchmailrc string: double quotes, backslash escapes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fetchmail_retrieve(
    host: str,
    port: int,
    user: str,
    password: str,
    mda_dir: Path,
    *,
    ssl: bool = True,
    cafile: Path | None = None,
    server_name: str = "localhost",
    keep: bool = False,
    extra_options: tuple[str, ...] = (),
    timeout: float = 120.0,
) -> ClientRun:
    """Run ``fetchmail`` once: POP3 (``ssl``: POP3S, TLS 1.2 or later) from
    ``host:port``, every message (``fetchall``) piped to an MDA that writes it
    to its own file in ``mda_dir``; deleted on the server unless ``keep``.

    With ``cafile`` the certificate is checked (``sslcertck``) against that CA
    and ``server_name`` (``sslcommonname``: we connect by address); without,
    ``no sslcertck`` (fetchmail 6.4 checks by default). Exit status 0 (mail
    retrieved) and 1 (no mail) are both success; anything else raises.
    """
    mda_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetchmail-") as tmp:
        home = Path(tmp)
        mda = home / "mda.sh"
        mda.write_text(
            "#!/bin/sh\n"
            "# One file per message; fetchmail writes the message to stdin.\n"
            f'f=$(mktemp {shlex.quote(str(mda_dir))}/msg.XXXXXXXXXX) && cat > "$f"\n'
        )
        mda.chmod(0o700)
        options = [
            f"user {_quote(user)} there with password {_quote(password)} is {_quote('root')} here",
            f"mda {_quote(str(mda))}",
            "keep" if keep else "no keep",
            "fetchall",
            "no rewrite",
        ]
        if ssl:
            options.append('ssl sslproto "TLS1.2+"')
            if cafile is not None:
                options.append(
                    f"sslcertck sslcertfile {_quote(str(cafile))} "
                    f"sslcommonname {_quote(server_name)}"
                )
            else:
                options.append("no sslcertck")
        options += extra_options
        rcfile = home / "fetchmailrc"
        rcfile.write_text(
            "set no syslog\n"
            f"poll {_quote(host)} service {port} protocol POP3 auth password\n"
            + "".join(f"    {line}\n" for line in options)
        )
        rcfile.chmod(0o600)  # fetchmail refuses a readable rcfile
        env = {**os.environ, "HOME": str(home), "FETCHMAILHOME": str(home), "LC_ALL": "C"}
        result = subprocess.run(
            [FETCHMAIL, "-f", str(rcfile), "-v", "--nosyslog", "--nodetach"],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    output = result.stdout + result.stderr
    if result.returncode not in (0, 1):
        raise RuntimeError(f"fetchmail exited {result.returncode}:\n{output}")
    return ClientRun(result.returncode, output, sorted(mda_dir.iterdir()))


def getmail_retrieve(
    host: str,
    port: int,
    user: str,
    password: str,
    maildir: Path,
    *,
    ssl: bool = True,
    cafile: Path | None = None,
    server_name: str = "localhost",
    keep: bool = False,
    extra_options: str = "",
    timeout: float = 120.0,
) -> ClientRun:
    """Run getmail6 once: ``SimplePOP3SSLRetriever`` (``ssl``) or
    ``SimplePOP3Retriever`` from ``host:port``, every message (``read_all``)
    into the Maildir ``maildir`` (created if absent); deleted on the server
    unless ``keep``.

    With ``cafile`` the certificate is verified against it and the name
    ``server_name`` (``ca_certs``, ``ssl_cert_hostname``). Returns the new
    files of ``maildir/new``. ``extra_options`` are lines for ``[options]``.

    getmail refuses to deliver to a Maildir as root: as root, it delivers as
    the user ``mail`` (the destination's ``user``) into a scratch Maildir
    under /var/tmp (which that user can reach; pytest's 0700 directories it
    cannot), and the new messages are then moved into ``maildir/new``.
    """
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    before = set((maildir / "new").iterdir())
    as_root = os.geteuid() == 0
    scratch = Path(tempfile.mkdtemp(prefix="getmail-", dir="/var/tmp" if as_root else None))
    target = scratch / "Maildir" if as_root else maildir
    destination = ["type = Maildir", f"path = {target}/"]  # getmail wants the trailing slash
    if as_root:
        mail = pwd.getpwnam(MAIL_USER)
        scratch.chmod(0o755)
        for sub in ("", "tmp", "new", "cur"):
            (target / sub).mkdir(exist_ok=True)
            os.chown(target / sub, mail.pw_uid, mail.pw_gid)
        destination.append(f"user = {MAIL_USER}")
    retriever = [
        "[retriever]",
        f"type = {'SimplePOP3SSLRetriever' if ssl else 'SimplePOP3Retriever'}",
        f"server = {host}",
        f"port = {port}",
        f"username = {user}",
        f"password = {password}",
    ]
    if ssl and cafile is not None:
        retriever += [f"ca_certs = {cafile}", f"ssl_cert_hostname = {server_name}"]
    rc = "\n".join(
        [
            *retriever,
            "",
            "[destination]",
            *destination,
            "",
            "[options]",
            "verbose = 2",
            "read_all = true",
            f"delete = {'false' if keep else 'true'}",
            extra_options,
        ]
    )
    try:
        getmaildir = scratch / "state"
        getmaildir.mkdir(mode=0o700)
        rcfile = getmaildir / "getmailrc"
        rcfile.write_text(rc + "\n")
        rcfile.chmod(0o600)
        env = {**os.environ, "HOME": str(getmaildir), "LC_ALL": "C.UTF-8"}
        result = subprocess.run(
            [GETMAIL, "--getmaildir", str(getmaildir), "--rcfile", str(rcfile)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if as_root:  # move what arrived into the caller's Maildir, as root's
            for path in sorted((target / "new").iterdir()):
                os.chown(path, 0, 0)
                shutil.move(path, maildir / "new" / path.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"getmail exited {result.returncode}:\n{output}")
    new = sorted(path for path in (maildir / "new").iterdir() if path not in before)
    return ClientRun(result.returncode, output, new)
