"""``mailgateway x400 ping PEER`` against a real P1 listener."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from gateway.x400.p1.ping import PingFailed, ping
from tests.x400.p1.support import listen, peer_at, reactor
from tests.x400.p1.test_protocol import Handler

ROOT = Path(__file__).resolve().parents[3]


class PingTests(unittest.TestCase):
    async def test_steps(self) -> None:
        _, port = listen(self, Handler())
        lines: list[str] = []
        await ping(reactor, peer_at(port), "mta.a.test", lines.append)
        assert re.fullmatch(rf"connected 127\.0\.0\.1:{port} \([0-9.]+ ms\)", lines[0])
        assert re.fullmatch(r"bound as mta\.a\.test to mta\.b\.test \([0-9.]+ ms\)", lines[1])
        assert re.fullmatch(r"released \([0-9.]+ ms\)", lines[2])

    async def test_refused(self) -> None:
        _, port = listen(self, Handler())
        lines: list[str] = []
        with self.assertRaises(PingFailed) as caught:
            await ping(reactor, peer_at(port, our_password="x"), "mta.a.test", lines.append)
        assert "refused the MTA-bind" in str(caught.exception)
        assert len(lines) == 1 and lines[0].startswith("connected")

    async def _cli(self, port: int, peer: str = "b") -> tuple[str, str, int]:
        config = Path(self.mktemp() + ".toml")
        config.write_text(
            '[server]\nhostname = "a.test"\nlocal_domains = ["a.test"]\n'
            f'data_dir = "{config.parent}"\n'
            '[x400]\nmta_name = "mta.a.test"\n'
            "[x400.peers.b]\n"
            'mta_name = "mta.b.test"\npassword = "b-secret"\nour_password = "a-secret"\n'
            f'host = "127.0.0.1"\nport = {port}\nconnect_timeout = "10s"\nbind_timeout = "10s"\n'
        )
        out, err, status = await getProcessOutputAndValue(
            sys.executable,
            ["-m", "gateway.cli.main", "--config", str(config), "x400", "ping", peer],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            path=str(ROOT),
            reactor=reactor,
        )
        return out.decode(), err.decode(), status

    async def test_command(self) -> None:
        _, port = listen(self, Handler())
        out, err, status = await self._cli(port)
        assert status == 0, err
        assert out.splitlines()[1].startswith("bound as mta.a.test to mta.b.test (")
        assert out.splitlines()[2].startswith("released (")

    async def test_command_unavailable(self) -> None:
        out, err, status = await self._cli(1)
        assert status == 69
        assert out == ""
        assert err.startswith("mailgateway: x400 ping: cannot connect to X.400 MTA mta.b.test")

    async def test_command_unknown_peer(self) -> None:
        _, err, status = await self._cli(1, peer="nope")
        assert status == 64
        assert "no peer 'nope' in [x400.peers]; known: b" in err
