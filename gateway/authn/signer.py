"""Outbound DKIM signing with the keys of ``[dkim]`` (RFC 6376, RFC 8463).

A domain may have several keys (``[[dkim.keys]]``, one per selector):

- every key with ``sign = true`` signs, each adding its own DKIM-Signature
  field; an RSA key and an Ed25519 key together is RFC 8463 3's advice
  (verifiers that know Ed25519 use it, the others still have RSA);
- a key with ``sign = false`` is published only: it is not loaded here. Key
  rotation is: publish the new key (``sign = false``), switch (new
  ``true``, old ``false``, while mail signed with the old one is still in
  transit), retire the old one (RFC 6376 3.6.1: empty ``p=``, or remove).

Which domain signs a message (:meth:`Signer.domain_for`): the domain of its
RFC 5322 From address when we have an active key for it, else the nearest
parent domain with one, no higher than the From domain's organisational
domain: a signature of ``d=example.test`` on mail from
``sub.example.test`` is what DMARC's relaxed alignment accepts (RFC 7489
3.1.1), a key of a public suffix never signs.

The cryptography and the field itself are :func:`gateway.authn.dkim.sign`'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.internet.interfaces import IReactorTime

from gateway.authn import dkim
from gateway.authn.dmarc import from_domains, normalise_domain, organisational_domain
from gateway.authn.keys import KeyFileError, PrivateKey, load_private_key

if TYPE_CHECKING:
    from gateway.config import DKIMSettings

__all__ = ["KeyFileError", "Signer", "SigningKey", "signing_domain"]


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An active key: ``d=domain``, ``s=selector``, the loaded private key."""

    domain: str  # lower case, no final dot
    selector: str
    key: PrivateKey


def _normalised(domain: str) -> str | None:
    try:
        return normalise_domain(domain)
    except ValueError:
        return None


def signing_domain(from_domain: str, domains: Iterable[str]) -> str | None:
    """The domain among ``domains`` that signs for ``from_domain``: itself,
    else its nearest parent domain down to its organisational domain (RFC
    7489 3.1.1, relaxed alignment); None when there is none."""
    name = _normalised(from_domain)
    if name is None:
        return None
    have = {d for d in (_normalised(x) for x in domains) if d is not None}
    org = organisational_domain(name)
    while True:
        if name in have:
            return name
        if name == org or "." not in name:
            return None
        name = name.partition(".")[2]


class Signer:
    """Signs messages with every active key of a domain."""

    def __init__(self, keys: Sequence[SigningKey] = (), *, expires: float = 0.0) -> None:
        if expires < 0:
            raise ValueError("expires must not be negative")
        self._keys: dict[str, tuple[SigningKey, ...]] = {}
        for key in keys:
            domain = normalise_domain(key.domain)
            self._keys[domain] = (*self._keys.get(domain, ()), key)
        # dkim.sign wants whole seconds; a fraction still gives an x= (3.5)
        self._expires = math.ceil(expires) if expires > 0 else None

    @classmethod
    def from_settings(cls, settings: DKIMSettings) -> Signer:
        """Load every key of ``settings`` with ``sign = true``.

        :class:`KeyFileError` for a key that cannot be used, its message
        naming the configuration key and the file: ``dkim.keys[0].key:
        /etc/dkim/x.pem: no such key file``."""
        keys: list[SigningKey] = []
        for index, configured in enumerate(settings.keys):
            if not configured.sign:
                continue
            try:
                private = load_private_key(configured.key)
            except KeyFileError as e:
                raise KeyFileError(f"dkim.keys[{index}].key: {e}") from None
            keys.append(SigningKey(configured.domain, configured.selector, private))
        return cls(keys, expires=settings.expires)

    def domains(self) -> frozenset[str]:
        """The domains with at least one active key."""
        return frozenset(self._keys)

    def keys(self, domain: str) -> tuple[SigningKey, ...]:
        """The active keys of ``domain``, in configuration order."""
        name = _normalised(domain)
        return self._keys.get(name, ()) if name is not None else ()

    def domain_for(self, message: bytes) -> str | None:
        """The signing domain of ``message``: the first RFC 5322 From domain
        (in header order) that has an active key or a parent domain with
        one (see :func:`signing_domain`); None when no From domain has."""
        for domain in from_domains(message):
            if domain:
                found = signing_domain(domain, self._keys)
                if found is not None:
                    return found
        return None

    def sign(self, message: bytes, domain: str, clock: IReactorTime | None = None) -> bytes:
        """The DKIM-Signature fields of every active key of ``domain``, in
        configuration order, to prepend to ``message``; ``b""`` when
        ``domain`` has no key. Each signature covers the message alone (none
        signs another's field), so they verify independently."""
        return b"".join(
            dkim.sign(
                message,
                key.domain,
                key.selector,
                key.key,
                clock=clock,
                expires=self._expires,
            )
            for key in self.keys(domain)
        )

    def signed(self, message: bytes, clock: IReactorTime | None = None) -> bytes:
        """``message`` with the signatures of its From domain prepended
        (:meth:`domain_for`), or unchanged when we have no key for it."""
        domain = self.domain_for(message)
        if domain is None:
            return message
        return self.sign(message, domain, clock) + message
