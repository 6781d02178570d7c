"""A small authoritative DNS server on loopback that serves test zones.

Not a test module. The test suite never queries the system resolver nor any
address but 127.0.0.1 (DESIGN.md, "DNS"): whatever needs DNS (MX resolution,
later SPF/DKIM/DMARC) is pointed at this server, which answers from zones
given as Python data or as zone-file text with :mod:`twisted.names`.

Zones
-----
A :class:`Zone` is an origin plus records. Owner names and names inside
records are relative to the origin unless they end with ``.``; ``@`` is the
origin itself and ``.`` is the root (the null MX target of RFC 7505)::

    zone = Zone("example.test", {
        "@": [("MX", 10, "mx1"), ("MX", 20, "mx2.other.test."),
              ("TXT", "v=spf1 -all")],
        "mx1": [("A", "127.0.0.1"), ("AAAA", "::1")],
        "alias": [("CNAME", "mx1")],
        "nomail": [("MX", 0, ".")],                # RFC 7505 null MX
    })
    zone = Zone.from_text('''
        $ORIGIN example.test.
        $TTL 300
        @     IN MX 10 mx1
        mx1   IN A  127.0.0.1
        txt      TXT "v=DKIM1; k=rsa; p=..." "second string"
    ''')

Record types: A, AAAA, MX, CNAME, TXT (one or more character-strings;
a Python string longer than 255 octets is split into 255-octet pieces, as
DKIM keys need), NS, PTR and SOA. An SOA and an NS record at the origin are
added when the zone has none, so a name that does not exist is answered
NXDOMAIN (authoritative, RFC 1035 4.1.1 RCODE 3) and an existing name
without records of the asked type NODATA (NOERROR, empty answer, SOA in the
authority section; RFC 2308 2.2). Names outside every zone are NXDOMAIN too.

Besides the zones, a server can be told to answer SERVFAIL for some names
(``servfail=``) and to never answer for others (``silent=``), to test
temporary failures and timeouts; :func:`start_blackhole` is a UDP port that
never answers anything.

Inside trial tests (same reactor)
---------------------------------
::

    server = DNSTestServer([zone])
    host, port = server.start(reactor)        # UDP and TCP on one free port
    self.addCleanup(server.stop)              # stops both listening ports
    resolver = client.Resolver(servers=[(host, port)], reactor=reactor)

From integration tests (the gateway in a subprocess)
----------------------------------------------------
Either in a thread of the test process, on a private reactor (so it does not
touch the global one)::

    with run_in_thread([zone]) as (host, port):
        ...  # [dns] servers = [f"{host}:{port}"]

or as a process of its own::

    with in_subprocess([zone]) as (host, port):
        ...

which runs ``python -m tests.dnszone [--host H] [--port N] ZONEFILE...``; that
command serves the zone files (zone-file text as above; a file without
``$ORIGIN`` takes its origin from its file name, as BIND does) and prints
``HOST PORT`` on one line of standard output once it listens. It stops on
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from twisted.internet import defer, protocol
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort
from twisted.names import authority, dns, server

LOOPBACK = "127.0.0.1"
DEFAULT_TTL = 300
NEGATIVE_TTL = 60  # SOA MINIMUM: the negative-caching TTL (RFC 2308 4)
TYPES = ("A", "AAAA", "MX", "CNAME", "TXT", "NS", "PTR", "SOA")

# One record, normalised: owner (absolute, no trailing dot, lower case), TTL,
# type, and the record data with every name made absolute.
RData = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Record:
    owner: str
    ttl: int
    type: str
    data: RData


def absolute(name: str, origin: str) -> str:
    """``name`` relative to ``origin`` made absolute, without the trailing dot
    (the root is ``""``)."""
    if name == "@":
        return origin
    if name.endswith("."):
        return name[:-1]
    return f"{name}.{origin}" if origin else name


def _txt_strings(parts: Iterable[object]) -> tuple[str, ...]:
    out: list[str] = []
    for part in parts:
        raw = str(part).encode("utf-8")
        if not raw:
            out.append("")
        while raw:  # RFC 1035 3.3.14: each character-string at most 255 octets
            out.append(raw[:255].decode("utf-8", "surrogateescape"))
            raw = raw[255:]
    return tuple(out) or ("",)


def _normalise(owner: str, ttl: int, rtype: str, data: Sequence[object], origin: str) -> Record:
    rtype = rtype.upper()
    try:
        if rtype in ("A", "AAAA"):
            (address,) = data
            ip = ipaddress.ip_address(str(address))
            if (rtype == "A") != (ip.version == 4):
                raise ValueError(f"{rtype} record with address {address}")
            rdata: RData = (str(ip),)
        elif rtype == "MX":
            preference, exchange = data
            rdata = (int(cast(Any, preference)), absolute(str(exchange), origin))
        elif rtype in ("CNAME", "NS", "PTR"):
            (target,) = data
            rdata = (absolute(str(target), origin),)
        elif rtype == "TXT":
            rdata = _txt_strings(data)
        elif rtype == "SOA":
            mname, rname, *numbers = data
            if len(numbers) != 5:
                raise ValueError("SOA needs mname rname serial refresh retry expire minimum")
            rdata = (
                absolute(str(mname), origin),
                absolute(str(rname), origin),
                *(int(cast(Any, n)) for n in numbers),
            )
        else:
            raise ValueError(f"unsupported record type {rtype!r} (supported: {TYPES})")
    except (TypeError, ValueError) as e:
        raise ValueError(f"{owner or '.'} {rtype}: bad record data {tuple(data)!r}: {e}") from e
    return Record(owner.lower(), ttl, rtype, rdata)


class Zone:
    """One zone: an origin and its records (see the module docstring)."""

    def __init__(
        self,
        origin: str,
        records: Mapping[str, Iterable[Sequence[object]]] | None = None,
        ttl: int = DEFAULT_TTL,
    ) -> None:
        self.origin = origin.rstrip(".").lower()
        self.ttl = ttl
        self.records: list[Record] = []
        for owner, rrs in (records or {}).items():
            for rr in rrs:
                self.add(owner, *rr)

    def add(self, owner: str, rtype: object, *data: object, ttl: int | None = None) -> None:
        """Add one record: ``zone.add("mx1", "A", "127.0.0.1")``."""
        name = absolute(owner, self.origin)
        self.records.append(
            _normalise(name, self.ttl if ttl is None else ttl, str(rtype), data, self.origin)
        )

    @classmethod
    def from_text(cls, text: str, origin: str | None = None) -> Zone:
        """Parse zone-file text (RFC 1035 5.1, the usual subset): ``$ORIGIN``,
        ``$TTL``, ``;`` comments, ``( )`` continuation lines, an owner left out
        (line starts with white space) meaning the previous one, an optional
        TTL and class ``IN`` in either order, quoted TXT strings."""
        zone: Zone | None = None if origin is None else cls(origin)
        ttl = DEFAULT_TTL
        owner: str | None = None
        for blank_owner, words in _logical_lines(text):
            if words[0].upper() == "$ORIGIN":
                if zone is None:
                    zone = cls(words[1], ttl=ttl)
                else:
                    zone.origin = words[1].rstrip(".").lower()
                continue
            if words[0].upper() == "$TTL":
                ttl = int(words[1])
                if zone is not None:
                    zone.ttl = ttl
                continue
            if zone is None:
                raise ValueError("zone text has records before $ORIGIN and no origin was given")
            if not blank_owner:
                owner, words = words[0], words[1:]
            if owner is None:
                raise ValueError(f"record without an owner: {' '.join(words)}")
            record_ttl = ttl
            while words and (words[0].isdigit() or words[0].upper() == "IN"):
                if words[0].isdigit():
                    record_ttl = int(words[0])
                words = words[1:]
            if not words:
                raise ValueError(f"{owner}: record without a type")
            zone.add(owner, words[0], *words[1:], ttl=record_ttl)
        if zone is None:
            raise ValueError("empty zone text and no origin given")
        return zone

    def to_text(self) -> str:
        """The zone as zone-file text that :meth:`from_text` reads back."""
        lines = [f"$ORIGIN {self.origin}.", f"$TTL {self.ttl}"]
        for r in self.records:
            if r.type == "TXT":
                data = " ".join(_quote(str(s)) for s in r.data)
            else:
                data = " ".join(
                    f"{d}." if isinstance(d, str) and _is_name(r.type, i) else str(d)
                    for i, d in enumerate(r.data)
                )
            lines.append(f"{r.owner}. {r.ttl} IN {r.type} {data}")
        return "\n".join(lines) + "\n"

    def twisted_records(self) -> tuple[tuple[bytes, Any], dict[bytes, list[Any]]]:
        """``(soa, records)`` as :class:`twisted.names.authority.FileAuthority`
        wants them, with an SOA and NS added when missing."""
        records: dict[bytes, list[Any]] = {}
        soa: tuple[bytes, Any] | None = None
        has_ns = False
        for r in self.records:
            rec = _twisted_record(r)
            key = r.owner.encode("idna") if r.owner else b""
            records.setdefault(key, []).append(rec)
            if r.type == "SOA" and r.owner == self.origin:
                soa = (key, rec)
            has_ns = has_ns or (r.type == "NS" and r.owner == self.origin)
        apex = self.origin.encode("idna")
        if soa is None:
            rec = dns.Record_SOA(
                mname=b"ns." + apex,
                rname=b"hostmaster." + apex,
                serial=1,
                refresh=3600,
                retry=600,
                expire=NEGATIVE_TTL,
                minimum=NEGATIVE_TTL,
                ttl=self.ttl,
            )
            soa = (apex, rec)
            records.setdefault(apex, []).append(rec)
        if not has_ns:
            records.setdefault(apex, []).append(dns.Record_NS(b"ns." + apex, ttl=self.ttl))
        return soa, records


_NAME_FIELDS = {"MX": (1,), "CNAME": (0,), "NS": (0,), "PTR": (0,), "SOA": (0, 1)}


def _is_name(rtype: str, index: int) -> bool:
    return index in _NAME_FIELDS.get(rtype, ())


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _name(name: str) -> bytes:
    return name.encode("idna") if name else b""  # b"": the root, RFC 7505's "."


def _twisted_record(r: Record) -> Any:
    d = r.data
    if r.type == "A":
        return dns.Record_A(str(d[0]), ttl=r.ttl)
    if r.type == "AAAA":
        return dns.Record_AAAA(str(d[0]), ttl=r.ttl)
    if r.type == "MX":
        return dns.Record_MX(int(d[0]), _name(str(d[1])), ttl=r.ttl)
    if r.type == "CNAME":
        return dns.Record_CNAME(_name(str(d[0])), ttl=r.ttl)
    if r.type == "NS":
        return dns.Record_NS(_name(str(d[0])), ttl=r.ttl)
    if r.type == "PTR":
        return dns.Record_PTR(_name(str(d[0])), ttl=r.ttl)
    if r.type == "TXT":
        return dns.Record_TXT(*(str(s).encode("utf-8", "surrogateescape") for s in d), ttl=r.ttl)
    mname, rname, serial, refresh, retry, expire, minimum = d
    return dns.Record_SOA(
        mname=_name(str(mname)),
        rname=_name(str(rname)),
        serial=int(serial),
        refresh=int(refresh),
        retry=int(retry),
        expire=int(expire),
        minimum=int(minimum),
        ttl=r.ttl,
    )


def _logical_lines(text: str) -> Iterator[tuple[bool, list[str]]]:
    """``(owner_left_out, words)`` per logical line of zone-file text."""
    pending: list[str] = []
    blank_owner = False
    depth = 0
    for line in textwrap.dedent(text).splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars="()")
        lexer.commenters = ";"
        lexer.whitespace_split = True
        words = []
        for word in lexer:
            if word == "(":
                depth += 1
            elif word == ")":
                depth -= 1
            else:
                words.append(word)
        if not pending:
            if not words:
                continue
            # Only a first line that starts with white space leaves the owner
            # out; the indentation of a whole docstring is removed first.
            blank_owner = line[:1] in (" ", "\t")
        pending.extend(words)
        if depth == 0 and pending:
            yield blank_owner, pending
            pending = []
    if pending:
        yield blank_owner, pending


class _ZoneAuthority(authority.FileAuthority):
    """twisted.names' record search logic over a :class:`Zone`."""

    def loadFile(self, filename: Any) -> None:
        zone = cast(Zone, filename)
        cast(Any, self).soa, cast(Any, self).records = zone.twisted_records()


