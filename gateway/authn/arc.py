"""ARC, the Authenticated Received Chain (RFC 8617): validating and sealing.

An ARC set is three header fields sharing one instance number ``i=``
(RFC 8617 4.1, 4.2.1): the ARC-Authentication-Results (AAR, a copy of the
Authentication-Results the sealer computed, 4.1.1), the
ARC-Message-Signature (AMS, a DKIM-like signature of the message, 4.1.2)
and the ARC-Seal (AS, a signature over the ARC sets 1..i, 4.1.3, with the
chain validation status ``cv=`` the sealer found, 4.4).

- :func:`verify_chain` is the validator of RFC 8617 5.2 and gives one
  :class:`ARCResult`;
- :func:`seal` is the sealer of RFC 8617 5.1: the three fields of the next
  set, to prepend to the message.

dkimpy (``import dkim``) does the cryptography and the canonicalisation, as
for DKIM (:mod:`gateway.authn.dkim`). DNS stays asynchronous: every key
record the validation needs is fetched with :meth:`Lookup.txt` first, all
queries at once, and then handed to dkimpy through its ``dnsfunc`` hook,
which answers only from those records: dkimpy never queries DNS itself.

Validation (RFC 8617 5.2), step by step:

1. collect the ARC sets; none: ``none``. More than 50 (4.2.1), or a field
   whose instance cannot be read: ``fail``;
2. the highest instance's AS says ``cv=fail``: ``fail`` (the chain was
   already declared broken; :attr:`ARCResult.terminated` is set, and no
   further set may be added, 5.1 step 2);
3. structure: instances 1..N without gaps, exactly one AAR, AMS and AS each,
   ``cv=none`` at i=1 and ``cv=pass`` above: else ``fail``;
4. the AMS of instance N must verify;
5. "oldest-pass": the older AMSs are verified from N-1 down until one does
   not; :attr:`ARCResult.oldest_pass` is the lowest instance whose AMS (and
   every newer one) still verifies: 1 when all do (see below);
6. every AS, from N down to 1, must verify;
7. ``pass``.

A signature whose key cannot be used (no record, revoked, wrong type, RFC
6376 6.1.2 via :mod:`gateway.authn.dkim`'s checks) does not verify. A key
lookup that failed *temporarily* (SERVFAIL, timeout) is reported as
``temperror`` unless some other signature fails for good (then ``fail``):

``temperror`` is this module's own outcome, not an RFC 8617 one. RFC 8617
knows only none/pass/fail (4.4) and says DNS failures are treated like
any other failure (5.2.1: ``cv=fail``). A gateway may well prefer to ask
the client to try again later (4xx) rather than deliver with a chain it
declared failed for want of an answer, so the result keeps the difference.
What goes *into the message* follows RFC 8617: :meth:`ARCResult.method`
(the ``arc=`` entry of Authentication-Results) and the ``cv=`` of the next
seal (:attr:`ARCResult.cv`) both say ``fail`` for ``temperror``, with a
reason saying it was temporary. (A sealer that copies the A-R ``arc=``
result into ``cv=``, as dkimpy's ``arc_sign`` does, must never read
``temperror``: it is not a valid ``cv=`` value, 4.1.3.)

``header.oldest-pass`` (RFC 8617 7.2, IANA registration in 10.1): RFC 8617
5.2 step 5 gives "M+1" when the AMS of instance M is the first one found
not to verify. This module reports the lowest instance still verifying
(M+1), and 1 when every AMS verifies (as Exim does); it is only computed
for a chain that passes.

Sealing (RFC 8617 5.1): the AAR, AMS and AS of instance N+1, relaxed/relaxed
canonicalisation (4.1.2, 5.1.1), the AMS covering the header fields of
:data:`gateway.authn.dkim.SIGNED_HEADERS` present plus the DKIM-Signature
fields (never ARC-Seal, 4.1.2), From oversigned. The AS covers the ARC sets
1..N+1 (5.1.1), or only the new set when ``cv=fail`` (5.1.2). RSA
(``rsa-sha256``) and Ed25519 (``ed25519-sha256``, RFC 8463) keys both work
here; note that RFC 8617 implementations in the field (dkimpy among them:
its ``ARC_HASH_ALGORITHMS`` is rsa-sha256 only; Exim and OpenARC also
hard-wire rsa-sha256) reject Ed25519 ARC signatures, so RSA is the choice
for sealing mail that leaves the gateway.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import dkim
from dkim import crypto as dkim_crypto
from dkim import util as dkim_util
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from gateway.authn.dkim import (
    OVERSIGNED_HEADERS,
    SIGNED_HEADERS,
    _check_key,
    _clock,
    _dkimpy_private_key,
    _key_record,
    _Verdict,
    _why,
    key_name,
)
from gateway.authn.dns import Lookup
from gateway.authn.keys import Algorithm, PrivateKey
from gateway.authn.results import Method, authentication_results, parse_authserv_id
from gateway.authn.work import Runner, inline

__all__ = [
    "AAR",
    "AMS",
    "AS",
    "MAX_INSTANCES",
    "MAX_OLDEST_PASS_BYTES",
    "ARCResult",
    "Result",
    "SealError",
    "seal",
    "verify_chain",
]

Result = Literal["none", "pass", "fail", "temperror"]
ChainStatus = Literal["none", "pass", "fail"]

#: RFC 8617 4.2.1: at most 50 ARC sets; i= is 1..50.
MAX_INSTANCES: Final = 50
# At most this many octets are hashed looking for the oldest passing AMS
# (every older AMS hashes the whole message again): a 50-set chain on a
# 35 MB message would otherwise cost minutes of CPU.
MAX_OLDEST_PASS_BYTES: Final = 64 << 20

AAR: Final = "ARC-Authentication-Results"
AMS: Final = "ARC-Message-Signature"
AS: Final = "ARC-Seal"
_KINDS: Final = (AAR, AMS, AS)  # the order of a set inside the AS hash (5.1.1)
_BY_NAME: Final = {k.lower().encode("ascii"): k for k in _KINDS}

_ALGORITHMS: Final[dict[Algorithm, bytes]] = {
    "rsa": b"rsa-sha256",
    "ed25519": b"ed25519-sha256",
}
_VERIFIABLE: Final = frozenset(_ALGORITHMS.values())  # rsa-sha1: RFC 8301 3.1
_CANONICALIZATION: Final = b"relaxed/relaxed"  # RFC 8617 4.1.2, 5.1.1
#: Header fields the AMS signs besides SIGNED_HEADERS, when present.
_AMS_EXTRA: Final = ("dkim-signature",)
_AAR_INSTANCE = re.compile(rb"\A[ \t\r\n]*i[ \t\r\n]*=[ \t\r\n]*([0-9]+)[ \t\r\n]*;")
_BASE64 = re.compile(rb"[\s0-9A-Za-z+/]+[\s=]*")
_WSP = re.compile(rb"\s+")
_ARC_METHOD = re.compile(r"(?:\A|;)\s*(?:\([^)]*\)\s*)*arc\s*=", re.IGNORECASE)


class SealError(ValueError):
    """The message cannot be sealed as asked (RFC 8617 5.1): the instance
    limit is reached, or ``chain`` does not fit the message."""


@dataclass(frozen=True, slots=True)
class ARCResult:
    """The verdict on a message's ARC chain (RFC 8617 5.2; ``temperror``:
    see the module documentation)."""

    result: Result
    reason: str = ""  # why, naming the instance and field; "" for pass/none
    instances: int = 0  # N, the highest instance found (0: no ARC set)
    oldest_pass: int | None = None  # pass only: lowest instance whose AMS verifies
    terminated: bool = False  # the highest AS already says cv=fail (5.1 step 2)
    sealers: tuple[str, ...] = ()  # pass only: the AS d= of instances 1..N

    @property
    def cv(self) -> ChainStatus:
        """The chain validation status the next ARC-Seal carries (RFC 8617
        4.4, 5.1): ``temperror`` is ``fail`` (5.2.1)."""
        if self.result == "temperror":
            return "fail"
        return self.result

    def properties(self, remote_ip: str | None = None) -> dict[str, str]:
        """The properties of the ``arc`` method (RFC 8617 7.2, 10.1):
        ``header.oldest-pass`` when known, ``smtp.remote-ip`` when given."""
        props: dict[str, str] = {}
        if self.oldest_pass is not None:
            props["header.oldest-pass"] = str(self.oldest_pass)
        if remote_ip:
            props["smtp.remote-ip"] = remote_ip
        return props

    def method(self, remote_ip: str | None = None) -> Method:
        """This result as a ``Method`` for
        :func:`gateway.authn.results.authentication_results`:
        ``arc=pass header.oldest-pass=1 smtp.remote-ip=...``; ``temperror``
        is written ``fail`` with a reason saying so (RFC 8617 4.4, 5.2.1)."""
        reason = self.reason or None
        return ("arc", self.cv, self.properties(remote_ip), reason)


# ---------------------------------------------------------------------------
# The ARC fields of a message


@dataclass(frozen=True, slots=True)
class _Field:
    kind: str  # AAR, AMS or AS
    name: bytes  # as written in the message
    value: bytes  # raw, with its folding and final CRLF (dkimpy's form)
    instance: int
    tags: Mapping[bytes, bytes]  # AMS / AS only


class _Malformed(Exception):
    pass


def _arc_fields(headers: Sequence[Sequence[bytes]]) -> list[_Field]:
    """The ARC fields among ``headers`` (dkimpy's ``(name, value)`` list),
    in message order; :class:`_Malformed` for one whose i= cannot be read."""
    out: list[_Field] = []
    for name, value in headers:
        kind = _BY_NAME.get(bytes(name).lower())
        if kind is None:
            continue
        tags: dict[bytes, bytes] = {}
        if kind == AAR:
            match = _AAR_INSTANCE.match(value)
            if match is None:
                raise _Malformed(f"{AAR} without a valid i= tag (RFC 8617 4.1.1)")
            number = match.group(1)
        else:
            try:
                tags = dkim_util.parse_tag_value(value)
            except dkim_util.InvalidTagValueList as e:
                raise _Malformed(f"{kind}: tag-list syntax error ({_why(e)})") from None
            number = tags.get(b"i", b"").strip()
            if not number.isdigit():
                raise _Malformed(f"{kind} without a valid i= tag (RFC 8617 4.2.1)")
        instance = int(number)
        if instance < 1:
            raise _Malformed(f"{kind} with i={instance} (RFC 8617 4.2.1: 1 to 50)")
        out.append(_Field(kind, bytes(name), bytes(value), instance, tags))
    return out


def _sets(fields: Sequence[_Field]) -> dict[int, dict[str, list[_Field]]]:
    sets: dict[int, dict[str, list[_Field]]] = {}
    for field in fields:
        sets.setdefault(field.instance, {k: [] for k in _KINDS})[field.kind].append(field)
    return sets


def _cv(field: _Field) -> bytes:
    return field.tags.get(b"cv", b"").strip().lower()


def _structure(sets: dict[int, dict[str, list[_Field]]], n: int) -> str | None:
    """RFC 8617 5.2 step 3; the reason the chain is malformed, or None."""
    for i in range(1, n + 1):
        if i not in sets:
            return f"no ARC set i={i} (instances must run 1..{n} without gaps)"
        for kind in _KINDS:
            count = len(sets[i][kind])
            if count == 0:
                return f"ARC set i={i} has no {kind}"
            if count > 1:
                return f"ARC set i={i} has {count} {kind} fields"
        cv = _cv(sets[i][AS][0])
        expected = b"none" if i == 1 else b"pass"
        if cv != expected:
            shown = cv.decode("ascii", "replace") or "(none given)"
            return f"{AS} i={i} has cv={shown}, expected cv={expected.decode()}"
    return None


# ---------------------------------------------------------------------------
# Verifying (RFC 8617 5.2)


def verify_chain(
    message: bytes, lookup: Lookup, *, clock: IReactorTime | None = None, run: Runner = inline
) -> Deferred[ARCResult]:
    """Validate the ARC chain of ``message`` (RFC 8617 5.2).

    Key records come from ``lookup``, all queries at once; ``x=`` (if an
    AMS has one) is judged by ``clock`` (default: the reactor). The
    signature checks go through ``run`` (:mod:`gateway.authn.work`). The
    Deferred never fails for a bad message or chain: that is a result.
    """
    now = _clock(clock).seconds()
    return Deferred.fromCoroutine(_verify(message, lookup, now, run))


async def _verify(message: bytes, lookup: Lookup, now: float, run: Runner) -> ARCResult:
    try:
        headers, _body = dkim.rfc822_parse(message)
    except dkim.MessageFormatError as e:
        return ARCResult("fail", f"message header unreadable: {_why(e)}")
    try:
        fields = _arc_fields(headers)
    except _Malformed as e:
        return ARCResult("fail", str(e))
    if not fields:  # step 1
        return ARCResult("none")
    sets = _sets(fields)
    n = max(sets)
    if n > MAX_INSTANCES or len(sets) > MAX_INSTANCES:
        return ARCResult(
            "fail", f"ARC set i={n}: more than {MAX_INSTANCES} ARC sets (RFC 8617 4.2.1)", n
        )
    if any(_cv(f) == b"fail" for f in sets[n][AS]):  # step 2
        return ARCResult("fail", f"{AS} i={n} reports cv=fail", n, terminated=True)
    problem = _structure(sets, n)  # step 3
    if problem is not None:
        return ARCResult("fail", problem, n)

    ams = {i: sets[i][AMS][0] for i in range(1, n + 1)}
    seals = {i: sets[i][AS][0] for i in range(1, n + 1)}
    names = {k for f in (*ams.values(), *seals.values()) if (k := _key_of(f)) is not None}
    fetching = {name: Deferred.fromCoroutine(_fetch(lookup, name)) for name in names}
    records = {name: await d for name, d in fetching.items()}
    result: ARCResult = await run(_judge, message, sets, records, now, n, ams, seals)
    return result


def _judge(
    message: bytes,
    sets: dict[int, dict[str, list[_Field]]],
    records: dict[str, bytes | _Verdict],
    now: float,
    n: int,
    ams: dict[int, _Field],
    seals: dict[int, _Field],
) -> ARCResult:
    """Steps 4 to 6 of RFC 8617 5.2, once the keys are known (CPU only)."""
    checker = _Checker(message, sets, records, now)
    # steps 4 and 6: a definite failure wins over a temporary one
    verdicts = [(f"{AMS} i={n}", checker.ams(ams[n]))]
    verdicts += [(f"{AS} i={i}", checker.seal(seals, i)) for i in range(n, 0, -1)]
    failed = [(what, v) for what, v in verdicts if v is not None and v.result != "temperror"]
    if failed:
        what, verdict = failed[0]
        return ARCResult("fail", f"{what}: {verdict.reason}", n)
    temporary = [(what, v) for what, v in verdicts if v is not None]
    if temporary:
        what, verdict = temporary[0]
        return ARCResult("temperror", f"{what}: temporary error: {verdict.reason}", n)

    # step 5: each older AMS hashes the whole body again; past a budget the
    # oldest passing instance is left unknown (it is optional, 7.2)
    oldest: int | None = n
    budget = MAX_OLDEST_PASS_BYTES
    for i in range(n - 1, 0, -1):
        budget -= len(message)
        if budget < 0:
            oldest = None
            break
        if checker.ams(ams[i]) is not None:
            break
        oldest = i
    sealers = tuple(_text(seals[i].tags.get(b"d", b"")) for i in range(1, n + 1))
    return ARCResult("pass", "", n, oldest_pass=oldest, sealers=sealers)


def _key_of(field: _Field) -> str | None:
    d, s = field.tags.get(b"d"), field.tags.get(b"s")
    if not d or not s:
        return None
    try:
        return key_name(_text(d), _text(s)).lower()
    except UnicodeError:  # pragma: no cover - _text replaces
        return None


async def _fetch(lookup: Lookup, name: str) -> bytes | _Verdict:
    try:
        return await _key_record(lookup, name)
    except _Verdict as verdict:
        return verdict


class _Checker:
    """Verifies single AMS / AS fields with dkimpy, keys from ``records``."""

    def __init__(
        self,
        message: bytes,
        sets: Mapping[int, Mapping[str, Sequence[_Field]]],
        records: Mapping[str, bytes | _Verdict],
        now: float,
    ) -> None:
        self.message = message
        self.sets = sets
        self.records = records
        self.now = now

    def ams(self, field: _Field) -> _Verdict | None:
        """None when the AMS verifies, else why not (RFC 8617 4.1.2)."""
        try:
            tags = self._tags(field, (b"i", b"a", b"b", b"bh", b"d", b"h", b"s"))
            h = [n.strip().lower() for n in re.split(rb"\s*:\s*", tags[b"h"].strip())]
            if b"arc-seal" in h:
                raise _Verdict("fail", "h= includes ARC-Seal (RFC 8617 4.1.2)")
            try:
                CanonicalizationPolicy.from_c_value(tags.get(b"c", _CANONICALIZATION))
            except InvalidCanonicalizationPolicyError:
                raise _Verdict("fail", f"unknown c={_text(tags[b'c'])}") from None
            if b"x" in tags:
                if not tags[b"x"].strip().isdigit():
                    raise _Verdict("fail", "x= is not a number")
                if int(tags[b"x"]) < self.now:
                    raise _Verdict("fail", f"signature expired (x={int(tags[b'x'])})")
            record = self._record(field, tags)
            verifier = dkim.ARC(self.message)
            return self._run(verifier, tags, h, (field.name, field.value), record)
        except _Verdict as verdict:
            return verdict

    def seal(self, seals: Mapping[int, _Field], instance: int) -> _Verdict | None:
        """None when the AS of ``instance`` verifies: its signature covers
        the sets 1..instance in the order of RFC 8617 5.1.1."""
        field = seals[instance]
        try:
            tags = self._tags(field, (b"i", b"a", b"b", b"cv", b"d", b"s"))
            if b"h" in tags:
                raise _Verdict("fail", "h= is not allowed in an ARC-Seal (RFC 8617 4.1.3)")
            tags[b"c"] = _CANONICALIZATION  # the AS has no c=: relaxed (5.1.1)
            record = self._record(field, tags)
            verifier = dkim.ARC(None)
            verifier.headers = _seal_input(self.sets, instance)
            names = [k.lower().encode("ascii") for _i in range(instance) for k in _KINDS]
            return self._run(verifier, tags, names[:-1], (field.name, field.value), record)
        except _Verdict as verdict:
            return verdict

    def _tags(self, field: _Field, required: Sequence[bytes]) -> dict[bytes, bytes]:
        tags = dict(field.tags)
        for tag in required:
            if tag not in tags:
                raise _Verdict("fail", f"{tag.decode()}= is missing")
        a = tags[b"a"].strip().lower()
        if a not in _VERIFIABLE:
            raise _Verdict("fail", f"unsupported algorithm a={_text(a)}")
        tags[b"a"] = a
        for tag in (b"b", b"bh"):
            if tag in tags and not _base64_ok(tags[tag]):
                raise _Verdict("fail", f"{tag.decode()}= is not base64")
        tags.setdefault(b"c", _CANONICALIZATION)
        return tags

    def _record(self, field: _Field, tags: dict[bytes, bytes]) -> bytes:
        name = _key_of(field)
        found = self.records.get(name) if name else None
        if found is None:  # pragma: no cover - every d=/s= pair was fetched
            raise _Verdict("fail", "no key looked up")
        if isinstance(found, _Verdict):
            if found.result == "temperror":
                raise found
            raise _Verdict("fail", found.reason)
        # i= is the instance here, not a DKIM identity (its t=s check)
        try:
            _check_key(found, {k: v for k, v in tags.items() if k != b"i"})
        except _Verdict as verdict:
            raise _Verdict("fail", verdict.reason) from None
        return found

    def _run(
        self,
        verifier: Any,
        tags: dict[bytes, bytes],
        include: list[bytes],
        header: tuple[bytes, bytes],
        record: bytes,
    ) -> _Verdict | None:
        """dkimpy's ``verify_sig`` with ``record`` as the only DNS answer."""

        def dnsfunc(qname: bytes, timeout: float = 5) -> bytes:
            return record  # the one record fetched for this d=/s=

        try:
            ok = verifier.verify_sig(tags, list(include), header, dnsfunc)
        except dkim.ValidationError as e:
            text = _why(e)
            if text.startswith("body hash mismatch"):
                return _Verdict("fail", "body hash mismatch")
            return _Verdict("fail", text)
        except dkim.KeyFormatError as e:
            return _Verdict("fail", f"bad key: {_why(e)}")
        except (dkim.DKIMException, ValueError, TypeError, IndexError, KeyError) as e:
            return _Verdict("fail", f"cannot verify: {type(e).__name__}: {_why(e)}")
        return None if ok else _Verdict("fail", "signature mismatch")


def _seal_input(sets: Mapping[int, Mapping[str, Sequence[_Field]]], top: int) -> list[Any]:
    """The ARC fields of sets 1..``top``, newest first (as a message has
    them), so that dkimpy's bottom-up header selection takes them in the
    order of RFC 8617 5.1.1 whatever their order in the message."""
    out: list[Any] = []
    for i in range(top, 0, -1):
        for kind in reversed(_KINDS):
            field = sets[i][kind][0]
            out.append([field.name, field.value])
    return out


def _base64_ok(value: bytes) -> bool:
    return bool(_BASE64.fullmatch(value)) and len(_WSP.sub(b"", value)) % 4 == 0


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace").strip()


# ---------------------------------------------------------------------------
# Sealing (RFC 8617 5.1)


def seal(
    message: bytes,
    *,
    domain: str,
    selector: str,
    key: PrivateKey,
    authserv_id: str,
    results: str,
    chain: ARCResult | str,
    clock: IReactorTime | None = None,
) -> bytes:
    """The ARC set of the next instance for ``message`` (RFC 8617 5.1):
    ``ARC-Seal``, ``ARC-Message-Signature`` and
    ``ARC-Authentication-Results`` fields, each ending with CRLF (LF for a
    message in LF form), to prepend to the message unchanged. Every other
    change to the message (DKIM signing included) must be made before
    (5.1 step 1).

    ``results`` is the Authentication-Results value this gateway computed,
    as :func:`gateway.authn.results.authentication_results` gives it: with
    the leading ``authserv-id;`` or without it (it is added then); either
    way the AAR holds ``i=N; authserv-id; ...`` (4.1.1). When it has no
    ``arc=`` entry the chain's (:meth:`ARCResult.method`) is appended.

    ``chain`` is :func:`verify_chain`'s result for this message (or its
    status, "none"/"pass"/"fail"): ``cv=`` comes from it (4.4, 5.2.1:
    ``temperror`` seals ``cv=fail``). ``t=`` is the time of ``clock``
    (default: the reactor).

    Returns ``b""`` when no set may be added: the newest ARC-Seal already
    says ``cv=fail`` (5.1 step 2). Raises :class:`SealError` past instance
    50 (4.2.1) or when ``chain`` contradicts the message (a ``pass`` or
    ``none`` chain whose sets the message does not have).
    """
    if isinstance(chain, ARCResult):
        status: ChainStatus = chain.cv
    elif chain in ("none", "pass", "fail"):
        status = cast(ChainStatus, chain)
    else:
        raise SealError(f"chain status {chain!r} is not none, pass or fail")
    try:
        headers, _body = dkim.rfc822_parse(message)
        fields = _arc_fields(headers)
    except (dkim.MessageFormatError, _Malformed) as e:
        if status != "fail":
            raise SealError(f"the message has a malformed ARC chain: {e}") from None
        return b""  # a broken chain without a readable instance: nothing to add to
    sets = _sets(fields)
    current = max(sets, default=0)
    if current and any(_cv(f) == b"fail" for f in sets[current][AS]):
        return b""  # RFC 8617 5.1 step 2
    if isinstance(chain, ARCResult) and chain.terminated:
        return b""
    instance = current + 1
    if instance > MAX_INSTANCES:
        raise SealError(
            f"the message already has {current} ARC sets; "
            f"RFC 8617 4.2.1 allows at most {MAX_INSTANCES}"
        )
    if instance == 1:
        if status == "pass":
            raise SealError("chain status pass, but the message has no ARC set")
        if status == "fail":
            return b""  # cv=fail needs i>1 (4.1.3); nothing to continue
        cv = b"none"
    else:
        if status == "none":
            raise SealError(f"chain status none, but the message has {current} ARC sets")
        cv = status.encode("ascii")

    now = int(_clock(clock).seconds())
    a_tag = _ALGORITHMS[key.algorithm]
    linesep = b"\r\n" if b"\r\n" in message or b"\n" not in message else b"\n"
    d_tag = domain.rstrip(".").encode("idna")
    s_tag = selector.encode("ascii")
    pk = _dkimpy_private_key(key)
    policy = CanonicalizationPolicy.from_c_value(_CANONICALIZATION)
    hasher = dkim_crypto.HASH_ALGORITHMS[a_tag]

    # ARC-Authentication-Results (4.1.1)
    aar_value = f"i={instance}; {_payload(authserv_id, results, chain)}".encode()
    aar_value = linesep.join(re.split(rb"\r?\n", aar_value)) + linesep
    aar = (AAR.encode("ascii"), b" " + aar_value)

    # ARC-Message-Signature (4.1.2): like a DKIM signature, i= the instance
    signer = dkim.ARC(message, signature_algorithm=a_tag, linesep=linesep)
    present = [bytes(n).lower() for n, _v in signer.headers]
    wanted = {n.encode("ascii") for n in (*SIGNED_HEADERS, *_AMS_EXTRA)}
    include = [n for n in present if n in wanted]
    include += [n.encode("ascii") for n in OVERSIGNED_HEADERS]
    body_hash = base64.b64encode(hasher(policy.canonicalize_body(signer.body)).digest())
    ams_fields: list[tuple[bytes, bytes]] = [
        (b"i", str(instance).encode("ascii")),
        (b"a", a_tag),
        (b"c", _CANONICALIZATION),
        (b"d", d_tag),
        (b"s", s_tag),
        (b"t", str(now).encode("ascii")),
        (b"h", b":".join(include)),
        (b"bh", body_hash),
        (b"b", b"0" * 60),  # a placeholder that puts b= on its own folded line
    ]
    signer.hasher = hasher
    ams_value = cast(bytes, signer.gen_header(ams_fields, include, policy, AMS.encode(), pk))
    ams = (AMS.encode("ascii"), b" " + ams_value)

    # ARC-Seal (4.1.3): the sets 1..instance (5.1.1), or only the new one
    # for cv=fail (5.1.2)
    sealer = dkim.ARC(None, signature_algorithm=a_tag, linesep=linesep)
    sealer.hasher = hasher
    previous = [] if cv == b"fail" else _seal_input(sets, current)
    sealer.headers = [list(ams), list(aar), *previous]
    count = 1 if cv == b"fail" else instance
    names = [k.lower().encode("ascii") for _i in range(count) for k in _KINDS][:-1]
    as_fields: list[tuple[bytes, bytes]] = [
        (b"i", str(instance).encode("ascii")),
        (b"cv", cv),
        (b"a", a_tag),
        (b"d", d_tag),
        (b"s", s_tag),
        (b"t", str(now).encode("ascii")),
        (b"b", b"0" * 60),
    ]
    as_value = cast(bytes, sealer.gen_header(as_fields, names, policy, AS.encode(), pk))
    return (
        AS.encode("ascii")
        + b": "
        + as_value
        + AMS.encode("ascii")
        + b": "
        + ams_value
        + AAR.encode("ascii")
        + b": "
        + aar_value
    )


def _payload(authserv_id: str, results: str, chain: ARCResult | str) -> str:
    """``authserv-id; resinfo...`` for the AAR, from ``results`` with or
    without its authserv-id, the ``arc=`` entry added when missing."""
    text = results.strip()
    found = parse_authserv_id(text)
    if found is not None and found.lower() == authserv_id.lower():
        head, _sep, rest = text.partition(";")
        rest = rest.strip()
        if rest.lower() == "none":  # RFC 8601 2.2 no-result
            rest = ""
    else:
        head, rest = authserv_id, text
    if _ARC_METHOD.search(";" + rest) is None:
        method = chain.method() if isinstance(chain, ARCResult) else ("arc", chain, {}, None)
        entry = authentication_results(authserv_id, [method]).partition(";")[2].strip()
        rest = f"{rest};\r\n\t{entry}" if rest else entry
    return f"{head.strip()};\r\n\t{rest}" if rest else f"{head.strip()}; none"
