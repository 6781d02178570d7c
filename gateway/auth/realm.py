"""One twisted.cred realm for SMTP AUTH, POP3 and IMAP.

:func:`build_portal` is the single place that wires password checking
(:class:`gateway.auth.checker.PasswordFileChecker`, and
:class:`gateway.auth.apop.APOPChecker` for POP3 APOP) to the avatar every
protocol gets: an :class:`~gateway.interfaces.IMailUser` naming the user's
canonical address and Maildir.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from zope.interface import Interface, implementer

from gateway.auth.apop import APOPChecker
from gateway.auth.checker import PasswordFileChecker
from gateway.envelope import Address
from gateway.interfaces import IMailUser, IUserDirectory
from gateway.store.maildir import maildir_path

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorThreads
    from twisted.python.threadpool import ThreadPool

__all__ = ["MailRealm", "MailUser", "build_portal"]


@implementer(IMailUser)
@dataclass(frozen=True, slots=True)
class MailUser:
    """The avatar of a logged-in local user."""

    address: Address
    maildir: Path


def _logout() -> None:
    """Nothing to release: avatars hold no resources."""


@implementer(IRealm)
class MailRealm:
    """Gives each authenticated user an :class:`IMailUser` avatar."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir

    def requestAvatar(
        self, avatarId: bytes | tuple[()], mind: object, *interfaces: type[Interface]
    ) -> tuple[type[Interface], object, Callable[[], None]]:
        """``avatarId`` is the canonical address in UTF-8 (see the checker)."""
        if IMailUser not in interfaces:
            raise NotImplementedError("MailRealm only provides IMailUser")
        if not isinstance(avatarId, bytes):
            raise UnauthorizedLogin("anonymous login is not allowed")
        address = Address.parse(avatarId.decode("utf-8"))
        try:
            maildir = maildir_path(self.mail_dir, address)
        except ValueError as e:
            raise UnauthorizedLogin(str(e)) from None
        return IMailUser, MailUser(address, maildir), _logout


def build_portal(
    users: IUserDirectory,
    mail_dir: Path,
    reactor: IReactorThreads | None = None,
    pool: ThreadPool | None = None,
) -> Portal:
    """The portal every protocol logs in through: username + password
    (:class:`IUsernamePassword`), and POP3 APOP digests
    (:class:`IUsernameHashedPassword`, cleartext-stored passwords only)."""
    checkers = [PasswordFileChecker(users, reactor, pool), APOPChecker(users)]
    return Portal(MailRealm(mail_dir), checkers)
