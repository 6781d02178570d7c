"""CREATE / DELETE / RENAME / SUBSCRIBE / UNSUBSCRIBE / LIST / LSUB / STATUS /
NAMESPACE (RFC 3501 6.3, RFC 2342, RFC 5258, RFC 6154, RFC 3348) and modified
UTF-7 names (RFC 3501 5.1.3)."""

from __future__ import annotations

from pathlib import Path

from tests.imap.imap_harness import ALICE, Client, Server


def logged_in(tmp_path: Path) -> tuple[Server, Client]:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    return server, c


def test_list(tmp_path: Path) -> None:
    _, c = logged_in(tmp_path)
    c.ok("CREATE Work.Projects")
    assert c.ok('LIST "" "*"') == [
        '* LIST (\\HasNoChildren) "." "INBOX"',
        '* LIST (\\HasNoChildren \\Sent) "." "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "." "Trash"',
        '* LIST (\\HasChildren) "." "Work"',
        '* LIST (\\HasNoChildren) "." "Work.Projects"',
    ]
    assert c.ok('LIST "" %') == [
        '* LIST (\\HasNoChildren) "." "INBOX"',
        '* LIST (\\HasNoChildren \\Sent) "." "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "." "Trash"',
        '* LIST (\\HasChildren) "." "Work"',
    ]
    assert c.ok("LIST Work. %") == ['* LIST (\\HasNoChildren) "." "Work.Projects"']
    assert c.ok('LIST "" inbox') == ['* LIST (\\HasNoChildren) "." "INBOX"']
    assert c.ok('LIST "" ""') == ['* LIST (\\Noselect) "." ""']


def test_list_extended(tmp_path: Path) -> None:
    _, c = logged_in(tmp_path)
    c.ok("CREATE A.B")
    c.ok("SUBSCRIBE A.B")
    assert c.ok('LIST (SPECIAL-USE) "" "*"') == [
        '* LIST (\\HasNoChildren \\Sent) "." "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "." "Trash"',
    ]
    assert c.ok('LIST "" ("INBOX" "A") RETURN (SUBSCRIBED CHILDREN)') == [
        '* LIST (\\HasNoChildren \\Subscribed) "." "INBOX"',
        '* LIST (\\HasChildren) "." "A"',
    ]
    assert c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == [
        '* LIST (\\HasNoChildren \\Subscribed) "." "INBOX"',
        '* LIST (\\HasChildren) "." "A" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed \\Sent) "." "Sent"',
        '* LIST (\\HasNoChildren \\Subscribed \\Trash) "." "Trash"',
    ]


def test_lsub_and_subscriptions(tmp_path: Path) -> None:
    _, c = logged_in(tmp_path)
    c.ok("CREATE A.B")
    c.ok("SUBSCRIBE A.B")
    c.ok("UNSUBSCRIBE Trash")
    assert c.ok('LSUB "" "*"') == [
        '* LSUB () "." "INBOX"',
        '* LSUB () "." "A.B"',
        '* LSUB () "." "Sent"',
    ]
    # RFC 3501 6.3.9: an unsubscribed parent matched by % shows as \Noselect
    assert c.ok('LSUB "" "A"') == []
    assert '* LSUB (\\Noselect) "." "A"' in c.ok('LSUB "" "%"')
    assert c.no("SUBSCRIBE Nosuch").tagged.startswith("NO [NONEXISTENT]")


def test_create_delete_rename(tmp_path: Path) -> None:
    server, c = logged_in(tmp_path)
    folders = server.store.folders(ALICE)
    c.ok("CREATE Projects.")
    assert "Projects" in folders
    assert c.no("CREATE Projects").tagged.startswith("NO [ALREADYEXISTS]")
    assert c.no("CREATE inbox").tagged.startswith("NO [ALREADYEXISTS]")
    assert c.no("CREATE a..b").tagged.startswith("NO [CANNOT]")
    c.ok("RENAME Projects Archive")
    assert "Archive" in folders and "Projects" not in folders
    assert c.no("RENAME Nosuch X").tagged.startswith("NO [NONEXISTENT]")
    # RFC 3501 6.3.5: renaming INBOX moves its messages, INBOX stays (empty)
    c.ok("RENAME INBOX Old")
    assert len(folders["Old"].messages) == 3 and folders["INBOX"].messages == []
    assert c.no("DELETE INBOX").tagged.startswith("NO [CANNOT]")
    c.ok("DELETE Archive")
    assert "Archive" not in folders
    assert c.no("DELETE Archive").tagged.startswith("NO [NONEXISTENT]")


def test_modified_utf7_names(tmp_path: Path) -> None:
    server, c = logged_in(tmp_path)
    c.ok("CREATE Entw&APw-rfe")
    assert "Entwürfe" in server.store.folders(ALICE)
    assert '* LIST (\\HasNoChildren) "." "Entw&APw-rfe"' in c.ok('LIST "" "*"')
    for bad in ("&Jjo", "&AGE-", "Entw\xfcrfe", "&-&AAA-"):
        reply = c.no(("CREATE " + '"' + bad + '"').encode("utf-8"))
        assert reply.tagged.startswith("NO [CANNOT]"), bad


def test_status(tmp_path: Path) -> None:
    server, c = logged_in(tmp_path)
    inbox = server.store.folders(ALICE)["INBOX"]
    inbox.messages[0].flags = frozenset({"\\Seen"})
    lines = c.ok("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")
    assert lines == [
        f'* STATUS "INBOX" (MESSAGES 3 RECENT 3 UIDNEXT 4 '
        f"UIDVALIDITY {inbox.uidvalidity} UNSEEN 2)"
    ]
    lines = c.ok("STATUS Sent (HIGHESTMODSEQ)")
    assert lines[-1] == '* STATUS "Sent" (HIGHESTMODSEQ 1)'
    assert c.no("STATUS Nosuch (MESSAGES)").tagged.startswith("NO [NONEXISTENT]")
    assert c.bad("STATUS INBOX ()").status == "BAD"


def test_namespace_and_store_errors(tmp_path: Path) -> None:
    server, c = logged_in(tmp_path)
    assert c.ok("NAMESPACE") == ['* NAMESPACE (("" ".")) NIL NIL']
    server.store.broken = True
    assert c.command('LIST "" *').tagged == "NO [SERVERBUG] Internal error, try again later"