class _Factory(server.DNSServerFactory):
    """The authorities, plus names answered SERVFAIL or never answered."""

    def __init__(
        self, authorities: list[Any], servfail: frozenset[bytes], silent: frozenset[bytes]
    ) -> None:
        super().__init__(authorities=authorities)
        self.authorities = authorities
        self.servfail = servfail
        self.silent = silent

    def handleQuery(self, message: Any, protocol: Any, address: Any) -> Any:
        name = message.queries[0].name.name.lower().rstrip(b".")
        if name in self.silent:
            return None
        if name in self.servfail:
            # Answered here rather than by a failing resolver: the factory
            # would log.err() that failure, which fails a trial test.
            response = self._responseFromMessage(message=message, rCode=dns.ESERVER)
            self.sendReply(protocol, response, address)
            return None
        return super().handleQuery(message, protocol, address)

    def gotResolverError(self, failure: Any, protocol: Any, message: Any, address: Any) -> None:
        # NXDOMAIN from one of our zones: authoritative, with the zone's SOA in
        # the authority section for negative caching (RFC 2308 2.1, 3).
        if failure.check(dns.AuthoritativeDomainError):
            name = message.queries[0].name.name.lower().rstrip(b".")
            for auth in sorted(self.authorities, key=lambda a: -len(a.soa[0])):
                apex, soa = auth.soa
                if dns._isSubdomainOf(name, apex):
                    header = dns.RRHeader(apex, dns.SOA, dns.IN, soa.ttl, soa, auth=True)
                    response = self._responseFromMessage(
                        message=message, rCode=dns.ENAME, authority=[header]
                    )
                    response.auth = True
                    self.sendReply(protocol, response, address)
                    return
        super().gotResolverError(failure, protocol, message, address)


