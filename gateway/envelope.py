"""Envelope value types: addresses, recipients and the message envelope.

The envelope is what travels beside the content: the reverse path, the
forward paths with their RFC 3461 DSN parameters, and where the message came
from. All types are frozen and serialise to plain JSON for the queue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

_DOT_ATOM = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\x80-\U0010ffff]+"
    r"(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\x80-\U0010ffff]+)*$"
)
_DOMAIN = re.compile(
    r"^(\[[^\[\]\\]+\]|[A-Za-z0-9\x80-\U0010ffff]"
    r"([A-Za-z0-9\-\x80-\U0010ffff]*[A-Za-z0-9\x80-\U0010ffff])?"
    r"(\.[A-Za-z0-9\x80-\U0010ffff]([A-Za-z0-9\-\x80-\U0010ffff]*"
    r"[A-Za-z0-9\x80-\U0010ffff])?)*)$"
)

# RFC 5321 4.5.3.1.1 sets 64 as the size every server must accept and asks
# implementations to impose no limit where they can (Postfix has none). A
# MIXER gateway must: X.400 users seen from the Internet are
# "/G=.../S=.../OU=.../O=.../PRMD=.../ADMD=.../C=../"@gateway (RFC 2156 4.3.5),
# often longer than 64. The whole path stays within 256 octets (4.5.3.1.3).
MAX_LOCAL_PART = 256
MAX_DOMAIN = 255  # RFC 5321 4.5.3.1.2


class AddressError(ValueError):
    """An address that is not a valid RFC 5321 mailbox."""


@dataclass(frozen=True, slots=True, order=True)
class Address:
    """An RFC 5321 mailbox, ``local@domain``.

    The domain is kept in lower case (domains are case-insensitive); the local
    part is kept as given (RFC 5321 2.4), but :meth:`key` folds it for lookups
    of local users, as every mail system in practice does.
    """

    local: str
    domain: str

    @classmethod
    def parse(cls, text: str) -> Address:
        text = text.strip()
        if text.startswith("<") and text.endswith(">"):
            text = text[1:-1]
        local, sep, domain = text.rpartition("@")
        if not sep or not local or not domain:
            raise AddressError(f"not an address (need local@domain): {text!r}")
        if local.startswith('"') and local.endswith('"') and len(local) >= 2:
            if any(c in local[1:-1] for c in "\r\n"):
                raise AddressError(f"bad quoted local part: {local!r}")
        elif not _DOT_ATOM.match(local):
            raise AddressError(f"bad local part: {local!r}")
        if len(local.encode()) > MAX_LOCAL_PART:
            raise AddressError(f"local part longer than {MAX_LOCAL_PART} octets")
        if len(domain.encode()) > MAX_DOMAIN or not _DOMAIN.match(domain):
            raise AddressError(f"bad domain: {domain!r}")
        return cls(local, domain.lower())

    def __str__(self) -> str:
        return f"{self.local}@{self.domain}"

    def key(self) -> str:
        """The case-folded form used to look up local users and aliases."""
        return f"{self.local.lower()}@{self.domain}"

    @property
    def utf8(self) -> bool:
        return not str(self).isascii()


# RFC 3461 4.1 NOTIFY values.
NOTIFY_VALUES = frozenset({"SUCCESS", "FAILURE", "DELAY"})


@dataclass(frozen=True, slots=True)
class Recipient:
    """One forward path with its RFC 3461 parameters.

    ``notify`` is ``None`` when the client gave no NOTIFY (the default
    behaviour of RFC 3461 4.1 then applies), an empty frozenset for
    ``NOTIFY=NEVER``, else a subset of :data:`NOTIFY_VALUES`.
    ``orcpt`` is the decoded ORCPT as ``(addr-type, address)``.
    """

    address: Address
    notify: frozenset[str] | None = None
    orcpt: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.notify is not None and not self.notify <= NOTIFY_VALUES:
            raise ValueError(f"bad NOTIFY values: {sorted(self.notify)}")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"address": str(self.address)}
        if self.notify is not None:
            data["notify"] = sorted(self.notify)
        if self.orcpt is not None:
            data["orcpt"] = list(self.orcpt)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recipient:
        notify = data.get("notify")
        orcpt = data.get("orcpt")
        return cls(
            Address.parse(data["address"]),
            None if notify is None else frozenset(notify),
            None if orcpt is None else (str(orcpt[0]), str(orcpt[1])),
        )


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a message entered the gateway (for trace and policy)."""

    protocol: str  # "smtp", "esmtps", "sendmail", "x400-p1", "x400-file", "bus"
    client_address: str | None = None
    helo: str | None = None
    authenticated_as: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "protocol": self.protocol,
                "client_address": self.client_address,
                "helo": self.helo,
                "authenticated_as": self.authenticated_as,
            }.items()
            if v is not None
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Origin:
        return cls(
            str(data["protocol"]),
            data.get("client_address"),
            data.get("helo"),
            data.get("authenticated_as"),
        )


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope of one message (RFC 5321 2.3.1) plus DSN parameters.

    ``sender`` is ``None`` for the null reverse-path ``<>``.
    """

    sender: Address | None
    recipients: tuple[Recipient, ...]
    origin: Origin = field(default_factory=lambda: Origin("bus"))
    envid: str | None = None  # RFC 3461 4.4, decoded from xtext
    ret: str | None = None  # RFC 3461 4.3: "FULL" or "HDRS"
    body: str = "7BIT"  # RFC 6152 / RFC 3030: "7BIT", "8BITMIME", "BINARYMIME"
    smtputf8: bool = False  # RFC 6531
    # Why sender authentication judged the message suspect (it is then filed
    # in each local recipient's Junk folder); None: not suspect.
    junk: str | None = None

    def __post_init__(self) -> None:
        if not self.recipients:
            raise ValueError("an envelope needs at least one recipient")
        if self.ret not in (None, "FULL", "HDRS"):
            raise ValueError(f"bad RET value: {self.ret}")
        if self.body not in ("7BIT", "8BITMIME", "BINARYMIME"):
            raise ValueError(f"bad BODY value: {self.body}")

    def with_recipients(self, recipients: tuple[Recipient, ...]) -> Envelope:
        return replace(self, recipients=recipients)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sender": "" if self.sender is None else str(self.sender),
            "recipients": [r.to_json() for r in self.recipients],
            "origin": self.origin.to_json(),
            "body": self.body,
        }
        if self.envid is not None:
            data["envid"] = self.envid
        if self.ret is not None:
            data["ret"] = self.ret
        if self.smtputf8:
            data["smtputf8"] = True
        if self.junk is not None:
            data["junk"] = self.junk
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Envelope:
        sender = data.get("sender") or ""
        return cls(
            None if sender == "" else Address.parse(sender),
            tuple(Recipient.from_json(r) for r in data["recipients"]),
            Origin.from_json(data.get("origin", {"protocol": "bus"})),
            data.get("envid"),
            data.get("ret"),
            data.get("body", "7BIT"),
            bool(data.get("smtputf8", False)),
            data.get("junk"),
        )
