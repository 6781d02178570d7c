"""TOML configuration -> validated, frozen :class:`Settings`.

Every section and key is optional except ``[server].local_domains``. Any
problem is reported as one :class:`ConfigError` naming the file and the
dotted key, e.g. ``conf/gateway.toml: queue.lifetime: expected a duration
like '5d' or a number of seconds, got 'soon'``.

Relative paths (``data_dir``, ``users_file``, ``aliases_file``, the TLS
certificate and key) are resolved against the *current working directory*
of the process that loads the file, not against the file's own directory.
"""

from __future__ import annotations

import errno
import ipaddress
import math
import os
import re
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, cast

from twisted.internet import endpoints

KNOWN_LISTENERS: dict[str, str] = {
    "http": "admin/metrics HTTP",
    "smtp": "SMTP, MX service (STARTTLS offered)",
    "submission": "SMTP submission, STARTTLS and AUTH required (RFC 6409)",
    "submissions": "SMTP submission over implicit TLS, AUTH required (RFC 8314)",
    "pop3": "POP3 (STLS offered, RFC 2595)",
    "pop3s": "POP3 over implicit TLS (RFC 8314)",
    "imap": "IMAP (STARTTLS offered, LOGINDISABLED before it)",
    "imaps": "IMAP over implicit TLS (RFC 8314)",
    "x400": "X.400 P1 over RFC 1006 (MTA bind from [x400.peers])",
}

LOG_LEVELS: Final = ("debug", "info", "warn", "error")
TLS_VERSIONS: Final = ("1.2", "1.3")


class ConfigError(Exception):
    """A configuration problem: the file, the dotted key and what is wrong."""

    def __init__(self, file: Path, key: str, problem: str) -> None:
        super().__init__(file, key, problem)
        self.file = file
        self.key = key
        self.problem = problem

    def __str__(self) -> str:
        if self.key:
            return f"{self.file}: {self.key}: {self.problem}"
        return f"{self.file}: {self.problem}"


# ---------------------------------------------------------------------------
# Settings


@dataclass(frozen=True, slots=True)
class TLSSettings:
    certificate: Path | None = None
    key: Path | None = None
    min_version: str = "1.2"


@dataclass(frozen=True, slots=True)
class QueueSettings:
    retry_first: float = 300.0
    retry_max: float = 3600.0
    retry_factor: float = 2.0
    lifetime: float = 5 * 86400.0
    delay_warning: float = 4 * 3600.0
    max_deliveries: int = 100
    segment_size: int = 64 * 1024 * 1024
    history_days: int = 30


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    max_alias_depth: int = 10
    # Per-user mailbox quota (None: no limit); the users file may override
    # it per user (gateway.store.quota).
    quota_storage: int | None = None
    quota_messages: int | None = None
    junk_subject_tag: str = "[Junk]"  # for users who take Junk mail in INBOX (POP3)
    process: bool = True  # write into Maildirs in a process of its own (gateway.store.deliverer)


@dataclass(frozen=True, slots=True)
class LimitSettings:
    max_message_size: int = 35 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class DNSSettings:
    servers: tuple[tuple[str, int], ...] = ()  # () means the system resolver
    timeout: float = 5.0


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class SMTPSettings:
    """The SMTP server's policy and limits (RFC 5321 4.5.3 for the sizes and timeouts)."""

    trusted_networks: tuple[Network, ...] = ()  # may relay and AUTH without TLS
    max_command_line: int = 512  # RFC 5321 4.5.3.1.4, incl. CRLF
    max_text_line: int = 1000  # RFC 5321 4.5.3.1.6, incl. CRLF
    max_recipients: int = 100  # RFC 5321 4.5.3.1.8 minimum
    max_connections: int = 500
    max_connections_per_ip: int = 20
    max_errors: int = 10  # protocol errors per session before 421
    auth_failures_before_delay: int = 3  # per client IP
    auth_failure_delay: float = 5.0
    max_auth_failures: int = 10  # per client IP within auth_failure_window: then 421
    auth_failure_window: float = 900.0
    command_timeout: float = 300.0  # RFC 5321 4.5.3.2: 5 minutes
    data_timeout: float = 600.0  # RFC 5321 4.5.3.2.6: 10 minutes
    vrfy: str = "252"  # "252": answer 252 without looking; "off": 502
    received_auth: bool = False  # name the authenticated user in Received
    sender_grants: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )  # user -> more senders they may use ("addr@domain" or "@domain")


@dataclass(frozen=True, slots=True)
class POP3Settings:
    """The POP3 server's policy and limits (RFC 1939, RFC 2449)."""

    trusted_networks: tuple[Network, ...] = ()  # may log in without TLS
    max_command_line: int = 255  # RFC 2449 4, incl. CRLF
    max_connections: int = 500
    max_connections_per_ip: int = 50
    max_errors: int = 10  # protocol errors per session before disconnecting
    autologout: float = 600.0  # RFC 1939 3: at least 10 minutes
    apop: bool = True  # RFC 1939 7, for users whose password scheme allows it
    auth_failures_before_delay: int = 3  # per client IP, shared with SMTP AUTH
    auth_failure_delay: float = 5.0
    max_auth_failures: int = 10
    # Worker processes serving POP3 on the main process's listening sockets
    # (gateway.workers); 0: the main process alone. "auto": one per CPU.
    workers: int = field(default_factory=lambda: _workers("auto"))


@dataclass(frozen=True, slots=True)
class IMAPSettings:
    """The IMAP server's policy and limits (RFC 3501, RFC 7889, RFC 2177)."""

    trusted_networks: tuple[Network, ...] = ()  # may log in without TLS
    max_command_line: int = 65536  # a line without its literals
    max_literal: int = 50 * 1024 * 1024  # one literal; also APPENDLIMIT
    max_connections: int = 1000
    max_connections_per_ip: int = 100
    max_sessions_per_user: int = 50
    max_errors: int = 20  # BAD responses per session before disconnecting
    autologout: float = 1800.0  # RFC 3501 5.4: at least 30 minutes
    login_timeout: float = 180.0  # before login
    idle_timeout: float = 3600.0  # inside IDLE (RFC 2177: clients re-IDLE every 29 min)
    auth_failures_before_delay: int = 3  # per client IP, shared with SMTP and POP3
    auth_failure_delay: float = 5.0
    max_auth_failures: int = 10


