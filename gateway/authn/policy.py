"""What to do with an inbound message, given what sender authentication found.

A pure function, :func:`decide`, over the checks' results and the
``[authn]`` settings; the SMTP server applies the :class:`Verdict` at the
end of data (RFC 7489 6.7: "reject" refuses the message there, with 550
5.7.1, which is better than accepting and bouncing; "junk" files it in the
recipient's Junk folder, DMARC's "quarantine").

The rules, first match wins; each verdict names the configuration key that
decided (``rule``) and why (``reason``), for the reply, the log and
``mailgateway track``:

1. an **allow** entry (the recipient domain's, then ``[authn]``'s) matching
   the client's network, the envelope sender or a From address: accept.
   Addresses and domains are what the message *claims* (as with
   SpamAssassin's ``whitelist_from``); networks cannot be forged, so prefer
   them;
2. a **block** entry matching the same: reject;
3. the client is on a DNSWL zone: the DNSBL step is skipped; on a DNSBL
   zone: ``dnsbl``;
4. DMARC ``fail`` whose (``pct``-sampled) policy is ``reject`` or
   ``quarantine``: accept when a passing ARC chain was sealed by one of
   ``arc_trusted`` (a mailing list or forwarder that broke the signature,
   RFC 8617 7.2.1); else ``dmarc_reject`` / ``dmarc_quarantine`` (RFC 7489
   6.6.4, 6.7: the receiver's local policy decides in the end);
5. DMARC ``pass``: accept;
6. a temporary failure (DMARC, SPF) that could change the outcome:
   ``temperror`` (``defer``: 451 4.7.5... try again, RFC 7489 6.6.3);
7. SPF ``fail`` / ``softfail`` for MAIL FROM (RFC 7208 8.4, 8.5):
   ``spf_fail`` / ``spf_softfail``;
8. nothing authenticated (no SPF pass, no DKIM pass): ``unauthenticated``;
9. otherwise accept.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from gateway.config import AuthnPolicy, AuthnSettings, SenderList

Action = Literal["accept", "junk", "reject", "defer"]

__all__ = ["Action", "Facts", "Verdict", "combine", "decide", "delivered_as"]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the checks found, reduced to what the rules read."""

    client_ip: str
    sender: str | None  # the envelope sender, None for <>
    from_addresses: tuple[str, ...] = ()  # RFC5322.From mailboxes
    spf: str | None = None  # MAIL FROM result (RFC 7208 2.6), None: not checked
    spf_helo: str | None = None
    dkim_pass: tuple[str, ...] = ()  # d= of every passing signature
    dkim_temperror: bool = False
    dmarc: str | None = None  # RFC 7489 11.2 result, None: not checked
    dmarc_policy: str = "none"  # the policy to apply (after pct)
    dmarc_domain: str = ""
    dmarc_reason: str = ""
    dnsbl: tuple[str, ...] = ()  # block zones listing the client, with their text
    dnswl: tuple[str, ...] = ()  # allow zones listing the client
    arc_sealers: tuple[str, ...] = ()  # d= of each ARC-Seal of a passing chain


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    rule: str  # the configuration key (or built-in rule) that decided
    reason: str  # for people: the reply text, the log, track

    def event(self) -> dict[str, str]:
        return {"action": self.action, "rule": self.rule, "reason": self.reason}


_ACCEPT: Final = Verdict("accept", "default", "no rule applies")


def _key(domain: str | None, settings: AuthnSettings, name: str) -> str:
    """The dotted configuration key that set ``name`` for ``domain``."""
    override = settings.domains.get(domain) if domain else None
    if override is not None and name in override.overrides:
        return f'authn.domains."{domain}".{name}'
    return f"authn.{name}"


def _matches(entries: SenderList, facts: Facts) -> str | None:
    """The entry of ``entries`` the client, sender or From matches, if any."""
    try:
        ip = ipaddress.ip_address(facts.client_ip)
    except ValueError:
        ip = None
    if ip is not None:
        for network in entries.networks:
            if ip.version == network.version and ip in network:
                return str(network)
    identities = [a.lower() for a in (facts.sender, *facts.from_addresses) if a]
    for address in identities:
        if address in entries.addresses:
            return address
    for address in identities:
        domain = address.rpartition("@")[2]
        for entry in entries.domains:
            if entry.startswith("@"):
                if domain == entry[1:]:
                    return entry
            elif domain == entry or domain.endswith("." + entry):
                return entry
    return None


