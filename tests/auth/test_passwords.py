"""Dovecot password schemes: round trips, Dovecot-made hashes, errors."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.auth.passwords import (
    MalformedHash,
    UnsupportedScheme,
    hash_password,
    scheme_of,
    verify_password,
)

PASSWORD = "Tr0ub4dor&3"

# Made with Dovecot 2.3's `doveadm pw -s <SCHEME> -p 'Tr0ub4dor&3'` on the
# development machine (2024 toolchain image); kept verbatim.
DOVECOT_HASHES = [
    "{BLF-CRYPT}$2y$05$MAiUxbNLi62e47DAizkWiuaQ92XtnoUyESjEq5IOW0iUrtpk7WNoe",
    "{SSHA256}9Y1oHrJOkag/bGijKkurADDfTb3x5g4YCvn2ZIMNXw0FSok8",
    "{SSHA512}ruiLvNXZu8gDMl+wslXV6B1KNcdl4m18mBDE2qf3ciCM1516YTtGIzn9u6q5qD3YfUS+"
    "WQxpENFDHLcDJML5i+a4Foc=",
    "{SHA256}SEhuFRToQjRv9AWx5F9EBZroJhnyMG+Z0JQNyzhukfc=",
    "{SHA512}xyu2IccEDPS2R0BjqaeXJpDiUvNa2+fPr/Wx7iMW7+c4LnI9QeATor+8M8MAfFDFhH0hqInM6DhTbqxy"
    "eAjeQA==",
    "{SHA256.HEX}48486e1514e842346ff405b1e45f44059ae82619f2306f99d0940dcb386e91f7",
    "{PLAIN}Tr0ub4dor&3",
]


@pytest.mark.parametrize("stored", DOVECOT_HASHES, ids=lambda s: s.split("}")[0][1:])
def test_dovecot_fixture_hashes_verify(stored: str) -> None:
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "x")
    assert not verify_password(stored, "")


@pytest.mark.parametrize(
    "scheme", ["BLF-CRYPT", "SSHA256", "SSHA512", "SHA256", "SHA512", "PLAIN", "CLEARTEXT"]
)
def test_round_trip(scheme: str) -> None:
    stored = hash_password("s3cret pässword", scheme, rounds=4)
    assert stored.startswith("{" + scheme + "}")
    assert scheme_of(stored) == scheme
    assert verify_password(stored, "s3cret pässword")
    assert verify_password(stored, "s3cret pässword".encode())
    assert not verify_password(stored, "s3cret password")


def test_bcrypt_is_dovecot_style() -> None:
    stored = hash_password("x", rounds=5)
    assert stored.startswith("{BLF-CRYPT}$2y$05$")
    assert hash_password("x", rounds=5) != stored  # salted


def test_salted_hashes_differ() -> None:
    assert hash_password("x", "SSHA256") != hash_password("x", "SSHA256")


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_bcrypt_variants_and_unprefixed(prefix: str) -> None:
    body = DOVECOT_HASHES[0].removeprefix("{BLF-CRYPT}$2y$")
    assert verify_password("{BLF-CRYPT}" + prefix + body, PASSWORD)
    # No {SCHEME}: Dovecot's passwd-file default is CRYPT; $2... is bcrypt.
    assert scheme_of(prefix + body) == "BLF-CRYPT"
    assert verify_password(prefix + body, PASSWORD)
    assert verify_password("{CRYPT}" + prefix + body, PASSWORD)


def test_scheme_is_case_insensitive() -> None:
    assert verify_password("{sha256}SEhuFRToQjRv9AWx5F9EBZroJhnyMG+Z0JQNyzhukfc=", PASSWORD)
    assert scheme_of("{ssha512.b64}abc") == "SSHA512"


def test_long_password_uses_first_72_bytes_like_crypt_blowfish() -> None:
    stored = hash_password("a" * 100, rounds=4)
    assert verify_password(stored, "a" * 72)
    assert verify_password(stored, "a" * 80)


@pytest.mark.parametrize(
    ("stored", "scheme"),
    [
        ("{MD5-CRYPT}$1$abc$def", "MD5-CRYPT"),
        ("{SHA512-CRYPT}$6$salt$hash", "SHA512-CRYPT"),
        ("$6$salt$hash", "CRYPT"),
        ("{FOO.BAR}x", "FOO.BAR"),
    ],
)
def test_unsupported_scheme_names_it(stored: str, scheme: str) -> None:
    with pytest.raises(UnsupportedScheme, match=scheme.replace(".", r"\.")) as info:
        verify_password(stored, "x")
    assert info.value.scheme == scheme


def test_hash_unsupported_scheme() -> None:
    with pytest.raises(UnsupportedScheme, match="ARGON2ID"):
        hash_password("x", "ARGON2ID")


@pytest.mark.parametrize(
    "stored",
    ["{BLF-CRYPT}$2y$05$short", "{SHA256}not*base64", "{SHA256}AAAA", "{SSHA256}AAAA"],
)
def test_malformed_hash(stored: str) -> None:
    with pytest.raises(MalformedHash):
        verify_password(stored, "x")


def test_bad_rounds() -> None:
    with pytest.raises(ValueError, match="rounds"):
        hash_password("x", rounds=3)


@pytest.mark.skipif(shutil.which("doveadm") is None, reason="doveadm (Dovecot) not installed")
def test_live_doveadm_hash_verifies() -> None:
    out = subprocess.run(
        ["doveadm", "pw", "-s", "BLF-CRYPT", "-p", "live secret"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out.startswith("{BLF-CRYPT}$2")
    assert verify_password(out, "live secret")
    assert not verify_password(out, "live secreT")


@pytest.mark.skipif(shutil.which("doveadm") is None, reason="doveadm (Dovecot) not installed")
def test_live_doveadm_accepts_our_hash() -> None:
    # `doveadm pw -t HASH -p PASSWORD` verifies a hash with Dovecot's own code.
    for scheme in ("BLF-CRYPT", "SSHA512", "SHA256"):
        stored = hash_password("ours", scheme, rounds=4)
        ok = subprocess.run(["doveadm", "pw", "-t", stored, "-p", "ours"], capture_output=True)
        assert ok.returncode == 0, (scheme, ok.stderr)
        bad = subprocess.run(["doveadm", "pw", "-t", stored, "-p", "other"], capture_output=True)
        assert bad.returncode != 0, scheme


passwords = st.text(st.characters(blacklist_characters="\x00"), max_size=40)


@settings(max_examples=10, deadline=None)
@given(password=passwords)
def test_bcrypt_round_trip_property(password: str) -> None:
    stored = hash_password(password, "BLF-CRYPT", rounds=4)
    assert verify_password(stored, password)


@settings(max_examples=50, deadline=None)
@given(password=st.binary(max_size=64), scheme=st.sampled_from(["SSHA256", "SHA512"]))
def test_sha_round_trip_property(password: bytes, scheme: str) -> None:
    assert verify_password(hash_password(password, scheme), password)
