"""The RFC 7208 test suite (openspf.org, release 2014.04) against our SPF
evaluator (gateway.authn.spf).

The suite is not kept in this repository: a session fixture downloads the
pyspf 2.0.14 source distribution with ``pip download`` (the test is skipped
when that fails, e.g. without network) and reads ``test/rfc7208-tests.yml``
from the archive. For every scenario its ``zonedata`` is served by
:class:`tests.dnszone.DNSTestServer` on loopback, and every test case runs
through :func:`gateway.authn.spf.check_mailfrom` with the real
:class:`~gateway.authn.dns.TwistedLookup`.

The zone data is translated as pyspf's own driver (``test/testspf.py``)
does: ``SPF`` (type 99) records become TXT records of the same name unless
the name has TXT records (``TXT: NONE`` means none and no copy); a
``TIMEOUT`` entry makes every query type of the name not listed before it
go unanswered (the client's timeout then gives ``temperror``). The default
explanation is the literal ``DEFAULT``, as the driver sets it.

Every case passes, or is listed in :data:`SKIP` with the reason.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from collections.abc import Iterator
from typing import Any, cast

import pytest
from twisted.internet import reactor as global_reactor
from twisted.names import client, dns
from twisted.trial import unittest

from gateway.authn.dns import TwistedLookup
from gateway.authn.spf import check_mailfrom
from tests.dnszone import DNSTestServer, Zone, _Factory, _ZoneAuthority

reactor = cast(Any, global_reactor)

SDIST = "pyspf==2.0.14"
ARCHIVE = "pyspf-2.0.14.tar.gz"
MEMBER = "pyspf-2.0.14/test/rfc7208-tests.yml"
RECEIVER = "receiver.test"

# Cases that do not pass, by name, with the reason (one line each).
SKIP: dict[str, str] = {
    "v-macro-ip6": (
        "the suite wants upper-case nibbles for %{ir} of an IPv6 address (pyspf's output);"
        " we follow RFC 7208 7.4's own example, which is lower case"
    ),
}

TYPE_CODES = {"A": dns.A, "AAAA": dns.AAAA, "MX": dns.MX, "PTR": dns.PTR, "CNAME": dns.CNAME}


@pytest.fixture(scope="session")
def rfc7208_scenarios(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The scenarios of rfc7208-tests.yml, from the pyspf sdist (downloaded
    once per session)."""
    yaml = pytest.importorskip("yaml")
    where = tmp_path_factory.mktemp("pyspf-sdist")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    try:
        done = subprocess.run(
            [*command, SDIST, "-d", str(where)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"cannot download {SDIST}: {e}")
    archive = where / ARCHIVE
    if done.returncode != 0 or not archive.exists():
        lines = (done.stderr or done.stdout).strip().splitlines()
        pytest.skip(f"cannot download {SDIST}: {lines[-1] if lines else done.returncode}")
    with tarfile.open(archive) as tar:
        member = tar.extractfile(MEMBER)
        assert member is not None, f"{MEMBER} missing from {ARCHIVE}"
        text = member.read()
    return [s for s in yaml.safe_load_all(text) if s]


# ---------------------------------------------------------------------------
# Zone data -> a zone and the (name, type) pairs never answered


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def scenario_zone(zonedata: dict[str, Any]) -> tuple[Zone, frozenset[tuple[bytes, int]]]:
    zone = Zone("")
    silent: set[tuple[bytes, int]] = set()
    for owner, entries in zonedata.items():
        name = owner.rstrip(".").lower()
        has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
        seen: set[int] = set()
        spf_copies: list[list[str]] = []
        for entry in entries:
            if entry == "TIMEOUT":
                for qtype in (*TYPE_CODES.values(), dns.TXT):
                    if qtype not in seen:
                        silent.add((name.encode("idna"), qtype))
                continue
            ((rtype, value),) = entry.items()
            if value == "TIMEOUT":
                silent.add((name.encode("idna"), TYPE_CODES.get(rtype, dns.TXT)))
                continue
            if rtype == "SPF":
                if not has_txt:
                    spf_copies.append(_as_list(value))
                continue
            if rtype == "TXT":
                if value != "NONE":  # "NONE": no TXT record (and no SPF copy)
                    seen.add(dns.TXT)
                    zone.add(f"{name}.", "TXT", *_as_list(value))
                continue
            seen.add(TYPE_CODES[rtype])
            if rtype == "MX":
                preference, exchange = value
                zone.add(f"{name}.", "MX", int(preference), f"{exchange}." if exchange else ".")
            elif rtype in ("PTR", "CNAME"):
                zone.add(f"{name}.", rtype, f"{str(value).rstrip('.')}.")
            else:
                zone.add(f"{name}.", rtype, str(value))
        for strings in spf_copies:  # after the others, as testspf.py's getrdata()
            zone.add(f"{name}.", "TXT", *strings)
    return zone, frozenset(silent)


class _SuiteFactory(_Factory):
    """The test server's factory, silent for some (name, type) pairs only."""

    def __init__(self, authorities: list[Any], silent: frozenset[tuple[bytes, int]]) -> None:
        super().__init__(authorities, frozenset(), frozenset())
        self.silent_types = silent

    def handleQuery(self, message: Any, protocol: Any, address: Any) -> Any:
        query = message.queries[0]
        if (query.name.name.lower().rstrip(b"."), query.type) in self.silent_types:
            return None
        return super().handleQuery(message, protocol, address)


def scenario_server(zonedata: dict[str, Any]) -> DNSTestServer:
    zone, silent = scenario_zone(zonedata)
    server = DNSTestServer([zone])
    server.factory = _SuiteFactory([_ZoneAuthority(zone)], silent)
    server.factory.noisy = False
    return server


def cases(scenarios: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    for scenario in scenarios:
        for name, case in scenario["tests"].items():
            yield scenario, name, case


# ---------------------------------------------------------------------------


class RFC7208SuiteTests(unittest.TestCase):
    timeout = 600

    @pytest.fixture(autouse=True)
    def _suite(self, rfc7208_scenarios: list[dict[str, Any]]) -> None:
        self.scenarios = rfc7208_scenarios

    def test_skip_table_names_real_cases(self) -> None:
        names = [name for _, name, _ in cases(self.scenarios)]
        self.assertEqual(len(names), len(set(names)), "case names are not unique")
        self.assertEqual(set(SKIP) - set(names), set())

    async def _run_scenario(self, scenario: dict[str, Any]) -> list[tuple[str, str | None]]:
        """``(case name, failure or None)`` for each case of ``scenario``."""
        server = scenario_server(scenario.get("zonedata") or {})
        address = server.start(reactor)
        try:
            resolver = client.Resolver(servers=[address], timeout=(0.5,), reactor=reactor)
            lookup = TwistedLookup(resolver, reactor, timeout=2.0)
            outcomes: list[tuple[str, str | None]] = []
            for name, case in scenario["tests"].items():
                result = await check_mailfrom(
                    str(case["host"]),
                    str(case["mailfrom"]),
                    str(case["helo"]),
                    lookup,
                    receiver=RECEIVER,
                    default_explanation="DEFAULT",
                )
                allowed = _as_list(case["result"])
                problem = None
                if result.result not in allowed:
                    problem = f"result {result.result} not in {allowed} ({result.problem})"
                elif "explanation" in case and result.explanation != case["explanation"]:
                    problem = f"explanation {result.explanation!r} != {case['explanation']!r}"
                outcomes.append((name, problem))
            return outcomes
        finally:
            await server.stop()

    async def _run_all(self) -> None:
        failures: dict[str, str] = {}
        passed = 0
        for scenario in self.scenarios:
            for name, problem in await self._run_scenario(scenario):
                if problem is None:
                    passed += 1
                    if name in SKIP:
                        failures[name] = "listed in SKIP but passes: remove it from the table"
                elif name not in SKIP:
                    failures[name] = problem
        total = sum(len(s["tests"]) for s in self.scenarios)
        print(f"\nRFC 7208 suite: {passed} of {total} cases pass, {len(SKIP)} listed in SKIP")
        self.assertEqual(failures, {})
        self.assertEqual(passed + len(SKIP), total)

    def test_rfc7208_suite(self) -> Any:
        from twisted.internet.defer import Deferred

        return Deferred.fromCoroutine(self._run_all())