def _listed(
    facts: Facts, settings: AuthnSettings, domain: str | None, which: str
) -> Verdict | None:
    """The allow (``which="allow"``) or block verdict, if an entry matches."""
    lists: list[tuple[str, SenderList]] = []
    where = settings.domains.get(domain) if domain else None
    if where is not None:
        lists.append((f'authn.domains."{domain}".{which}', getattr(where, which)))
    lists.append((f"authn.{which}", getattr(settings, which)))
    for key, entries in lists:
        entry = _matches(entries, facts)
        if entry is not None:
            if which == "allow":
                return Verdict("accept", key, f"{entry} is on the allow list")
            return Verdict("reject", key, f"{entry} is on the block list")
    return None


def decide(facts: Facts, settings: AuthnSettings, domain: str | None = None) -> Verdict:
    """The verdict for mail to ``domain`` (one of ours; None: the global
    policy) from what the checks found (see the module docstring)."""
    policy: AuthnPolicy = settings.policy_for(domain) if domain else settings.policy
    for which in ("allow", "block"):
        listed = _listed(facts, settings, domain, which)
        if listed is not None:
            return listed

    def rule(name: str, reason: str) -> Verdict:
        action: Action = getattr(policy, name)
        return Verdict(action, _key(domain, settings, name), reason)

    if facts.dnsbl and not facts.dnswl:
        verdict = rule("dnsbl", f"client [{facts.client_ip}] is listed: {facts.dnsbl[0]}")
        if verdict.action != "accept":
            return verdict
    if facts.dmarc == "fail" and facts.dmarc_policy in ("reject", "quarantine"):
        trusted = [d for d in facts.arc_sealers if d.lower() in settings.arc_trusted]
        if trusted:  # RFC 8617 7.2.1: a forwarder we trust vouches for it
            return Verdict(
                "accept",
                "authn.arc_trusted",
                f"DMARC fail for {facts.dmarc_domain} overridden: ARC chain sealed by "
                f"{trusted[0]} passes",
            )
        why = f"DMARC policy of {facts.dmarc_domain} is {facts.dmarc_policy}"
        if facts.dmarc_reason:
            why += f": {facts.dmarc_reason}"
        verdict = rule(f"dmarc_{facts.dmarc_policy}", why)
        if verdict.action != "accept":
            return verdict
    if facts.dmarc == "pass":
        return Verdict("accept", "dmarc", f"DMARC pass for {facts.dmarc_domain}")
    if facts.dmarc == "temperror" or (facts.spf == "temperror" and not facts.dkim_pass):
        verdict = rule("temperror", "a DNS lookup failed temporarily; try again later")
        if verdict.action == "defer":
            return verdict
    if facts.spf in ("fail", "softfail"):
        verdict = rule(
            f"spf_{facts.spf}",
            f"SPF {facts.spf} for {facts.sender or '<>'} from [{facts.client_ip}]",
        )
        if verdict.action != "accept":
            return verdict
    if facts.spf != "pass" and facts.spf_helo != "pass" and not facts.dkim_pass:
        verdict = rule("unauthenticated", "neither SPF nor DKIM authenticates the sender")
        if verdict.action != "accept":
            return verdict
    return _ACCEPT


def combine(verdicts: Sequence[Verdict]) -> Verdict | None:
    """The single answer at the end of data for recipients of several
    domains: their common verdict when it refuses (reject, defer), else None
    (each recipient's verdict applies to it: a refusal for some is softened
    to Junk, since one reply covers them all)."""
    actions = {v.action for v in verdicts}
    if len(actions) == 1 and actions <= {"reject", "defer"}:
        return verdicts[0]
    return None


def delivered_as(verdict: Verdict) -> Literal["junk", "inbox"]:
    """Where a recipient's copy goes once the message is accepted."""
    return "junk" if verdict.action in ("junk", "reject") else "inbox"
