"""The in-memory store the IMAP tests use implements the store's interfaces."""

from __future__ import annotations

from zope.interface.verify import verifyObject

from gateway.interfaces import IMailAccount, IMailAccountOpener, ISelectedFolder
from tests.imap.fake_store import FakeAccount, FakeOpener, FakeSelected, FakeStore


def test_fakes_provide_the_interfaces() -> None:
    store = FakeStore()
    store.deliver("alice@example.test", b"Subject: x\r\n\r\ny\r\n")
    account = FakeAccount(store, "alice@example.test")
    selected = FakeSelected(account, store.folders("alice@example.test")["INBOX"], False)
    assert verifyObject(IMailAccountOpener, FakeOpener(store))
    assert verifyObject(IMailAccount, account)
    assert verifyObject(ISelectedFolder, selected)
