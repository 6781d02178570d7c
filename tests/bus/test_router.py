"""Routing over real users and aliases files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import errors
from gateway.bus.router import RouteKind, Router
from gateway.envelope import Address
from gateway.store.aliases import AliasFile
from gateway.store.users import UserFile

A = Address.parse


@pytest.fixture
def router(tmp_path: Path) -> Router:
    users = tmp_path / "users"
    users.write_text(
        "alice@example.test:{PLAIN}x\nBob@example.test:{PLAIN}x\ncarol@example.test:{PLAIN}x\n"
    )
    aliases = tmp_path / "aliases"
    aliases.write_text(
        "postmaster@example.test  alice@example.test\n"
        "team@example.test  alice@example.test, bob@example.test, friend@remote.test\n"
        "all@example.test  team@example.test, carol@example.test, alice@example.test\n"
        "x@example.test  y@example.test\n"
        "y@example.test  x@example.test\n"
        "carol@example.test  carol@example.test, archive@example.test\n"
        "archive@example.test  alice@example.test\n"
        "l1@example.test l2@example.test\nl2@example.test l3@example.test\n"
        "l3@example.test l4@example.test\nl4@example.test alice@example.test\n"
    )
    return Router(("example.test",), UserFile(users), AliasFile(aliases), max_alias_depth=3)


def test_local_user_case_insensitive_gets_canonical_address(router: Router) -> None:
    (route,) = router.resolve(A("BOB@Example.TEST")).routes
    assert route.kind is RouteKind.LOCAL
    assert str(route.address) == "Bob@example.test"


def test_unknown_local_user_is_5_1_1(router: Router) -> None:
    (route,) = router.resolve(A("nobody@example.test")).routes
    assert route.kind is RouteKind.REJECT and route.error == errors.UNKNOWN_USER


def test_remote_goes_to_smtp(router: Router) -> None:
    resolution = router.resolve(A("someone@remote.test"))
    assert not resolution.expanded
    assert resolution.routes[0].kind is RouteKind.SMTP


def test_nested_aliases_expand_without_duplicates(router: Router) -> None:
    resolution = router.resolve(A("all@example.test"))
    assert resolution.expanded
    got = {(str(r.address).lower(), r.kind) for r in resolution.routes}
    assert got == {
        ("alice@example.test", RouteKind.LOCAL),
        ("bob@example.test", RouteKind.LOCAL),
        ("friend@remote.test", RouteKind.SMTP),
        ("carol@example.test", RouteKind.LOCAL),
    }


def test_three_levels_are_within_a_depth_of_three(router: Router) -> None:
    (route,) = router.resolve(A("l2@example.test")).routes
    assert route.kind is RouteKind.LOCAL and str(route.address) == "alice@example.test"


def test_alias_to_itself_delivers_to_the_user(router: Router) -> None:
    routes = router.resolve(A("carol@example.test")).routes
    assert {str(r.address) for r in routes} == {"carol@example.test", "alice@example.test"}
    assert all(r.kind is RouteKind.LOCAL for r in routes)


def test_loop_is_detected(router: Router) -> None:
    (route,) = router.resolve(A("x@example.test")).routes
    assert route.kind is RouteKind.REJECT and route.error == errors.ALIAS_LOOP


def test_depth_limit(router: Router) -> None:
    (route,) = router.resolve(A("l1@example.test")).routes
    assert route.kind is RouteKind.REJECT and route.error == errors.ALIAS_TOO_DEEP


def test_user_and_alias_added_a_moment_ago_are_found(tmp_path: Path) -> None:
    """ "Unknown user" is permanent, so it is only said after a fresh look."""
    users = tmp_path / "users"
    aliases = tmp_path / "aliases"
    clock = [0.0]
    router = Router(
        ("example.test",),
        UserFile(users, now=lambda: clock[0], interval=60),
        AliasFile(aliases, now=lambda: clock[0], interval=60),
    )
    assert router.resolve(A("new@example.test")).routes[0].error == errors.UNKNOWN_USER
    users.write_text("new@example.test:{PLAIN}x\n")
    aliases.write_text("staff@example.test new@example.test\n")
    (route,) = router.resolve(A("new@example.test")).routes
    assert route.kind is RouteKind.LOCAL
    (route,) = router.resolve(A("staff@example.test")).routes
    assert route.kind is RouteKind.LOCAL and str(route.address) == "new@example.test"