TLS_POLICIES: Final = ("none", "may", "encrypt", "verify")


@dataclass(frozen=True, slots=True)
class NextHop:
    """A smarthost: ``host`` (a name, or an address literal), ``port``."""

    host: str
    port: int = 25

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """Outbound SMTP (RFC 5321 5, RFC 3207, RFC 7672-style TLS policies)."""

    enabled: bool = True  # off: remote recipients fail with 5.4.4
    smarthost: NextHop | None = None  # None: MX lookup
    transports: Mapping[str, NextHop] = field(
        default_factory=lambda: MappingProxyType({})
    )  # destination domain -> next hop, before MX lookup
    smarthost_user: str = ""
    smarthost_password: str = ""
    tls: str = "may"  # opportunistic STARTTLS
    tls_policy: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({})
    )  # destination domain -> none/may/encrypt/verify
    max_per_destination: int = 10  # concurrent connections to one domain
    max_recipients: int = 100  # per transaction (RFC 5321 4.5.3.1.8)
    connect_timeout: float = 30.0
    bad_host_ttl: float = 600.0  # skip a host (a destination) that did not answer, this long
    port: int = 25  # of MX hosts (Postfix's smtp_tcp_port); tests use their own
    ca_file: Path | None = None  # trust anchors for "verify" (None: the system's)
    greeting_timeout: float = 300.0  # RFC 5321 4.5.3.2.1
    command_timeout: float = 300.0  # MAIL, RCPT and our own commands (4.5.3.2.2-3)


DIALOGUE_MODES: Final = ("monologue", "twa")


@dataclass(frozen=True, slots=True)
class X400Peer:
    """One X.400 MTA the gateway talks P1 to (``[x400.peers.<name>]``).

    ``password`` is what the peer must present in its MTA-bind to us;
    ``our_password`` what we present in ours (as ``[x400] mta_name``).
    ``host`` empty: the peer only calls us (no outbound transfers).
    ``file_in``/``file_out``: a legacy system that exchanges MTS-APDU files
    (the file channel) instead of, or besides, P1; with ``file_out`` and no
    ``host``, its mail is written there and the passwords are not needed.
    ``or_space``: std-or prefixes (C, ADMD, PRMD, O, OU only) whose
    recipients go to this peer. Selectors are text: plain ASCII, or
    ``'0103'H`` for hex octets (ISODE's notation)."""

    name: str
    mta_name: str
    password: str = field(repr=False)
    our_password: str = field(repr=False)
    host: str = ""
    port: int = 102
    tsap: str = "x400in88"
    ssap: str = ""
    psap: str = ""
    or_space: tuple[str, ...] = ()
    max_connections: int = 2
    checkpoint_size: int = 63  # k-octets (X.228 RTORQ); 0: no checkpointing
    window_size: int = 3
    dialogue_mode: str = "monologue"
    content_1984: bool = False  # App. B: P2 content, RFC-822-Headers body part
    connect_timeout: float = 30.0
    bind_timeout: float = 60.0
    transfer_timeout: float = 600.0  # one transfer, until the peer confirms it
    idle_timeout: float = 30.0  # an unused outbound association is released after this
    # the file channel: a legacy system exchanging MTS-APDU files instead of P1
    file_in: Path | None = None  # its files for us (gateway.x400.filechannel)
    file_out: Path | None = None  # our files for it (instead of host: no P1 out)
    file_interval: float = 1.0  # how often file_in is scanned


@dataclass(frozen=True, slots=True)
class X400Settings:
    """The X.400 bridge: MIXER mapping (RFC 2156) and BER limits.

    ``domain`` empty: the server hostname; ``mta_name`` empty: the hostname
    cut to 32 characters (X.411 ub-mta-name-length); ``admin`` empty:
    postmaster at ``domain``."""

    tables: Path = field(default_factory=lambda: _absolute("conf/x400"))
    domain: str = ""
    or_address: str = "/O=mailgateway/PRMD=example/ADMD= /C=GB/"
    mta_name: str = ""
    admin: str = ""
    max_conversions: int = 5  # RFC 2156 5.1.5: more MIXER conversions = a loop
    max_depth: int = 64  # BER nesting
    max_length: int = 64 << 20  # one BER element
    max_total: int = 64 << 20  # one encoding, all elements
    # P1 (the ``x400`` listener and [x400.peers])
    tsap: str = "x400in88"  # the called TSAP selector the listener answers on
    max_connections: int = 20  # inbound associations at once
    max_apdu: int = 64 << 20  # one transferred MTS-APDU, either direction
    bind_timeout: float = 60.0  # inbound: from the TCP connection to the MTA-bind
    idle_timeout: float = 600.0  # inbound: no octets from the peer this long: abort
    peers: Mapping[str, X400Peer] = field(default_factory=lambda: MappingProxyType({}))


# What a sender-authentication rule may do with a message (gateway.authn.policy).
ACTIONS: Final = ("reject", "junk", "accept")
TEMP_ACTIONS: Final = ("defer", "accept")


@dataclass(frozen=True, slots=True)
class AuthnPolicy:
    """What to do with inbound mail, per verdict (``[authn]`` and
    ``[authn.domains."<recipient domain>"]``)."""

    dmarc_reject: str = "reject"  # DMARC fail, the domain asks p=reject
    dmarc_quarantine: str = "junk"  # DMARC fail, the domain asks p=quarantine
    spf_fail: str = "accept"  # SPF fail (-all) where DMARC did not decide
    spf_softfail: str = "accept"  # SPF softfail (~all) where DMARC did not decide
    unauthenticated: str = "accept"  # neither SPF nor DKIM passed for any identity
    dnsbl: str = "reject"  # the client is on a [dnsbl] zone
    temperror: str = "accept"  # a check failed temporarily: "defer" answers 451 4.7.5


@dataclass(frozen=True, slots=True)
class SenderList:
    """Allow or block entries: addresses, domains (``example.org`` also
    covers its subdomains; ``@example.org`` only itself) and networks."""

    addresses: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()  # "example.org" (and below) or "@example.org" (exact)
    networks: tuple[Network, ...] = ()


