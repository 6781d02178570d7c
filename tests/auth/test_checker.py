"""The cred checker, realm and portal shared by SMTP AUTH, POP3 and IMAP."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, cast

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm
from twisted.internet import reactor as global_reactor
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorThreads
from twisted.python.threadpool import ThreadPool
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import Interface
from zope.interface.verify import verifyObject

import gateway.auth.checker as checker_module
from gateway.auth.checker import DUMMY_HASH, PasswordFileChecker
from gateway.auth.passwords import hash_password, verify_password
from gateway.auth.realm import MailRealm, MailUser, build_portal
from gateway.envelope import Address
from gateway.interfaces import IMailUser
from gateway.store.maildir import maildir_path
from gateway.store.users import UserFile
from tests.syncthreads import SyncPool, SyncReactor

MAIL_DIR = Path("/var/mail-test")


def write_users(tmp: Path) -> UserFile:
    path = tmp / "users"
    path.write_text(
        "Alice@example.test:" + hash_password("wonderland", rounds=4) + "\n"
        "bob@example.test:{SSHA512}" + hash_password("builder", "SSHA512")[9:] + "\n"
        "carol@example.test:{MD5-CRYPT}$1$x$y\n"
        "dave@example.test:\n"
    )
    return UserFile(path)


class TempDirMixin:
    def tmpdir(self: Any) -> Path:
        """A fresh directory, removed after the test (trial's mktemp writes to the cwd)."""
        path = Path(tempfile.mkdtemp(prefix="mailgateway-auth-"))
        self.addCleanup(shutil.rmtree, path, ignore_errors=True)
        return path


class SyncPortalTests(TempDirMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.users = write_users(self.tmpdir())
        self.portal = build_portal(
            self.users,
            MAIL_DIR,
            reactor=cast(IReactorThreads, SyncReactor()),
            pool=cast(ThreadPool, SyncPool()),
        )

    def login(self, user: bytes, password: bytes) -> Deferred[Any]:
        return self.portal.login(UsernamePassword(user, password), None, IMailUser)

    def test_interfaces(self) -> None:
        checker = PasswordFileChecker(self.users)
        self.assertTrue(verifyObject(ICredentialsChecker, checker))
        self.assertTrue(verifyObject(IRealm, MailRealm(MAIL_DIR)))
        user = MailUser(Address.parse("a@example.test"), MAIL_DIR)
        self.assertTrue(verifyObject(IMailUser, user))

    def test_right_password(self) -> None:
        iface, avatar, logout = self.successResultOf(
            self.login(b"alice@example.test", b"wonderland")
        )
        self.assertIs(iface, IMailUser)
        self.assertEqual(avatar.address, Address("Alice", "example.test"))  # canonical
        self.assertEqual(avatar.maildir, MAIL_DIR / "example.test" / "alice")
        logout()

    def test_case_insensitive_user_and_other_scheme(self) -> None:
        _, avatar, _ = self.successResultOf(self.login(b"BOB@Example.TEST", b"builder"))
        self.assertEqual(str(avatar.address), "bob@example.test")

    def test_avatar_id_is_canonical_address_bytes(self) -> None:
        checker = PasswordFileChecker(
            self.users, cast(IReactorThreads, SyncReactor()), cast(ThreadPool, SyncPool())
        )
        d = checker.requestAvatarId(UsernamePassword(b"ALICE@example.test", b"wonderland"))
        self.assertEqual(self.successResultOf(d), b"Alice@example.test")

    def test_wrong_password(self) -> None:
        self.failureResultOf(self.login(b"alice@example.test", b"wrong"), UnauthorizedLogin)

    def test_unknown_and_malformed_users(self) -> None:
        for name in (b"nobody@example.test", b"alice", b"\xff@example.test", b""):
            self.failureResultOf(self.login(name, b"wonderland"), UnauthorizedLogin)

    def test_unsupported_scheme_and_empty_password_refused(self) -> None:
        self.failureResultOf(self.login(b"carol@example.test", b"x"), UnauthorizedLogin)
        self.failureResultOf(self.login(b"dave@example.test", b""), UnauthorizedLogin)
        self.flushLoggedErrors()

    def test_unknown_user_costs_one_bcrypt(self) -> None:
        calls: list[str] = []

        def spy(stored: str, password: str | bytes) -> bool:
            calls.append(stored)
            return verify_password(stored, password)

        self.patch(checker_module, "verify_password", spy)
        self.failureResultOf(self.login(b"nobody@example.test", b"x"), UnauthorizedLogin)
        self.assertEqual(calls, [DUMMY_HASH])

    def test_realm_refuses_other_interfaces_and_anonymous(self) -> None:
        realm = MailRealm(MAIL_DIR)
        self.assertRaises(
            NotImplementedError, realm.requestAvatar, b"a@example.test", None, Interface
        )
        self.assertRaises(UnauthorizedLogin, realm.requestAvatar, (), None, IMailUser)

    def test_maildir_path_unsafe_names(self) -> None:
        self.assertEqual(
            maildir_path(MAIL_DIR, Address.parse("Bob.Smith@Example.test")),
            MAIL_DIR / "example.test" / "bob.smith",
        )
        for text in ('"../x"@example.test', "a/b@example.test", "a@[1.2.3/4]"):
            self.assertRaises(ValueError, maildir_path, MAIL_DIR, Address.parse(text))


class ThreadedPortalTests(TempDirMixin, TestCase):
    """With a real thread pool and the running reactor."""

    def setUp(self) -> None:
        self.pool = ThreadPool(minthreads=1, maxthreads=2, name="test-auth")
        self.pool.start()
        self.addCleanup(self.pool.stop)
        users = write_users(self.tmpdir())
        self.portal = build_portal(
            users, MAIL_DIR, reactor=cast(IReactorThreads, global_reactor), pool=self.pool
        )

    async def test_login(self) -> None:
        creds = UsernamePassword(b"alice@example.test", b"wonderland")
        _, avatar, _ = await self.portal.login(creds, None, IMailUser)
        self.assertEqual(str(avatar.address), "Alice@example.test")

    async def test_wrong_and_unknown(self) -> None:
        for name, pw in ((b"alice@example.test", b"nope"), (b"zed@example.test", b"nope")):
            d = self.portal.login(UsernamePassword(name, pw), None, IMailUser)
            with self.assertRaises(UnauthorizedLogin):
                await d