def _names(names: Iterable[str]) -> frozenset[bytes]:
    return frozenset(n.rstrip(".").lower().encode("idna") for n in names)


class DNSTestServer:
    """An authoritative server for ``zones`` (:class:`Zone` or zone-file text),
    UDP and TCP on the same port of ``host``."""

    def __init__(
        self,
        zones: Iterable[Zone | str],
        *,
        servfail: Iterable[str] = (),
        silent: Iterable[str] = (),
    ) -> None:
        self.zones = [z if isinstance(z, Zone) else Zone.from_text(z) for z in zones]
        self.factory = _Factory(
            [_ZoneAuthority(z) for z in self.zones], _names(servfail), _names(silent)
        )
        self.factory.noisy = False
        self.ports: list[IListeningPort] = []
        self.host = LOOPBACK
        self.port = 0

    def start(self, reactor: Any, host: str = LOOPBACK, port: int = 0) -> tuple[str, int]:
        """Listen on ``host``: UDP on ``port`` (0: a free one), then TCP on the
        same port number (RFC 7766: clients retry truncated answers over TCP).
        Returns ``(host, port)``."""
        for _attempt in range(20):
            udp = reactor.listenUDP(port, dns.DNSDatagramProtocol(self.factory), interface=host)
            number = udp.getHost().port
            try:
                tcp = reactor.listenTCP(number, self.factory, interface=host)
            except Exception:
                udp.stopListening()
                if port:
                    raise
                continue
            self.ports = [udp, tcp]
            self.host, self.port = host, number
            return host, number
        raise RuntimeError("no port free for both UDP and TCP")

    def stop(self) -> Deferred[None]:
        """Stop listening (both ports); fires when they are closed."""
        ports, self.ports = self.ports, []
        for connection in list(self.factory.connections):  # open TCP sessions
            connection.transport.loseConnection()
        stopped = [defer.maybeDeferred(p.stopListening) for p in ports]
        return defer.gatherResults(stopped).addCallback(lambda _: None)


