"""DKIM signing and verification (RFC 6376; Ed25519 by RFC 8463).

dkimpy (``import dkim``) does the cryptography and the canonicalisation;
this module adds what a gateway needs around it:

- :func:`sign` gives the ``DKIM-Signature:`` field to prepend, relaxed/relaxed,
  with the header fields of RFC 6376 5.4.1 and From oversigned (5.4.2), a
  timestamp from the injected clock and an optional expiry (``x=``);
- :func:`verify_all` verifies *every* signature of a message (RFC 6376 6.1:
  each is evaluated on its own) and gives one :class:`DKIMResult` each, with
  the result words of RFC 8601 2.7.1 and a reason. DNS stays asynchronous:
  the key record is fetched with :meth:`Lookup.txt` first and then handed to
  dkimpy through its ``dnsfunc`` hook, so dkimpy never queries DNS itself.

How RFC 6376's PERMFAIL/TEMPFAIL outcomes map to RFC 8601 2.7.1 results:

=========== ===============================================================
pass        the signature verifies
fail        ``body hash mismatch`` (6.1.3 step 4), ``signature mismatch``
            (the header hash does not verify with the published key)
policy      ``signature expired`` (x= in the past, 3.5): the signature may
            well be intact, it is the verifier's choice (RFC 6376 6.1.1
            "MAY") to no longer accept it, which is what RFC 8601 calls
            "not acceptable to the ADMD"
neutral     the DKIM-Signature field cannot be processed: tag-list syntax,
            a required tag missing, unknown a= or c=, i= outside d=, From
            not in h= (6.1.1); RFC 8601: "contained syntax errors or were
            not otherwise able to be processed"
permerror   the key cannot be used: ``key not found`` (no TXT record,
            NXDOMAIN; 6.1.2 step 3), ``key revoked`` (empty p=, 3.6.1),
            ``bad key`` (record syntax, wrong k= or h= for the signature's
            a=, not for e-mail, key too short, several records)
temperror   the key lookup failed temporarily (SERVFAIL, timeout; 6.1.2
            step 2)
=========== ===============================================================
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import dkim
from dkim import crypto as dkim_crypto
from dkim import util as dkim_util
from dkim.canonicalization import CanonicalizationPolicy
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from gateway.authn.dns import DNSError, Lookup
from gateway.authn.keys import Algorithm, PrivateKey, parse_private_key
from gateway.authn.work import Runner, inline

__all__ = [
    "MAX_HASHED_BYTES",
    "MAX_SIGNATURES",
    "OVERSIGNED_HEADERS",
    "SIGNED_HEADERS",
    "DKIMResult",
    "Result",
    "key_name",
    "sign",
    "verify_all",
]

Result = Literal["pass", "fail", "neutral", "temperror", "permerror", "policy"]

#: Header fields signed when present (RFC 6376 5.4.1's list, plus
#: Message-ID, MIME-Version and the MIME content fields whose change alters
#: how the body is read). Each instance present is signed.
SIGNED_HEADERS: Final[tuple[str, ...]] = (
    "from",
    "sender",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "to",
    "cc",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-id",
    "content-description",
    "resent-date",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-message-id",
    "in-reply-to",
    "references",
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
)
#: Signed once more than they occur, so that adding one breaks the signature
#: (RFC 6376 5.4.2, 8.15: a second From would otherwise be shown unsigned).
OVERSIGNED_HEADERS: Final[tuple[str, ...]] = ("from",)
#: Signatures beyond this many are reported, not verified (RFC 6376 6.1:
#: verifiers MAY limit the number they evaluate; each costs a DNS query).
MAX_SIGNATURES: Final = 16
#: Each signature hashes the whole body again (about 66 ms per MB in
#: dkimpy): a large message gets fewer verified, at least one.
MAX_HASHED_BYTES: Final = 128 << 20

_ALGORITHMS: Final[dict[Algorithm, bytes]] = {
    "rsa": b"rsa-sha256",  # RFC 8301 3.1: rsa-sha1 MUST NOT be used to sign
    "ed25519": b"ed25519-sha256",  # RFC 8463 3
}
_CANONICALIZATION: Final = b"relaxed/relaxed"
_WSP = re.compile(rb"\s+")


@dataclass(frozen=True, slots=True)
class DKIMResult:
    """The verdict on one DKIM-Signature field (RFC 8601 2.7.1)."""

    result: Result
    reason: str  # "" for pass
    domain: str | None = None  # d=
    selector: str | None = None  # s=
    signature: str | None = None  # b=, white space removed
    algorithm: str | None = None  # a=
    identity: str | None = None  # i=

    def properties(self) -> dict[str, str]:
        """The ``header.*`` properties (RFC 8601 2.7.1, RFC 6008 2): d, i,
        s, a and the first 8 characters of b= (enough to tell signatures of
        one message apart, RFC 6008 2)."""
        props: dict[str, str] = {}
        if self.domain:
            props["header.d"] = self.domain
        if self.identity:
            props["header.i"] = self.identity
        if self.selector:
            props["header.s"] = self.selector
        if self.algorithm:
            props["header.a"] = self.algorithm
        if self.signature:
            props["header.b"] = self.signature[:8]
        return props

    def method(self) -> tuple[str, str, dict[str, str], str | None]:
        """This result as a ``Method`` for
        :func:`gateway.authn.results.authentication_results`."""
        return ("dkim", self.result, self.properties(), self.reason or None)


def key_name(domain: str, selector: str) -> str:
    """Where the key of ``s=selector; d=domain`` is published (RFC 6376 3.6.2.1)."""
    return f"{selector}._domainkey.{domain.rstrip('.')}"


# ---------------------------------------------------------------------------
# Signing (RFC 6376 5)


def sign(
    message: bytes,
    domain: str,
    selector: str,
    private_key: bytes | PrivateKey,
    algorithm: Algorithm | None = None,
    headers: Sequence[str] = SIGNED_HEADERS,
    *,
    oversign: Sequence[str] = OVERSIGNED_HEADERS,
    clock: IReactorTime | None = None,
    expires: int | None = None,
) -> bytes:
    """The ``DKIM-Signature:`` field for ``message``, ending with the line
    break the message uses (CRLF, or LF for a message in LF form), to
    prepend to it unchanged.

    ``private_key`` is PEM (see :mod:`gateway.authn.keys`) or a loaded
    :class:`PrivateKey`; ``algorithm`` defaults to the key's and must match
    it. Signed: every field of ``headers`` present in the message (RFC 6376
    5.4.1; From must be among them, 5.4), plus each of ``oversign`` once more
    (5.4.2). ``t=`` is the time of ``clock`` (default: the reactor);
    ``expires`` seconds later the signature expires (``x=``, 3.5).
    Canonicalisation relaxed/relaxed (3.4.2, 3.4.4).
    """
    key = private_key if isinstance(private_key, PrivateKey) else parse_private_key(private_key)
    if algorithm is not None and algorithm != key.algorithm:
        raise ValueError(f"a {key.algorithm} key cannot make {algorithm} signatures")
    names = [h.lower() for h in headers]
    if "from" not in names:
        raise ValueError("the From header field must be signed (RFC 6376 5.4)")
    if expires is not None and expires <= 0:
        raise ValueError("expires must be a positive number of seconds")
    now = int(_clock(clock).seconds())
    a_tag = _ALGORITHMS[key.algorithm]
    linesep = b"\r\n" if b"\r\n" in message or b"\n" not in message else b"\n"

    signer = dkim.DKIM(message, signature_algorithm=a_tag, linesep=linesep)
    present = [bytes(name).decode("ascii", "replace").lower() for name, _v in signer.headers]
    wanted = set(names)
    include = [n for n in present if n in wanted]
    include += [n.lower() for n in oversign]
    include_bytes = [n.encode("ascii") for n in include]

    policy = CanonicalizationPolicy.from_c_value(_CANONICALIZATION)
    hasher = dkim_crypto.HASH_ALGORITHMS[a_tag]
    body_hash = base64.b64encode(hasher(policy.canonicalize_body(signer.body)).digest())
    fields: list[tuple[bytes, bytes]] = [
        (b"v", b"1"),
        (b"a", a_tag),
        (b"c", _CANONICALIZATION),
        (b"d", domain.rstrip(".").encode("idna")),
        (b"s", selector.encode("ascii")),
        (b"t", str(now).encode("ascii")),
    ]
    if expires is not None:
        fields.append((b"x", str(now + expires).encode("ascii")))
    fields += [
        (b"h", b":".join(include_bytes)),
        (b"bh", body_hash),
        (b"b", b"0" * 60),  # a placeholder that puts b= on its own folded line
    ]
    # DKIM.sign() has no x= and reads the system clock, so its own steps are
    # taken here: gen_header() hashes the selected fields and this field
    # (b= empty, 3.5) and signs with the key.
    signer.hasher = hasher
    value = signer.gen_header(
        fields, include_bytes, policy, b"DKIM-Signature", _dkimpy_private_key(key)
    )
    return b"DKIM-Signature: " + cast(bytes, value)


def _dkimpy_private_key(key: PrivateKey) -> Any:
    """The key object dkimpy's ``gen_header`` signs with."""
    if key.algorithm == "rsa":
        return dkim_crypto.parse_pem_private_key(key.dkimpy_key())
    import nacl.encoding
    import nacl.signing

    return nacl.signing.SigningKey(key.dkimpy_key(), encoder=nacl.encoding.Base64Encoder)