@dataclass(frozen=True, slots=True)
class AuthnDomain:
    """Overrides for mail to one of our domains: the policy keys given
    (the others are [authn]'s), and allow and block entries added to
    [authn]'s."""

    overrides: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    allow: SenderList = field(default_factory=SenderList)
    block: SenderList = field(default_factory=SenderList)


@dataclass(frozen=True, slots=True)
class AuthnSettings:
    """Sender authentication of inbound mail on the ``smtp`` listener."""

    enabled: bool = True
    authserv_id: str = ""  # "" = server.hostname (RFC 8601 2.5)
    spf: bool = True
    dkim: bool = True
    arc: bool = True
    dmarc: bool = True
    arc_seal: str = ""  # a domain with [[dkim.keys]]: seal inbound mail (RFC 8617)
    # ARC sealers (mailing lists, forwarders) whose passing chain overrides
    # a DMARC failure (RFC 8617 7.2.1, RFC 7489 6.7 local policy)
    arc_trusted: tuple[str, ...] = ()
    policy: AuthnPolicy = field(default_factory=AuthnPolicy)
    allow: SenderList = field(default_factory=SenderList)
    block: SenderList = field(default_factory=SenderList)
    domains: Mapping[str, AuthnDomain] = field(default_factory=lambda: MappingProxyType({}))

    def policy_for(self, domain: str) -> AuthnPolicy:
        """The policy for mail to ``domain``: [authn]'s, with its overrides."""
        override = self.domains.get(domain.lower())
        if override is None:
            return self.policy
        return replace(self.policy, **override.overrides)


@dataclass(frozen=True, slots=True)
class DNSBLSettings:
    """DNS block and allow lists (RFC 5782) for the client address, opt-in."""

    zones: tuple[str, ...] = ()  # a listed client gets [authn] dnsbl's action
    allow_zones: tuple[str, ...] = ()  # DNSWL: a listed client skips the block zones
    cache: float = 600.0


@dataclass(frozen=True, slots=True)
class RateSettings:
    """Rate limits (``"200/1h"``), each off when unset; beyond one, 450/452 4.7.1."""

    ip_messages: Any = None  # gateway.authn.ratelimit.Rate | None
    ip_recipients: Any = None
    user_messages: Any = None
    user_recipients: Any = None
    sender_domain_messages: Any = None
    sender_domain_recipients: Any = None


@dataclass(frozen=True, slots=True)
class DKIMKeySettings:
    """One signing key (``[[dkim.keys]]``). ``sign = false``: published but
    not used (a key being introduced or retired, RFC 6376 3.6.1)."""

    domain: str
    selector: str
    key: Path
    sign: bool = True


@dataclass(frozen=True, slots=True)
class DKIMSettings:
    """Outbound DKIM signing of submitted mail (RFC 6376, RFC 8463)."""

    keys: tuple[DKIMKeySettings, ...] = ()
    expires: float = 0.0  # x= this long after t=; 0: no expiry