class _Blackhole(protocol.DatagramProtocol):
    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        pass  # never answer


def start_blackhole(reactor: Any, host: str = LOOPBACK) -> tuple[IListeningPort, int]:
    """A UDP port that swallows every query: a DNS server that never answers.
    Returns the listening port (stop it with ``stopListening()``) and its
    number."""
    port = reactor.listenUDP(0, _Blackhole(), interface=host)
    return port, int(port.getHost().port)


# ---------------------------------------------------------------------------
# Outside the test's reactor: a thread with a private reactor, or a process.


@contextlib.contextmanager
def run_in_thread(
    zones: Iterable[Zone | str],
    *,
    servfail: Iterable[str] = (),
    silent: Iterable[str] = (),
    host: str = LOOPBACK,
) -> Iterator[tuple[str, int]]:
    """Serve ``zones`` from a thread running a private reactor (the global
    reactor is left alone, so trial tests in the same process are not
    disturbed). Yields ``(host, port)``; stops the thread on exit."""
    from twisted.internet.selectreactor import SelectReactor

    reactor = SelectReactor()
    dns_server = DNSTestServer(zones, servfail=servfail, silent=silent)
    address = dns_server.start(reactor, host)
    thread = threading.Thread(
        target=reactor.run,
        kwargs={"installSignalHandlers": False},
        name="dnszone",
        daemon=True,
    )
    thread.start()
    try:
        yield address
    finally:

        def shutdown() -> None:
            dns_server.stop().addBoth(lambda _: reactor.stop())

        reactor.callFromThread(shutdown)
        thread.join(10)


