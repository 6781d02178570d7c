"""The service tree wires P1 in when it is configured, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.internet.testing import MemoryReactorClock

from gateway import service
from gateway.bus.router import RouteKind
from gateway.config import load
from gateway.envelope import Address
from gateway.x400.p1.channel import X400Agent
from gateway.x400.p1.protocol import P1ServerFactory

ROOT = Path(__file__).resolve().parents[3]


def build(tmp_path: Path, text: str) -> service.Gateway:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[server]\nhostname = "mail.a.test"\nlocal_domains = ["example.test"]\n'
        f'data_dir = "{tmp_path / "var"}"\n'
        f'[x400]\ntables = "{ROOT / "conf" / "x400"}"\ndomain = "x400.a.test"\n' + text
    )
    return service.build(load(config), MemoryReactorClock())


def listener_factories(root: service.Gateway) -> dict[str, object]:
    return {
        s.name: s.factory  # type: ignore[attr-defined]
        for s in root
        if isinstance(s, service.ListenerService)
    }


def test_peers_and_listener(tmp_path: Path) -> None:
    root = build(
        tmp_path,
        "[x400.peers.lab]\n"
        'mta_name = "mta.lab"\npassword = "p"\nour_password = "q"\n'
        'host = "127.0.0.1"\nport = 10103\nor_space = ["/PRMD=Lab/ADMD= /C=GB/"]\n'
        '[listeners]\nx400 = "tcp:10102:interface=127.0.0.1"\n',
    )
    assert isinstance(root.bus.agents[RouteKind.X400], X400Agent)
    factory = listener_factories(root)["x400"]
    assert isinstance(factory, P1ServerFactory)
    assert factory.config.mta_name == "mail.a.test"
    assert [p.name for p in factory.config.peers] == ["lab"]
    route = root.router.resolve(Address.parse('"/S=X/PRMD=Lab/ADMD= /C=GB/"@x400.a.test'))
    assert route.routes[0].kind is RouteKind.X400


def test_listener_without_peers_refuses_everyone(tmp_path: Path) -> None:
    root = build(tmp_path, '[listeners]\nx400 = "tcp:10102:interface=127.0.0.1"\n')
    assert RouteKind.X400 not in root.bus.agents
    factory = listener_factories(root)["x400"]
    assert isinstance(factory, P1ServerFactory)
    assert factory.authenticate("anyone", "x") == (None, "unknown MTA name")
    assert root.router.x400 is None


def test_nothing_without_p1(tmp_path: Path) -> None:
    root = build(tmp_path, "")
    assert RouteKind.X400 not in root.bus.agents
    assert "x400" not in listener_factories(root)


def test_bad_tables_stop_the_start(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "mcgam-domain-or.table").write_text("not a table line\n")
    config = tmp_path / "g.toml"
    config.write_text(
        '[server]\nhostname = "mail.a.test"\nlocal_domains = ["example.test"]\n'
        f'data_dir = "{tmp_path / "var"}"\n[x400]\ntables = "{tables}"\n'
        '[listeners]\nx400 = "tcp:10102:interface=127.0.0.1"\n'
    )
    with pytest.raises(SystemExit, match="x400 mapping tables"):
        service.build(load(config), MemoryReactorClock())
