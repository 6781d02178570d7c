from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.store.uidlist import parse_uidlist

# Written by Dovecot 2.3.19 (doveadm) for a Maildir with three messages.
DOVECOT_V3 = """3 V1732800000 N5 G4f1e0a2b3c4d5e6f708192a3b4c5d6e7
1 :1732800001.M1P10.host,S=100,W=103
2 W210 :1732800002.M2P10.host,S=200
4 :1732800004.M4P10.host,S=400,W=410
"""


def test_dovecot_version_3() -> None:
    parsed = parse_uidlist(DOVECOT_V3)
    assert parsed is not None
    assert (parsed.uidvalidity, parsed.uidnext) == (1732800000, 5)
    assert parsed.uids == {
        "1732800001.M1P10.host,S=100,W=103": 1,
        "1732800002.M2P10.host,S=200": 2,
        "1732800004.M4P10.host,S=400,W=410": 4,
    }


def test_version_1_and_uidnext_past_the_highest_uid() -> None:
    parsed = parse_uidlist("1 77 2\n1 a:2,S\n9 b\n")
    assert parsed is not None
    assert (parsed.uidvalidity, parsed.uidnext, parsed.uids) == (77, 10, {"a": 1, "b": 9})


def test_unusable_lists() -> None:
    assert parse_uidlist("") is None
    assert parse_uidlist("9 V1 N1\n") is None
    assert parse_uidlist("3 N5\n") is None  # no UIDVALIDITY


@given(st.text())
def test_any_text_gives_a_list_or_none(text: str) -> None:
    parsed = parse_uidlist(text)
    assert parsed is None or (parsed.uidvalidity > 0 and parsed.uidnext >= 1)