@contextlib.contextmanager
def in_subprocess(
    zones: Iterable[Zone | str], *, host: str = LOOPBACK
) -> Iterator[tuple[str, int]]:
    """Serve ``zones`` from ``python -m tests.dnszone`` in a child process.
    Yields ``(host, port)``; terminates the process on exit."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="dnszone-") as tmp:
        files = []
        for i, z in enumerate(zones):
            zone = z if isinstance(z, Zone) else Zone.from_text(z)
            path = Path(tmp) / f"{i}-{zone.origin or 'root'}.zone"
            path.write_text(zone.to_text(), encoding="utf-8")
            files.append(str(path))
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.dnszone", "--host", host, *files],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().split()
            if len(line) != 2:
                raise RuntimeError(f"tests.dnszone did not start (exit code {proc.poll()})")
            yield line[0], int(line[1])
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.dnszone",
        description="Serve zone files from an authoritative DNS server (UDP and TCP); "
        "print 'HOST PORT' once listening.",
    )
    parser.add_argument("zonefiles", nargs="+", type=Path)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--servfail", action="append", default=[], metavar="NAME")
    parser.add_argument("--silent", action="append", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    zones = []
    for path in args.zonefiles:
        text = path.read_text(encoding="utf-8")
        # Without $ORIGIN the file name is the origin, as in BIND.
        zones.append(Zone.from_text(text, None if "$ORIGIN" in text.upper() else path.name))
    from twisted.internet import reactor

    dns_server = DNSTestServer(zones, servfail=args.servfail, silent=args.silent)
    host, port = dns_server.start(reactor, args.host, args.port)
    print(host, port, flush=True)
    cast(Any, reactor).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
