"""The APOP checker (RFC 1939 7) and its place in the shared portal."""

from __future__ import annotations

from pathlib import Path

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernameHashedPassword
from twisted.cred.error import UnauthorizedLogin
from zope.interface.verify import verifyObject

from gateway.auth.apop import APOPChecker, APOPCredentials, apop_digest
from gateway.auth.passwords import cleartext, hash_password, verify_password
from gateway.auth.realm import build_portal
from gateway.interfaces import IMailUser
from gateway.store.users import UserFile

STAMP = b"<1896.697170952@dbc.mtview.ca.us>"


def users(tmp: Path) -> UserFile:
    (tmp / "users").write_text(
        "mrose@example.test:{PLAIN}tanstaaf\n"
        "clear@example.test:{CLEAR}tanstaaf\n"
        "hex@example.test:{CLEARTEXT.HEX}" + b"tanstaaf".hex() + "\n"
        "hashed@example.test:" + hash_password("tanstaaf", "SSHA256") + "\n"
    )
    return UserFile(tmp / "users")


def test_rfc1939_example_digest() -> None:
    assert apop_digest(STAMP, b"tanstaaf") == b"c4c9334bac560ecc979e58001b3e22fb"
    credentials = APOPCredentials(STAMP, b"mrose", b"C4C9334BAC560ECC979E58001B3E22FB")
    assert verifyObject(IUsernameHashedPassword, credentials)
    assert credentials.checkPassword(b"tanstaaf")
    assert not credentials.checkPassword(b"tanstaafl")


def test_cleartext_schemes() -> None:
    assert cleartext("{PLAIN}x") == b"x"
    assert cleartext("{CLEAR}x") == b"x"
    assert cleartext("{cleartext.hex}78") == b"x"
    assert cleartext(hash_password("x", "SSHA256")) is None
    assert verify_password("{CLEAR}x", "x")


def check(checker: APOPChecker, user: bytes, password: bytes) -> object:
    d = checker.requestAvatarId(APOPCredentials(STAMP, user, apop_digest(STAMP, password)))
    results: list[object] = []
    d.addBoth(results.append)
    return results[0]


def test_checker(tmp_path: Path) -> None:
    checker = APOPChecker(users(tmp_path))
    assert verifyObject(ICredentialsChecker, checker)
    for user in (b"mrose@example.test", b"clear@example.test", b"HEX@example.test"):
        assert check(checker, user, b"tanstaaf") == user.lower()
    for user, password in (
        (b"mrose@example.test", b"wrong"),
        (b"hashed@example.test", b"tanstaaf"),  # not cleartext-recoverable
        (b"nobody@example.test", b"tanstaaf"),
        (b"\xff", b"tanstaaf"),
    ):
        result = check(checker, user, password)
        assert getattr(result, "type", None) is UnauthorizedLogin, user


def test_portal_accepts_apop(tmp_path: Path) -> None:
    portal = build_portal(users(tmp_path), tmp_path / "mail")
    d = portal.login(
        APOPCredentials(STAMP, b"mrose@example.test", apop_digest(STAMP, b"tanstaaf")),
        None,
        IMailUser,
    )
    results: list[object] = []
    d.addBoth(results.append)
    interface, avatar, _logout = results[0]  # type: ignore[misc]
    assert interface is IMailUser
    assert str(avatar.address) == "mrose@example.test"