@dataclass(frozen=True, slots=True)
class Settings:
    source: Path
    hostname: str
    data_dir: Path
    local_domains: tuple[str, ...]
    users_file: Path
    aliases_file: Path
    log_level: str
    listeners: Mapping[str, str]
    tls: TLSSettings
    queue: QueueSettings
    delivery: DeliverySettings
    limits: LimitSettings
    dns: DNSSettings
    smtp: SMTPSettings = field(default_factory=SMTPSettings)
    pop3: POP3Settings = field(default_factory=POP3Settings)
    imap: IMAPSettings = field(default_factory=IMAPSettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    x400: X400Settings = field(default_factory=X400Settings)
    authn: AuthnSettings = field(default_factory=AuthnSettings)
    dnsbl: DNSBLSettings = field(default_factory=DNSBLSettings)
    rates: RateSettings = field(default_factory=RateSettings)
    dkim: DKIMSettings = field(default_factory=DKIMSettings)
    # How long a stop (SIGTERM) waits for running deliveries and the like
    # before it ends the process anyway; what was accepted stays queued.
    stop_timeout: float = 30.0

    @property
    def queue_dir(self) -> Path:
        return self.data_dir / "queue"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def maildrop_dir(self) -> Path:
        return self.data_dir / "maildrop"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def control_socket(self) -> Path:
        return self.run_dir / "control.sock"


# ---------------------------------------------------------------------------
# Durations and sizes

_DURATION_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*", re.ASCII)
_DURATION_UNITS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SIZE_RE = re.compile(r"\s*([0-9]+)\s*([kmgt]?)(?:i?b)?\s*", re.ASCII | re.IGNORECASE)
_SIZE_UNITS: Final = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``"30s"``, ``"5m"``, ``"1h"``, ``"5d"``, ``"1w"`` or a plain number.

    Raises ValueError unless the result is a finite number greater than zero.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    elif isinstance(text, str):
        match = _DURATION_RE.fullmatch(text.lower())
        if match is None:
            raise ValueError(f"not a duration: {text!r}")
        seconds = float(match[1]) * _DURATION_UNITS[match[2]]
    else:
        raise ValueError(f"not a duration: {text!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"duration must be a finite number greater than zero: {text!r}")
    return seconds


def parse_size(text: str | int) -> int:
    """Bytes in ``"35M"``, ``"64M"``, ``"4K"``, ``"1G"`` (binary units) or an int.

    Raises ValueError unless the result is greater than zero.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")
    if isinstance(text, int):
        size = text
    elif isinstance(text, str):
        match = _SIZE_RE.fullmatch(text)
        if match is None:
            raise ValueError(f"not a size: {text!r}")
        size = int(match[1]) * _SIZE_UNITS[match[2].lower()]
    else:
        raise ValueError(f"not a size: {text!r}")
    if size <= 0:
        raise ValueError(f"size must be greater than zero: {text!r}")
    return size


# ---------------------------------------------------------------------------
# Schema: each key has a converter that returns the typed value or raises
# _Invalid with the problem text.


class _Invalid(Exception):
    """``key``: a dotted suffix below the key being converted (a nested table)."""

    def __init__(self, problem: str, key: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.key = key


def _describe(value: object) -> str:
    """``integer 5``, ``string 'x'``, ``array``: how a TOML value reads in errors."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, datetime | date | time):
        return f"date/time {value.isoformat()}"
    return type(value).__name__


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {_describe(value)}")
    return value


def _integer(minimum: int, maximum: int | None = None) -> Callable[[object], int]:
    def convert(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected an integer, got {_describe(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"at least {minimum}"
            if maximum is not None:
                bound = f"between {minimum} and {maximum}"
            raise _Invalid(f"must be {bound}, got {value}")
        return value

    return convert


def _number(minimum: float) -> Callable[[object], float]:
    def convert(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(f"expected a number, got {_describe(value)}")
        if not math.isfinite(value) or value < minimum:
            raise _Invalid(f"must be a number of at least {minimum}, got {value}")
        return float(value)

    return convert


def _duration(value: object) -> float:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return parse_duration(value)
        except ValueError:
            pass
    raise _Invalid(f"expected a duration like '5d' or a number of seconds, got {_shown(value)}")


def _size(value: object) -> int:
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            return parse_size(value)
        except ValueError:
            pass
    raise _Invalid(f"expected a size like '35M' or a number of bytes, got {_shown(value)}")


def _shown(value: object) -> str:
    """``'soon'`` for strings (the value speaks for itself), else typed."""
    return repr(value) if isinstance(value, str) else _describe(value)


def _choice(*choices: str) -> Callable[[object], str]:
    def convert(value: object) -> str:
        text = _string(value)
        if text not in choices:
            listed = ", ".join(repr(c) for c in choices)
            raise _Invalid(f"expected one of {listed}, got {text!r}")
        return text

    return convert


def _path(value: object) -> Path:
    text = _string(value)
    if not text:
        raise _Invalid("must not be empty")
    return _absolute(text)


def _optional_path(value: object) -> Path | None:
    text = _string(value)
    return _absolute(text) if text else None


def _absolute(text: str) -> Path:
    """Expand ``~`` and resolve against the current working directory."""
    return Path(os.path.abspath(Path(text).expanduser()))


_LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.ASCII)


def _domain(value: object) -> str:
    text = _string(value)
    try:
        name = text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _Invalid(f"not a valid domain name: {text!r}") from None
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise _Invalid(f"not a valid domain name: {text!r}")
    return name


def _optional_domain(value: object) -> str:
    return _domain(value) if _string(value) else ""


def _std_or(value: object) -> str:
    """An O/R address as RFC 2156 std-or text (checked, kept as written)."""
    from gateway.x400.orname import ORAddressError, parse_std_or

    text = _string(value)
    try:
        addr = parse_std_or(text)
    except ORAddressError as e:
        raise _Invalid(str(e)) from None
    if addr.country is None or addr.admd is None:
        raise _Invalid(f"needs at least C and ADMD (a global domain identifier), got {text!r}")
    return text


def _mta_name(value: object) -> str:
    text = _string(value)
    if len(text) > 32 or not text.isascii() or not text.isprintable():
        raise _Invalid(f"expected at most 32 printable ASCII characters, got {text!r}")
    return text


def _domain_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"expected an array of domain names, got {_describe(value)}")
    if not value:
        raise _Invalid("at least one local domain is required")
    domains = [_domain(item) for item in value]
    return tuple(dict.fromkeys(domains))  # drop duplicates, keep the order


def _dns_server(text: str) -> tuple[str, int]:
    """``127.0.0.1``, ``127.0.0.1:5353``, ``::1``, ``[::1]:53``."""
    host, port_text = text, "53"
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise _Invalid(f"not an address or address:port: {text!r}")
        port_text = rest[1:] if rest else "53"
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise _Invalid(f"not an IP address: {text!r}") from None
    if not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise _Invalid(f"port must be between 1 and 65535 in {text!r}")
    return str(address), int(port_text)


def _dns_servers(value: object) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list):
        raise _Invalid(f"expected an array of strings, got {_describe(value)}")
    return tuple(_dns_server(_string(item)) for item in value)


MAX_WORKERS = 64


def _workers(value: object) -> int:
    """A number of worker processes, or "auto": one per CPU."""
    if value == "auto":
        return min(os.cpu_count() or 1, MAX_WORKERS)
    if isinstance(value, str):
        raise _Invalid(f'expected a number of processes or "auto", got {_describe(value)}')
    return _integer(0, MAX_WORKERS)(value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_describe(value)}")
    return value


def _network_list(value: object) -> tuple[Network, ...]:
    if not isinstance(value, list):
        raise _Invalid(
            f'expected an array of networks like "192.0.2.0/24", got {_describe(value)}'
        )
    networks = []
    for item in value:
        text = _string(item)
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise _Invalid(f"not a network (address/prefix): {text!r}") from None
    return tuple(networks)


def _next_hop(value: object) -> NextHop | None:
    """``"smtp.example.net"``, ``"smtp.example.net:587"``, ``"[192.0.2.1]:25"``; "" = none."""
    text = _string(value).strip()
    if not text:
        return None
    host, port = text, 25
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise _Invalid(f"unclosed address literal: {text!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise _Invalid(f"expected [address]:port, got {text!r}")
            port = int(rest[1:])
    elif ":" in text:
        host, _, number = text.rpartition(":")
        if not number.isdigit():
            raise _Invalid(f"expected host:port, got {text!r}")
        port = int(number)
    if not 0 < port < 65536:
        raise _Invalid(f"port out of range in {text!r}")
    return NextHop(host.lower(), port)


def _transports(value: object) -> Mapping[str, NextHop]:
    """``{"example.net" = "[10.0.0.5]:25"}``: per destination domain."""
    if not isinstance(value, dict):
        raise _Invalid(f"expected a table of domain = next hop, got {_describe(value)}")
    out: dict[str, NextHop] = {}
    for domain, hop in value.items():
        parsed = _next_hop(hop)
        if parsed is None:
            raise _Invalid(f"{domain}: empty next hop")
        out[domain.lower()] = parsed
    return MappingProxyType(out)


def _tls_policies(value: object) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise _Invalid(f"expected a table of domain = policy, got {_describe(value)}")
    for domain, policy in value.items():
        if policy not in TLS_POLICIES:
            raise _Invalid(f"{domain}: {policy!r} is not one of {', '.join(TLS_POLICIES)}")
    return MappingProxyType({d.lower(): p for d, p in value.items()})


def _grants(value: object) -> Mapping[str, tuple[str, ...]]:
    """``{"alice@example.org" = ["sales@example.org", "@example.net"]}``."""
    if not isinstance(value, dict):
        raise _Invalid(f"expected a table of user = [senders], got {_describe(value)}")
    grants: dict[str, tuple[str, ...]] = {}
    for user, senders in value.items():
        if not isinstance(senders, list) or not all(isinstance(s, str) for s in senders):
            raise _Invalid(f"{user}: expected an array of addresses or @domains")
        for sender in senders:
            local, at, domain = sender.rpartition("@")
            if not at or not domain or (local and not local.strip()):
                raise _Invalid(f"{user}: not an address or @domain: {sender!r}")
        grants[user.lower()] = tuple(s.lower() for s in senders)
    return MappingProxyType(grants)


def parse_selector(text: str) -> bytes:
    """A TSAP/SSAP/PSAP selector: ``'0103'H`` is hex octets (ISODE's
    notation), anything else its ASCII octets. Raises ValueError."""
    match = re.fullmatch(r"'(.*)'H", text)
    data = bytes.fromhex(match[1]) if match else text.encode("ascii")
    if len(data) > 32:  # X.224 13.3.4, ISO 8327 8.3.1: at most 32 (16 for SSAP) octets
        raise ValueError(f"longer than 32 octets: {text!r}")
    return data


def _selector(value: object) -> str:
    text = _string(value)
    try:
        parse_selector(text)
    except (ValueError, UnicodeError):
        raise _Invalid(
            f"expected ASCII text or 'hex'H of at most 32 octets, got {text!r}"
        ) from None
    return text


_OR_SPACE_KEYS: Final = ("C", "ADMD", "PRMD", "O", "OU")


def _or_prefix(value: object) -> str:
    """A std-or prefix of the MCGAM hierarchy: C, ADMD, PRMD, O, OU."""
    from gateway.x400.orname import ORAddress, ORAddressError, parse_std_or

    text = _string(value)
    try:
        addr = parse_std_or(text)
    except ORAddressError as e:
        raise _Invalid(f"{text!r}: {e}") from None
    if addr.country is None:
        raise _Invalid(f"{text!r}: needs at least C (and ADMD)")
    hierarchy = ORAddress(
        country=addr.country,
        admd=addr.admd,
        prmd=addr.prmd,
        organisation=addr.organisation,
        org_units=addr.org_units,
    )
    if hierarchy != addr:
        keys = ", ".join(_OR_SPACE_KEYS)
        raise _Invalid(f"{text!r}: a prefix holds only {keys}")
    return text


def _or_space(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(
            f'expected an array of std-or prefixes like "/PRMD=Lab/ADMD= /C=GB/", '
            f"got {_describe(value)}"
        )
    return tuple(_or_prefix(item) for item in value)


def _password(value: object) -> str:
    text = _string(value)
    if not text:
        raise _Invalid("must not be empty")
    if len(text.encode("utf-8")) > 62:  # X.411 ub-password-length
        raise _Invalid("longer than 62 octets (X.411 ub-password-length)")
    return text


def _host(value: object) -> str:
    text = _string(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    return _domain(text) if text else ""


_PEER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", re.ASCII)

_PEER_SCHEMA: Final[dict[str, Callable[[object], Any]]] = {
    "mta_name": _mta_name,
    "password": _password,
    "our_password": _password,
    "host": _host,
    "port": _integer(1, 65535),
    "tsap": _selector,
    "ssap": _selector,
    "psap": _selector,
    "or_space": _or_space,
    "max_connections": _integer(1, 1000),
    "checkpoint_size": _integer(0, 32767),
    "window_size": _integer(1, 32767),
    "dialogue_mode": _choice(*DIALOGUE_MODES),
    "content_1984": _boolean,
    "connect_timeout": _duration,
    "bind_timeout": _duration,
    "transfer_timeout": _duration,
    "idle_timeout": _duration,
    "file_in": _optional_path,
    "file_out": _optional_path,
    "file_interval": _duration,
}
_PEER_REQUIRED: Final = ("mta_name", "password", "our_password")
_FILE_PEER_REQUIRED: Final = ("mta_name",)  # no host: no MTA-bind, no passwords


def _peer(name: str, table: object) -> X400Peer:
    values = _table(table, _PEER_SCHEMA, name)
    by_files = bool(values.get("file_in") or values.get("file_out")) and not values.get("host")
    for key in _FILE_PEER_REQUIRED if by_files else _PEER_REQUIRED:
        if key not in values:
            raise _Invalid(
                "missing: every peer needs mta_name, password and our_password", f"{name}.{key}"
            )
    values.setdefault("password", "")
    values.setdefault("our_password", "")
    if values.get("or_space") and not values.get("host") and not values.get("file_out"):
        raise _Invalid(
            "required when or_space is set (where to send that mail: or set file_out)",
            f"{name}.host",
        )
    return X400Peer(name=name, **values)


def _peers(value: object) -> Mapping[str, X400Peer]:
    """``[x400.peers.<name>]`` tables: one X.400 MTA each."""
    from gateway.x400.orname import parse_std_or

    if not isinstance(value, dict):
        raise _Invalid(f"expected tables [x400.peers.<name>], got {_describe(value)}")
    peers: dict[str, X400Peer] = {}
    by_mta: dict[str, str] = {}
    spaces: dict[str, str] = {}
    for name, table in value.items():
        if not _PEER_NAME.fullmatch(name):
            raise _Invalid("a peer name is letters, digits, '.', '_' and '-'", name)
        peer = _peer(name, table)
        other = by_mta.get(peer.mta_name.lower())
        if other is not None:
            raise _Invalid(
                f"{peer.mta_name!r} is also the MTA name of peer {other!r}", f"{name}.mta_name"
            )
        by_mta[peer.mta_name.lower()] = name
        for prefix in peer.or_space:
            key = _or_space_key(parse_std_or(prefix))
            other = spaces.get(key)
            if other is not None:
                raise _Invalid(
                    f"{prefix!r} is also in the or_space of peer {other!r}", f"{name}.or_space"
                )
            spaces[key] = name
        peers[name] = peer
    return MappingProxyType(peers)


def _or_space_key(addr: Any) -> str:
    levels = [addr.country, addr.admd, addr.prmd, addr.organisation, *addr.org_units]
    return "/".join("" if v is None else " ".join(v.split()).casefold() or " " for v in levels)


class _Reactorless:
    """Stands in for the reactor: parsing an endpoint string needs none."""


def _parse_endpoint(description: str) -> Any:
    return endpoints.serverFromString(cast(Any, _Reactorless()), description)


def _listener(value: object) -> str:
    text = _string(value)
    try:
        endpoint = _parse_endpoint(text)
    except Exception as e:  # Twisted raises ValueError, KeyError, OpenSSL errors...
        detail = f"{type(e).__name__}: {e}" if not isinstance(e, ValueError) else str(e)
        raise _Invalid(f"not a valid Twisted endpoint string {text!r}: {detail}") from None
    port = _endpoint_port(endpoint)
    if port is not None and not 1 <= port <= 65535:
        raise _Invalid(f"port must be between 1 and 65535, got {port}")
    return text


_PORT_ENDPOINTS: Final = (
    endpoints.TCP4ServerEndpoint,
    endpoints.TCP6ServerEndpoint,
    endpoints.SSL4ServerEndpoint,
)


# Twisted's server endpoints keep their parsed address in private attributes;
# these are stable across releases and this is the one place that reads them.
def _endpoint_port(endpoint: object) -> int | None:
    if isinstance(endpoint, _PORT_ENDPOINTS):
        return int(endpoint._port)
    return None


def _table(
    value: object, schema: Mapping[str, Callable[[object], Any]], where: str = "", what: str = ""
) -> dict[str, Any]:
    """A nested table converted key by key; errors name the key below
    ``where`` (the table's own dotted name under the key converted)."""

    def at(key: str) -> str:
        return f"{where}.{key}" if where else key

    if not isinstance(value, dict):
        detail = f" ({what})" if what else ""
        raise _Invalid(f"expected a table{detail}, got {_describe(value)}", where)
    values: dict[str, Any] = {}
    for key, item in value.items():
        convert = schema.get(key)
        if convert is None:
            raise _Invalid(f"unknown key; known keys are: {_known(schema)}", at(key))
        try:
            values[key] = convert(item)
        except _Invalid as e:
            raise _Invalid(e.problem, at(f"{key}.{e.key}" if e.key else key)) from None
    return values


_POLICY_SCHEMA: Final = {
    "dmarc_reject": _choice(*ACTIONS),
    "dmarc_quarantine": _choice(*ACTIONS),
    "spf_fail": _choice(*ACTIONS),
    "spf_softfail": _choice(*ACTIONS),
    "unauthenticated": _choice(*ACTIONS),
    "dnsbl": _choice(*ACTIONS),
    "temperror": _choice(*TEMP_ACTIONS),
}


def _sender_list(value: object) -> SenderList:
    """``["user@example.org", "example.net", "@example.com", "192.0.2.0/24"]``."""
    if not isinstance(value, list):
        raise _Invalid(
            "expected an array of addresses, domains and networks like "
            f'["user@example.org", "example.net", "192.0.2.0/24"], got {_describe(value)}'
        )
    addresses: set[str] = set()
    domains: list[str] = []
    networks: list[Network] = []
    for item in value:
        text = _string(item).strip()
        if "@" in text and not text.startswith("@"):
            local, _, domain = text.rpartition("@")
            if not local or not domain:
                raise _Invalid(f"not an address: {text!r}")
            addresses.add(f"{local}@{_domain(domain)}".lower())
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        exact = text.startswith("@")
        domain = _domain(text[1:] if exact else text)
        domains.append(("@" if exact else "") + domain)
    return SenderList(frozenset(addresses), tuple(domains), tuple(networks))


def _authn_domains(value: object) -> Mapping[str, AuthnDomain]:
    """``[authn.domains."example.org"]``: policy keys, allow and block."""
    if not isinstance(value, dict):
        raise _Invalid(f'expected tables [authn.domains."<domain>"], got {_describe(value)}')
    schema = {**_POLICY_SCHEMA, "allow": _sender_list, "block": _sender_list}
    out: dict[str, AuthnDomain] = {}
    for name, table in value.items():
        try:
            domain = _domain(name)
        except _Invalid as e:
            raise _Invalid(e.problem, name) from None
        values = _table(table, schema, name, "policy keys, allow, block")
        lists = {k: values.pop(k) for k in ("allow", "block") if k in values}
        out[domain] = AuthnDomain(MappingProxyType(values), **lists)
    return MappingProxyType(out)


def _rate(value: object) -> Any:
    from gateway.authn.ratelimit import parse_rate

    text = _string(value).strip()
    if not text:
        return None
    try:
        return parse_rate(text)
    except ValueError as e:
        raise _Invalid(f"{e} (expected a rate like '200/1h')") from None


def _dkim_keys(value: object) -> tuple[DKIMKeySettings, ...]:
    """``[[dkim.keys]]``: domain, selector, key (a PEM file), sign."""
    if not isinstance(value, list):
        raise _Invalid(f"expected [[dkim.keys]] tables, got {_describe(value)}")
    schema = {"domain": _domain, "selector": _dkim_selector, "key": _path, "sign": _boolean}
    keys: list[DKIMKeySettings] = []
    seen: set[tuple[str, str]] = set()
    for index, table in enumerate(value):
        values = _table(table, schema, str(index), "domain, selector, key, sign")
        for required in ("domain", "selector", "key"):
            if required not in values:
                raise _Invalid(
                    "missing: every key needs domain, selector and key", f"{index}.{required}"
                )
        pair = (values["domain"], values["selector"].lower())
        if pair in seen:
            raise _Invalid(
                f"selector {pair[1]!r} of {pair[0]} is listed twice", f"{index}.selector"
            )
        seen.add(pair)
        keys.append(DKIMKeySettings(**values))
    return tuple(keys)


def _dkim_selector(value: object) -> str:
    """RFC 6376 3.1: a selector is one or more dot-separated sub-domains."""
    text = _string(value)
    if not re.fullmatch(
        r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*",
        text,
    ):
        raise _Invalid(f"not a DKIM selector (letters, digits, '-', '.'): {text!r}")
    return text


_Converter = Callable[[object], Any]

_SCHEMA: Final[dict[str, dict[str, _Converter]]] = {
    "server": {
        "hostname": _domain,
        "data_dir": _path,
        "local_domains": _domain_list,
        "users_file": _path,
        "aliases_file": _path,
        "log_level": _choice(*LOG_LEVELS),
        "stop_timeout": _duration,
    },
    "listeners": {name: _listener for name in KNOWN_LISTENERS},
    "tls": {
        "certificate": _optional_path,
        "key": _optional_path,
        "min_version": _choice(*TLS_VERSIONS),
    },
    "queue": {
        "retry_first": _duration,
        "retry_max": _duration,
        "retry_factor": _number(1.0),
        "lifetime": _duration,
        "delay_warning": _duration,
        "max_deliveries": _integer(1),
        "segment_size": _size,
        "history_days": _integer(1),
    },
    "delivery": {
        "max_alias_depth": _integer(1, 100),
        "quota_storage": _size,
        "quota_messages": _integer(1),
        "junk_subject_tag": _string,
        "process": _boolean,
    },
    "limits": {"max_message_size": _size},
    "dns": {"servers": _dns_servers, "timeout": _duration},
    "smtp": {
        "trusted_networks": _network_list,
        "max_command_line": _integer(512, 1 << 16),
        "max_text_line": _integer(1000, 1 << 20),
        "max_recipients": _integer(1),
        "max_connections": _integer(1),
        "max_connections_per_ip": _integer(1),
        "max_errors": _integer(1),
        "auth_failures_before_delay": _integer(1),
        "auth_failure_delay": _duration,
        "max_auth_failures": _integer(1),
        "auth_failure_window": _duration,
        "command_timeout": _duration,
        "data_timeout": _duration,
        "vrfy": _choice("252", "off"),
        "received_auth": _boolean,
        "sender_grants": _grants,
    },
    "pop3": {
        "trusted_networks": _network_list,
        "max_command_line": _integer(255, 1 << 16),
        "max_connections": _integer(1),
        "max_connections_per_ip": _integer(1),
        "max_errors": _integer(1),
        "autologout": _duration,
        "apop": _boolean,
        "auth_failures_before_delay": _integer(1),
        "auth_failure_delay": _duration,
        "max_auth_failures": _integer(1),
        "workers": _workers,
    },
    "relay": {
        "enabled": _boolean,
        "smarthost": _next_hop,
        "transports": _transports,
        "smarthost_user": _string,
        "smarthost_password": _string,
        "tls": _choice(*TLS_POLICIES),
        "tls_policy": _tls_policies,
        "max_per_destination": _integer(1),
        "max_recipients": _integer(1),
        "connect_timeout": _duration,
        "bad_host_ttl": _duration,
        "port": _integer(1, 65535),
        "ca_file": _optional_path,
        "greeting_timeout": _duration,
        "command_timeout": _duration,
    },
    "x400": {
        "tables": _path,
        "domain": _optional_domain,
        "or_address": _std_or,
        "mta_name": _mta_name,
        "admin": _string,
        "max_conversions": _integer(1, 100),
        "max_depth": _integer(8, 10_000),
        "max_length": _size,
        "max_total": _size,
        "tsap": _selector,
        "max_connections": _integer(1),
        "max_apdu": _size,
        "bind_timeout": _duration,
        "idle_timeout": _duration,
        "peers": _peers,
    },
    "authn": {
        "enabled": _boolean,
        "authserv_id": _optional_domain,
        "spf": _boolean,
        "dkim": _boolean,
        "arc": _boolean,
        "dmarc": _boolean,
        "arc_seal": _optional_domain,
        "arc_trusted": _domain_list,
        **_POLICY_SCHEMA,
        "allow": _sender_list,
        "block": _sender_list,
        "domains": _authn_domains,
    },
    "dnsbl": {
        "zones": _domain_list,
        "allow_zones": _domain_list,
        "cache": _duration,
    },
    "rates": {
        "ip_messages": _rate,
        "ip_recipients": _rate,
        "user_messages": _rate,
        "user_recipients": _rate,
        "sender_domain_messages": _rate,
        "sender_domain_recipients": _rate,
    },
    "dkim": {
        "keys": _dkim_keys,
        "expires": _duration,
    },
    "imap": {
        "trusted_networks": _network_list,
        "max_command_line": _integer(1000, 1 << 24),
        "max_literal": _size,
        "max_connections": _integer(1),
        "max_connections_per_ip": _integer(1),
        "max_sessions_per_user": _integer(1),
        "max_errors": _integer(1),
        "autologout": _duration,
        "login_timeout": _duration,
        "idle_timeout": _duration,
        "auth_failures_before_delay": _integer(1),
        "auth_failure_delay": _duration,
        "max_auth_failures": _integer(1),
    },
}


def _known(names: Mapping[str, object] | tuple[str, ...]) -> str:
    return ", ".join(names) if names else "(none)"


class _Loader:
    """Walks the parsed TOML against :data:`_SCHEMA`; raises the first error."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.file, key, problem)

    def walk(self, document: dict[str, Any]) -> dict[str, dict[str, Any]]:
        values: dict[str, dict[str, Any]] = {name: {} for name in _SCHEMA}
        for section, table in document.items():
            schema = _SCHEMA.get(section)
            if schema is None:
                raise self.error(
                    section, f"unknown section; known sections are: {_known(_SCHEMA)}"
                )
            if not isinstance(table, dict):
                raise self.error(section, f"expected a table, got {_describe(table)}")
            for key, value in table.items():
                dotted = f"{section}.{key}"
                convert = schema.get(key)
                if convert is None:
                    what = "listener" if section == "listeners" else "key"
                    raise self.error(
                        dotted, f"unknown {what}; known {what}s are: {_known(schema)}"
                    )
                try:
                    values[section][key] = convert(value)
                except _Invalid as e:
                    where = f"{dotted}.{e.key}" if e.key else dotted
                    raise self.error(where, e.problem) from None
        return values

    def build(self, values: dict[str, dict[str, Any]]) -> Settings:
        server = values["server"]
        if "local_domains" not in server:
            raise self.error(
                "server.local_domains",
                "missing: list the domains this server receives mail for",
            )
        if "hostname" in server:
            hostname = server["hostname"]
        else:
            try:
                hostname = _domain(socket.getfqdn())
            except _Invalid as e:
                raise self.error(
                    "server.hostname", f"not set, and the system name is unusable: {e.problem}"
                ) from None
        data_dir: Path = server.get("data_dir", _absolute("./var"))
        tls = TLSSettings(**values["tls"])
        queue = QueueSettings(**values["queue"])
        dkim = DKIMSettings(**values["dkim"])
        self.check_tls(tls)
        self.check_queue(queue)
        return Settings(
            source=_absolute(str(self.file)),
            hostname=hostname,
            data_dir=data_dir,
            local_domains=server["local_domains"],
            users_file=server.get("users_file", data_dir / "users"),
            aliases_file=server.get("aliases_file", data_dir / "aliases"),
            log_level=server.get("log_level", "info"),
            stop_timeout=server.get("stop_timeout", 30.0),
            listeners=MappingProxyType(dict(values["listeners"])),
            tls=tls,
            queue=queue,
            delivery=DeliverySettings(**values["delivery"]),
            limits=LimitSettings(**values["limits"]),
            dns=DNSSettings(**values["dns"]),
            smtp=SMTPSettings(**values["smtp"]),
            pop3=POP3Settings(**values["pop3"]),
            imap=IMAPSettings(**values["imap"]),
            relay=RelaySettings(**values["relay"]),
            x400=X400Settings(**values["x400"]),
            authn=self.authn(values["authn"], dkim),
            dnsbl=DNSBLSettings(**values["dnsbl"]),
            rates=RateSettings(**values["rates"]),
            dkim=dkim,
        )

    def authn(self, values: dict[str, Any], dkim: DKIMSettings) -> AuthnSettings:
        policy = {k: values.pop(k) for k in _POLICY_SCHEMA if k in values}
        seal = values.get("arc_seal")
        if seal and not any(k.domain == seal and k.sign for k in dkim.keys):
            raise self.error(
                "authn.arc_seal",
                f"no [[dkim.keys]] entry with domain = {seal!r} (and sign = true) to seal with",
            )
        return AuthnSettings(policy=AuthnPolicy(**policy), **values)

    def check_tls(self, tls: TLSSettings) -> None:
        if (tls.certificate is None) != (tls.key is None):
            given, missing = ("certificate", "key") if tls.key is None else ("key", "certificate")
            raise self.error(
                f"tls.{missing}",
                f"required when tls.{given} is set (set both, or neither to generate "
                "a self-signed certificate)",
            )
        for name, path in (("certificate", tls.certificate), ("key", tls.key)):
            if path is None:
                continue
            if not path.is_file():
                raise self.error(f"tls.{name}", f"file not found: {path}")
            if not os.access(path, os.R_OK):
                raise self.error(f"tls.{name}", f"file is not readable: {path}")

    def check_queue(self, queue: QueueSettings) -> None:
        if queue.retry_max < queue.retry_first:
            raise self.error(
                "queue.retry_max",
                f"must be at least queue.retry_first ({queue.retry_first:g}s), "
                f"got {queue.retry_max:g}s",
            )
        if queue.lifetime < queue.retry_max:
            raise self.error(
                "queue.lifetime",
                f"must be at least queue.retry_max ({queue.retry_max:g}s), "
                f"got {queue.lifetime:g}s",
            )


def load(path: Path) -> Settings:
    """Read, validate and freeze the configuration in ``path``."""
    path = Path(path)
    loader = _Loader(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise loader.error("", "configuration file not found") from None
    except OSError as e:
        raise loader.error("", f"cannot read the configuration file: {e.strerror}") from None
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise loader.error("", f"not valid UTF-8 (at byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise loader.error("", f"TOML syntax error: {e}") from None
    return loader.build(loader.walk(document))


# ---------------------------------------------------------------------------
# Listener checks (run before starting, e.g. by ``mailgateway config check``)


def check_listeners(settings: Settings) -> list[ConfigError]:
    """Try to bind every listener briefly; one error per listener that cannot."""
    problems: list[ConfigError] = []
    for name, description in settings.listeners.items():
        problem = _check_listener(description)
        if problem is not None:
            problems.append(ConfigError(settings.source, f"listeners.{name}", problem))
    return problems


def _check_listener(description: str) -> str | None:
    try:
        endpoint = _parse_endpoint(description)
    except Exception as e:
        return f"not a valid Twisted endpoint string {description!r}: {e}"
    if isinstance(endpoint, endpoints.UNIXServerEndpoint):
        return _check_unix(Path(endpoint._address))
    port = _endpoint_port(endpoint)
    if port is None:
        return None  # systemd:, plugin endpoints...: nothing we can try
    interface: str = endpoint._interface
    family = socket.AF_INET
    if isinstance(endpoint, endpoints.TCP6ServerEndpoint):
        family = socket.AF_INET6
    if not interface:
        interface = "::" if family == socket.AF_INET6 else "0.0.0.0"
    return _try_bind(family, interface, port)


def _try_bind(family: socket.AddressFamily, interface: str, port: int) -> str | None:
    where = f"port {port} on {interface}"
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((interface, port))
    except socket.gaierror as e:
        return f"bad interface {interface!r}: {e.strerror}"
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return f"{where} is already in use"
        if e.errno == errno.EACCES:
            hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" if port < 1024 else ""
            return f"permission denied binding {where}{hint}"
        if e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EINVAL):
            return f"bad interface {interface!r}: not an address of this host ({e.strerror})"
        return f"cannot bind {where}: {e.strerror}"
    return None


def _check_unix(path: Path) -> str | None:
    parent = Path(os.path.abspath(path)).parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot create {parent}: {existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        verb = "write to" if existing == parent else "create"
        return f"cannot {verb} {parent}: permission denied on {existing}"
    return None
