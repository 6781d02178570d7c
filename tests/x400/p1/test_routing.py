"""Which recipient goes to which X.400 peer (or_space), over the shipped
Appendix F tables (conf/x400), and through the bus router."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.bus.router import RouteKind, Router
from gateway.config import X400Peer
from gateway.envelope import Address
from gateway.errors import GatewayError
from gateway.store.aliases import AliasFile
from gateway.store.users import UserFile
from gateway.x400.orname import parse_std_or
from gateway.x400.p1.routing import PeerRoutes, hierarchy_key
from tests.x400.p1.support import GW_A

A = Address.parse

LAB = X400Peer("lab", "mta.lab", "p", "q", host="lab.test", or_space=("/PRMD=B/ADMD= /C=GB/",))
SMITHS = X400Peer(
    "smiths",
    "mta.smiths",
    "p",
    "q",
    host="smiths.test",
    or_space=("/O=Smiths/PRMD=B/ADMD= /C=GB/",),
)
ACUK = X400Peer(
    "acuk", "mta.acuk", "p", "q", host="acuk.test", or_space=("/PRMD=UK.AC/ADMD=Gold 400/C=GB/",)
)
INBOUND_ONLY = X400Peer("in", "mta.in", "p", "q", or_space=())
# the gateway's own O/R address lies in this peer's space
OWN = X400Peer("own", "mta.own", "p", "q", host="own.test", or_space=("/PRMD=A/ADMD= /C=GB/",))

ROUTES = PeerRoutes(GW_A, [LAB, SMITHS, ACUK, INBOUND_ONLY, OWN])


@pytest.mark.parametrize(
    ("address", "peer"),
    [
        ('"/S=Jones/O=Lab/PRMD=B/ADMD= /C=GB/"@a.test', "lab"),
        ('"/S=Jones/O=smiths/PRMD=b/ADMD=/C=gb/"@a.test', "smiths"),  # longest prefix, any case
        ('"/S=Jones/O=Smiths/PRMD=B/ADMD= /C=GB/"@A.TEST', "smiths"),
        ("J.Smith@cs.ucl.ac.uk", "acuk"),  # an MCGAM maps the domain into the space
        ("J.Smith@ac.uk", "acuk"),
        ('"/S=Jones/O=GwA/PRMD=A/ADMD= /C=GB/"@a.test', "own"),  # Stage I, not the RFC-822 DDA
    ],
)
def test_peer_for(address: str, peer: str) -> None:
    found = ROUTES.peer_for(A(address))
    assert found is not None and found.name == peer
    assert ROUTES(A(address)) is True


@pytest.mark.parametrize(
    "address",
    [
        "bob@example.org",  # Stage II in the gateway's own context: Internet mail
        "bob@xerox.com",  # an MCGAM into a space no peer serves: Internet mail
    ],
)
def test_internet_addresses_stay_internet(address: str) -> None:
    assert ROUTES.route(A(address)) is None
    assert ROUTES(A(address)) is False


def test_gateway_domain_without_a_peer_is_refused() -> None:
    error = ROUTES(A('"/S=Jones/PRMD=Far/ADMD= /C=DE/"@a.test'))
    assert isinstance(error, GatewayError)
    assert (error.code, error.status) == (550, "5.4.4")
    error = ROUTES(A("bob@a.test"))  # no O/R address in the local part
    assert isinstance(error, GatewayError)
    assert (error.code, error.status) == (550, "5.1.3")


def test_peer_without_host_gets_no_mail() -> None:
    routes = PeerRoutes(GW_A, [replace(LAB, host="", or_space=LAB.or_space)])
    assert routes.peer_for(A('"/S=Jones/O=Lab/PRMD=B/ADMD= /C=GB/"@a.test')) is None


def test_hierarchy_key_folds_case_space_and_empty_admd() -> None:
    assert hierarchy_key(parse_std_or("/O=Big  Co/ADMD=/C=gb/")) == ("gb", " ", None, "big co")


@pytest.fixture
def router(tmp_path: Path) -> Router:
    users = tmp_path / "users"
    users.write_text("alice@a.test:{PLAIN}x\nalice@example.test:{PLAIN}x\n")
    aliases = tmp_path / "aliases"
    aliases.write_text('smith@example.test  "/S=Smith/O=Lab/PRMD=B/ADMD=/C=GB/"@a.test\n')
    return Router(("example.test",), UserFile(users), AliasFile(aliases), x400=ROUTES)


def test_router_sends_x400_recipients_to_the_channel(router: Router) -> None:
    (route,) = router.resolve(A('"/S=Jones/O=Lab/PRMD=B/ADMD= /C=GB/"@a.test')).routes
    assert route.kind is RouteKind.X400
    assert router.is_x400(route.address)
    (route,) = router.resolve(A("smith@example.test")).routes  # through an alias
    assert route.kind is RouteKind.X400


def test_router_keeps_internet_and_local_mail(router: Router) -> None:
    assert router.resolve(A("bob@example.org")).routes[0].kind is RouteKind.SMTP
    assert router.resolve(A("alice@example.test")).routes[0].kind is RouteKind.LOCAL
    assert not router.is_x400(A("bob@example.org"))


def test_router_refuses_unroutable_x400(router: Router) -> None:
    (route,) = router.resolve(A('"/S=Jones/PRMD=Far/ADMD= /C=DE/"@a.test')).routes
    assert route.kind is RouteKind.REJECT
    assert route.error is not None and route.error.status == "5.4.4"


def test_local_domains_come_first(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("alice@a.test:{PLAIN}x\n")
    aliases = tmp_path / "aliases"
    aliases.write_text("")
    router = Router(("a.test",), UserFile(users), AliasFile(aliases), x400=ROUTES)
    (route,) = router.resolve(A('"/S=Jones/O=Lab/PRMD=B/ADMD= /C=GB/"@a.test')).routes
    assert route.kind is RouteKind.REJECT and route.error is not None
    assert route.error.status == "5.1.1"
    assert router.resolve(A("alice@a.test")).routes[0].kind is RouteKind.LOCAL


def test_smtp_takes_x400_recipients_from_anyone(router: Router) -> None:
    """An MX client (not authenticated) may send to the X.400 side as to a
    local domain; unroutable X.400 addresses are refused at RCPT with their
    own status, not as relaying; other domains stay relay-only."""
    from gateway.smtp import codes
    from gateway.smtp.policy import Client, check_recipient

    stranger = Client(None, False)
    assert router.is_ours(A('"/S=Jones/O=Lab/PRMD=B/ADMD= /C=GB/"@a.test'))
    assert (
        check_recipient(router, A('"/S=Jones/O=Lab/PRMD=B/ADMD= /C=GB/"@a.test'), stranger) is None
    )
    assert check_recipient(router, A("J.Smith@cs.ucl.ac.uk"), stranger) is None  # MCGAM domain
    refused = check_recipient(router, A('"/S=Jones/PRMD=Far/ADMD= /C=DE/"@a.test'), stranger)
    assert refused is not None and "5.4.4" in str(refused)
    assert check_recipient(router, A("bob@example.org"), stranger) == codes.RELAY_DENIED
