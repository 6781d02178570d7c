"""Dovecot's ``dovecot-uidlist``: read, so a Dovecot Maildir keeps its UIDs.

When a folder has no index of ours yet (a Maildir taken over from Dovecot)
or ours is damaged, the UIDVALIDITY and UIDs Dovecot assigned are reused:
IMAP clients keep their caches and POP3 UIDLs (``%08Xu%08Xv``) stay the
same. Format (Dovecot's maildir-uidlist.c), version 3::

    3 V<uidvalidity> N<uidnext> G<guid> ...
    <uid> [<ext fields>] :<file name>

and version 1 (``1 <uidvalidity> <uidnext>``, then ``<uid> <file name>``).
Pure: text in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.store.filenames import BadName, parse_name

UIDLIST_FILE = "dovecot-uidlist"


@dataclass(frozen=True, slots=True)
class UidList:
    uidvalidity: int
    uidnext: int
    uids: dict[str, int] = field(default_factory=dict)  # file base -> UID


def parse_uidlist(text: str) -> UidList | None:
    """The UIDs in ``text``, or None if it is not a usable uidlist."""
    lines = text.splitlines()
    if not lines:
        return None
    head = lines[0].split()
    if not head:
        return None
    uidvalidity = uidnext = 0
    if head[0] == "1" and len(head) >= 3 and head[1].isdigit() and head[2].isdigit():
        uidvalidity, uidnext = int(head[1]), int(head[2])
    elif head[0] in ("2", "3"):
        for item in head[1:]:
            if item[:1] == "V" and item[1:].isdigit():
                uidvalidity = int(item[1:])
            elif item[:1] == "N" and item[1:].isdigit():
                uidnext = int(item[1:])
    else:
        return None
    if not uidvalidity:
        return None
    uids: dict[str, int] = {}
    for line in lines[1:]:
        number, _, rest = line.partition(" ")
        if not number.isdigit():
            continue
        if head[0] == "1":
            name = rest.strip()
        else:
            colon = rest.find(":")
            name = rest[colon + 1 :] if colon >= 0 else rest.split(" ")[-1]
        try:
            base = parse_name(name).base
        except BadName:
            continue
        uid = int(number)
        if uid > 0:
            uids[base] = uid
            uidnext = max(uidnext, uid + 1)
    return UidList(uidvalidity, max(uidnext, 1), uids)