# ---------------------------------------------------------------------------
# Verifying (RFC 6376 6)


class _Verdict(Exception):
    """Ends the evaluation of one signature with its result."""

    def __init__(self, result: Result, reason: str) -> None:
        super().__init__(reason)
        self.result: Result = result
        self.reason = reason


def verify_all(
    message: bytes,
    lookup: Lookup,
    *,
    clock: IReactorTime | None = None,
    max_signatures: int = MAX_SIGNATURES,
    run: Runner = inline,
) -> Deferred[list[DKIMResult]]:
    """Verify every DKIM-Signature field of ``message``, top first; one
    :class:`DKIMResult` each (an empty list: no signature, RFC 8601 "none").

    Key records come from ``lookup`` (all queries at once); ``x=`` is judged
    by ``clock`` (default: the reactor). dkimpy's canonicalisation and
    hashing go through ``run`` (:mod:`gateway.authn.work`). The Deferred
    never fails for a bad message or signature: that is a result.
    """
    now = _clock(clock).seconds()
    try:
        headers, _body = dkim.rfc822_parse(message)
    except dkim.MessageFormatError as e:
        return defer.succeed([DKIMResult("permerror", f"message header unreadable: {_why(e)}")])
    fields = [value for name, value in headers if name.lower() == b"dkim-signature"]
    affordable = max(1, MAX_HASHED_BYTES // max(1, len(message)))
    limit = min(max_signatures, affordable)
    work: list[Deferred[DKIMResult]] = []
    for index, value in enumerate(fields):
        if index >= limit:
            why = f"more than {limit} signatures"
            if limit < max_signatures:
                why += f" on a message of {len(message)} octets"
            work.append(defer.succeed(DKIMResult("policy", f"not verified: {why}")))
        else:
            work.append(
                Deferred.fromCoroutine(_verify_one(message, index, value, lookup, now, run))
            )
    gathered: Deferred[list[DKIMResult]] = defer.gatherResults(work, consumeErrors=True)
    return gathered.addErrback(_first_error)


def _first_error(failure: Any) -> Any:
    return failure.value.subFailure  # a bug, not a verdict: let the caller see it


async def _verify_one(
    message: bytes, index: int, value: bytes, lookup: Lookup, now: float, run: Runner
) -> DKIMResult:
    tags: dict[bytes, bytes] = {}
    try:
        try:
            tags = dkim_util.parse_tag_value(value)
        except dkim_util.InvalidTagValueList as e:
            raise _Verdict("neutral", f"signature syntax error: {_tag_list_error(e)}") from None
        _check_signature(tags, now)
        name = key_name(_text(tags[b"d"]), _text(tags[b"s"]))
        record = await _key_record(lookup, name)
        _check_key(record, tags)
        if await run(_dkimpy_verify, message, index, name, record):
            return _result(tags, "pass", "")
        return _result(tags, "fail", "signature mismatch")
    except _Verdict as verdict:
        return _result(tags, verdict.result, verdict.reason)


def _result(tags: dict[bytes, bytes], result: Result, reason: str) -> DKIMResult:
    def tag(t: bytes) -> str | None:
        v = tags.get(t)
        return None if v is None else _text(_WSP.sub(b"", v))

    return DKIMResult(
        result,
        reason,
        domain=tag(b"d"),
        selector=tag(b"s"),
        signature=tag(b"b"),
        algorithm=tag(b"a"),
        identity=tag(b"i"),
    )


def _check_signature(tags: dict[bytes, bytes], now: float) -> None:
    """RFC 6376 6.1.1: the field's own checks, the expiry by our clock."""
    without_times = {k: v for k, v in tags.items() if k not in (b"t", b"x")}
    try:
        dkim.validate_signature_fields(without_times)
    except dkim.ValidationError as e:
        raise _Verdict("neutral", f"signature syntax error: {_why(e)}") from None
    for t in (b"t", b"x"):
        if t in tags and not tags[t].isdigit():
            raise _Verdict("neutral", f"signature syntax error: {t.decode()}= is not a number")
    h = [n.strip().lower() for n in tags[b"h"].split(b":")]
    if b"from" not in h:
        raise _Verdict("neutral", "From field not signed (RFC 6376 6.1.1)")
    if b"x" in tags:
        expiry = int(tags[b"x"])
        if b"t" in tags and expiry < int(tags[b"t"]):
            raise _Verdict("neutral", "signature syntax error: x= is before t= (RFC 6376 3.5)")
        if expiry < now:
            raise _Verdict("policy", f"signature expired (x={expiry})")


async def _key_record(lookup: Lookup, name: str) -> bytes:
    """RFC 6376 6.1.2 steps 1-3: the one TXT record at ``name``."""
    try:
        records = await lookup.txt(name)
    except DNSError as e:
        if e.temporary:
            raise _Verdict("temperror", f"key lookup failed: {e}") from None
        raise _Verdict("permerror", f"key not found: {e}") from None
    if not records:
        raise _Verdict("permerror", f"key not found: no TXT record at {name}")
    if len(records) > 1:  # 3.6.2.2: "the results are undefined"
        raise _Verdict("permerror", f"bad key: {len(records)} TXT records at {name}")
    return records[0]


def _check_key(record: bytes, sig: dict[bytes, bytes]) -> None:
    """RFC 6376 6.1.2 steps 4-9 and 3.6.1; dkimpy parses the key itself."""
    try:
        key = dkim_util.parse_tag_value(record)
    except dkim_util.InvalidTagValueList as e:
        raise _Verdict(
            "permerror", f"bad key: record syntax error: {_tag_list_error(e)}"
        ) from None
    if key.get(b"v", b"DKIM1") != b"DKIM1":
        raise _Verdict("permerror", "bad key: v= is not DKIM1")
    if b"p" not in key:
        raise _Verdict("permerror", "bad key: no p= tag")
    if not _WSP.sub(b"", key[b"p"]):
        raise _Verdict("permerror", "key revoked (empty p=)")
    key_type, _, hash_name = sig[b"a"].partition(b"-")
    if key.get(b"k", b"rsa").strip() != key_type:
        raise _Verdict(
            "permerror", f"bad key: k={_text(key.get(b'k', b'rsa'))} for a={_text(sig[b'a'])}"
        )
    if b"h" in key and hash_name not in _colon_list(key[b"h"]):
        raise _Verdict(
            "permerror", f"bad key: h={_text(key[b'h'])} does not allow {_text(hash_name)}"
        )
    services = _colon_list(key.get(b"s", b"*"))
    if b"*" not in services and b"email" not in services:
        raise _Verdict("permerror", f"bad key: not for e-mail (s={_text(key[b's'])})")
    if b"s" in _colon_list(key.get(b"t", b"")) and b"i" in sig:
        i_domain = sig[b"i"].rpartition(b"@")[2].lower()
        if i_domain != sig[b"d"].lower():
            raise _Verdict("permerror", "bad key: t=s and the i= domain is not d=")
    try:
        dkim.evaluate_pk(b"", record)
    except dkim.DKIMException as e:  # KeyFormatError, NaClNotFoundError
        raise _Verdict("permerror", f"bad key: {_why(e)}") from None


def _dkimpy_verify(message: bytes, index: int, name: str, record: bytes) -> bool:
    """dkimpy's verification of signature ``index`` with the key record we
    fetched (its ``dnsfunc`` asks nothing)."""
    wanted = name.lower().encode("idna")

    def dnsfunc(qname: bytes, timeout: float = 5) -> bytes:
        if qname.rstrip(b".").lower() != wanted:  # pragma: no cover - dkimpy's own name
            raise dkim.DnsTimeoutError(f"unexpected key query {qname!r}")
        return record

    verifier = dkim.DKIM(message)  # minkey 1024 (RFC 8301 3.2)
    try:
        return bool(verifier.verify(idx=index, dnsfunc=dnsfunc))
    except dkim.ValidationError as e:
        text = _why(e)
        if text.startswith("body hash mismatch"):
            raise _Verdict("fail", "body hash mismatch") from None
        if text.startswith("x= value is past"):  # dkimpy's own clock, 10 h leeway
            raise _Verdict("policy", f"signature expired ({text})") from None
        raise _Verdict("neutral", f"signature syntax error: {text}") from None
    except dkim.KeyFormatError as e:
        raise _Verdict("permerror", f"bad key: {_why(e)}") from None
    except dkim.MessageFormatError as e:
        raise _Verdict("neutral", f"signature syntax error: {_why(e)}") from None
    except dkim.DKIMException as e:
        raise _Verdict("permerror", f"{type(e).__name__}: {_why(e)}") from None


# ---------------------------------------------------------------------------
# Helpers


def _clock(clock: IReactorTime | None) -> IReactorTime:
    if clock is not None:
        return clock
    from twisted.internet import reactor

    return cast(IReactorTime, reactor)


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace").strip()


def _why(error: Exception) -> str:
    """dkimpy's message without the ``b'...'`` of the bytes it formats."""
    return re.sub(r"""\bb(['"])(.*?)\1""", r"\2", str(error))


def _tag_list_error(error: Exception) -> str:
    """What is wrong with a tag-list (RFC 6376 3.2), from dkimpy's exception."""
    what = error.args[0] if error.args else b""
    text = bytes(what).decode("utf-8", "replace") if isinstance(what, bytes) else str(what)
    if isinstance(error, dkim_util.DuplicateTag):
        return f"tag {text}= appears twice (RFC 6376 3.2)"
    return f"not a tag=value pair: {text.strip()!r} (RFC 6376 3.2)"


def _colon_list(value: bytes) -> list[bytes]:
    return [v.strip().lower() for v in value.split(b":")]
