"""The relay agent's decisions, with a scripted client round and MX resolver."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from gateway.bus.agents import DeliveryJob, Result, Target
from gateway.bus.relay import RelayAgent
from gateway.config import NextHop, RelaySettings
from gateway.envelope import Address, Envelope, Origin, Recipient
from gateway.smtp import client
from gateway.smtp.codes import reply
from gateway.smtp.mx import Target as Host

A = Address.parse


class FakeMX:
    def __init__(self, hosts: dict[str, list[Host]]) -> None:
        self.hosts_by_domain = hosts
        self.bad: list[str] = []

    def hosts(self, domain: str) -> Deferred[list[Host]]:
        return succeed(self.hosts_by_domain[domain])

    def mark_bad(self, address: str) -> None:
        self.bad.append(address)


class ScriptedRelay:
    """Answers per host address: "down" (no reply at all), "dsn", "plain"."""

    def __init__(self, behaviour: dict[str, str]) -> None:
        self.behaviour = behaviour
        self.calls: list[tuple[str, int, list[str], str]] = []
        self.gates: list[Deferred[None]] = []

    def __call__(
        self,
        reactor: Any,
        address: str,
        port: int,
        settings: client.ClientSettings,
        tx: client.RelayTransaction,
        remote_name: str | None = None,
    ) -> Deferred[list[client.Outcome]]:
        self.calls.append(
            (address, port, [str(r.address) for r in tx.recipients], settings.tls_policy)
        )
        mode = self.behaviour.get(address, "plain")
        if mode == "down":
            answer = reply(421, "4.4.1", "connection refused")
            outcomes = [
                client.Outcome(r, answer, False, address, "connect") for r in tx.recipients
            ]
        else:
            outcomes = [
                client.Outcome(
                    r,
                    reply(250, "2.0.0", "ok"),
                    True,
                    remote_name or address,
                    "data",
                    dsn=(mode == "dsn"),
                )
                for r in tx.recipients
            ]
        return succeed(outcomes)


def job(*rcpts: str) -> DeliveryJob:
    envelope = Envelope(
        A("alice@example.test"), tuple(Recipient(A(r)) for r in rcpts), Origin("test")
    )
    targets = tuple(Target(i, A(r)) for i, r in enumerate(rcpts))
    return DeliveryJob("Q1", envelope, 0.0, b"Subject: x\r\n\r\ny\r\n", targets, False)


def agent(settings: RelaySettings, mx: FakeMX, relay: ScriptedRelay) -> RelayAgent:
    return RelayAgent(settings, mx, Clock(), "mail.example.test", relay=relay)  # type: ignore[arg-type]


def result(d: Deferred[Any]) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out
    return out[0]


def test_one_transaction_per_domain_and_the_next_host_when_one_is_down() -> None:
    mx = FakeMX(
        {
            "a.test": [Host("mx1.a.test", "192.0.2.1"), Host("mx2.a.test", "192.0.2.2")],
            "b.test": [Host("mx.b.test", "192.0.2.9")],
        }
    )
    relay = ScriptedRelay({"192.0.2.1": "down", "192.0.2.9": "dsn"})
    outcomes = result(
        agent(RelaySettings(), mx, relay).deliver(job("x@a.test", "y@a.test", "z@b.test"))
    )
    assert [(c[0], c[2]) for c in relay.calls] == [
        ("192.0.2.1", ["x@a.test", "y@a.test"]),
        ("192.0.2.2", ["x@a.test", "y@a.test"]),
        ("192.0.2.9", ["z@b.test"]),
    ]
    assert mx.bad == ["192.0.2.1"]
    # RFC 3461 4: no DSN at the next hop -> relayed; with DSN -> delivered
    assert [(str(o.target.address), o.result, o.detail) for o in outcomes] == [
        ("x@a.test", Result.RELAYED, "mx2.a.test"),
        ("y@a.test", Result.RELAYED, "mx2.a.test"),
        ("z@b.test", Result.DELIVERED, "mx.b.test"),
    ]


def test_all_hosts_down_defers_everyone_and_rests_the_destination() -> None:
    mx = FakeMX({"a.test": [Host("mx1.a.test", "192.0.2.1")]})
    relay = ScriptedRelay({"192.0.2.1": "down"})
    clock = Clock()
    relay_agent = RelayAgent(RelaySettings(bad_host_ttl=600), mx, clock, "h", relay=relay)  # type: ignore[arg-type]
    (outcome,) = result(relay_agent.deliver(job("x@a.test")))
    assert (outcome.result, outcome.code, outcome.status) == (Result.DEFERRED, 421, "4.4.1")
    # destination-level backoff: not tried again until bad_host_ttl is over
    (outcome,) = result(relay_agent.deliver(job("y@a.test")))
    assert (outcome.result, outcome.status) == (Result.DEFERRED, "4.4.1")
    assert len(relay.calls) == 1
    clock.advance(601)
    result(relay_agent.deliver(job("z@a.test")))
    assert len(relay.calls) == 2


def test_smarthost_transports_policies_and_recipient_batches() -> None:
    mx = FakeMX(
        {
            "smart.test": [Host("smart.test", "192.0.2.50", 25)],
            "[192.0.2.60]": [Host("[192.0.2.60]", "192.0.2.60", 25)],
        }
    )
    relay = ScriptedRelay({})
    settings = RelaySettings(
        smarthost=NextHop("smart.test", 587),
        transports={"partner.test": NextHop("[192.0.2.60]", 2525)},
        tls_policy={"partner.test": "verify"},
        max_recipients=2,
    )
    result(
        agent(settings, mx, relay).deliver(
            job("a@far.test", "b@far.test", "c@far.test", "d@partner.test")
        )
    )
    assert sorted((c[0], c[1], len(c[2]), c[3]) for c in relay.calls) == [
        ("192.0.2.50", 587, 1, "may"),
        ("192.0.2.50", 587, 2, "may"),
        ("192.0.2.60", 2525, 1, "verify"),
    ]


def test_connections_per_destination_are_limited() -> None:
    mx = FakeMX({"a.test": [Host("mx.a.test", "192.0.2.1")]})
    held: list[Deferred[list[client.Outcome]]] = []

    def slow(*args: Any, **kwargs: Any) -> Deferred[list[client.Outcome]]:
        d: Deferred[list[client.Outcome]] = Deferred()
        held.append(d)
        return d

    relay_agent = RelayAgent(
        RelaySettings(max_per_destination=2, max_recipients=1),
        mx,
        Clock(),
        "h",
        relay=slow,  # type: ignore[arg-type]
    )
    relay_agent.deliver(job("a@a.test", "b@a.test", "c@a.test"))
    assert len(held) == 2  # the third waits for a slot
