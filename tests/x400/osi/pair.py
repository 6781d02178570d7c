"""Two P1Association machines wired back to back in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.x400.osi.association import (
    AssociationConfig,
    BindRequested,
    Credentials,
    Event,
    P1Association,
    TransferReceived,
)

INITIATOR = Credentials("gateway.lab.test", "secret")
RESPONDER = Credentials("peer.lab.test", "secret2")
MAX_ROUNDS = 10_000


@dataclass
class Pair:
    """An initiator and a responder; :meth:`pump` moves bytes until both are
    quiet, recording each side's events and each direction's bytes.  With
    ``auto_accept`` / ``auto_confirm`` the responder (or whichever side
    receives) answers binds and transfers itself."""

    initiator: P1Association
    responder: P1Association
    auto_accept: bool = True
    auto_confirm: bool = True
    events: dict[str, list[Event]] = field(default_factory=lambda: {"I": [], "R": []})
    wire: dict[str, bytearray] = field(
        default_factory=lambda: {"I": bytearray(), "R": bytearray()}
    )

    @classmethod
    def make(
        cls,
        config: AssociationConfig | None = None,
        *,
        responder_config: AssociationConfig | None = None,
        local: Credentials = INITIATOR,
        peer: Credentials | None = RESPONDER,
        responder_local: Credentials = RESPONDER,
        auto_accept: bool = True,
        auto_confirm: bool = True,
    ) -> Pair:
        config = config or AssociationConfig()
        return cls(
            P1Association("initiator", local, config, peer=peer),
            P1Association("responder", responder_local, responder_config or config),
            auto_accept=auto_accept,
            auto_confirm=auto_confirm,
        )

    def side(self, name: str) -> P1Association:
        return self.initiator if name == "I" else self.responder

    def pump(self) -> None:
        for _ in range(MAX_ROUNDS):
            moved = False
            for name in ("I", "R"):
                for event in self.side(name).events():
                    self.events[name].append(event)
                    self._react(name, event)
            for name, other in (("I", "R"), ("R", "I")):
                data = self.side(name).data_to_send()
                if not data:
                    continue
                moved = True
                self.wire[name] += data
                for event in self.side(other).receive(data):
                    self.events[other].append(event)
                    self._react(other, event)
            if not moved and not self.initiator.events() and not self.responder.events():
                return
        raise AssertionError("the machines never went quiet")

    def _react(self, name: str, event: Event) -> None:
        machine = self.side(name)
        if isinstance(event, BindRequested) and self.auto_accept:
            machine.accept_bind()
        elif isinstance(event, TransferReceived) and self.auto_confirm:
            machine.confirm(event.transfer_id)

    def bind(self) -> Pair:
        self.initiator.connect()
        self.pump()
        return self

    def take(self, name: str) -> list[Event]:
        events, self.events[name] = self.events[name], []
        return events
