"""X.226 presentation PPDUs in normal mode, on the pyasn1 types of
``gateway.x400.asn1.presentation``.

What an RTSE-based P1 association exchanges (X.226 (1994) clause 8, cited
by PPDU name; the reference set holds the ASN.1 of X.226, not its text):

- CP-type (P-CONNECT request) in the CN user data: mode normal-mode,
  the presentation context definition list (pcid, abstract syntax,
  transfer syntaxes), the user session requirements, and user data;
- CPA-PPDU (P-CONNECT accept) in the AC user data: a result per
  proposed context, in the order proposed;
- User-data as fully-encoded-data ([APPLICATION 1]), a list of
  PDVs, each a presentation context identifier and one encoded value
  (single-ASN1-type): the user data of P-DATA (in DT), P-RELEASE (FN, DN)
  and of CP/CPA;
- ARU-PPDU (P-U-ABORT) in normal mode.

Values travel encoded: a :class:`PDV` holds the BER of one ACSE or RTSE
APDU or MTS-APDU, and decoding stops at the PDV (the context's user
decodes its values).  Decoders are bounded by :func:`ber.decode`'s limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.x400.asn1 import ber
from gateway.x400.asn1 import presentation as asn1
from gateway.x400.osi.errors import OSIError

__all__ = [
    "BER",
    "NORMAL_MODE",
    "PDV",
    "ConnectAccept",
    "ConnectReject",
    "ConnectRequest",
    "ContextDefinition",
    "ContextResult",
    "PresentationError",
    "decode_abort",
    "decode_cp",
    "decode_cpa",
    "decode_cpr",
    "decode_user_data",
    "encode_aru",
    "encode_cp",
    "encode_cpa",
    "encode_cpr",
    "encode_user_data",
]

BER = "2.1.1"  # {joint-iso-itu-t asn1(1) basic-encoding(1)}
NORMAL_MODE = 1  # X.226 CP-type: Mode-selector mode-value normal-mode(1)
# Largest PPDU accepted by the decoders: one CN, AC or DT carries at most
# a TSDU, and P1 messages are reassembled above this layer.
MAX_PPDU = 16 * 1024 * 1024


class PresentationError(OSIError):
    """Not a valid PPDU of the expected type."""


@dataclass(frozen=True)
class PDV:
    """One presentation data value: the encoding of a single ASN.1 value in
    the presentation context *context* (X.226 PDV-list)."""

    context: int
    value: bytes


@dataclass(frozen=True)
class ContextDefinition:
    """One entry of a Presentation-context-definition-list (X.226 CP-type)."""

    identifier: int
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...] = (BER,)


@dataclass(frozen=True)
class ContextResult:
    """One entry of a Presentation-context-definition-result-list (X.226 CPA-PPDU):
    result 0 is acceptance."""

    result: int = 0
    transfer_syntax: str | None = BER
    provider_reason: int | None = None


@dataclass(frozen=True)
class ConnectRequest:
    """The normal-mode CP-type fields this stack uses."""

    contexts: tuple[ContextDefinition, ...]
    user_data: tuple[PDV, ...] = ()
    session_requirements: int | None = None  # X.225 bit mask, e.g. 0x0249
    calling_selector: bytes | None = None
    called_selector: bytes | None = None


@dataclass(frozen=True)
class ConnectAccept:
    """The normal-mode CPA-PPDU fields this stack uses."""

    results: tuple[ContextResult, ...]
    user_data: tuple[PDV, ...] = ()
    session_requirements: int | None = None
    responding_selector: bytes | None = None


@dataclass(frozen=True)
class ConnectReject:
    """The normal-mode CPR-PPDU fields this stack uses (X.226 CPR-PPDU): a
    refusal by the user carries its results and user data (the rejecting
    AARE), a refusal by the provider its *provider_reason*."""

    results: tuple[ContextResult, ...] = ()
    user_data: tuple[PDV, ...] = ()
    provider_reason: int | None = None


def _requirements_bits(mask: int) -> str:
    """An X.225 session requirements mask (bit n is 2**n) as the X.226
    User-session-requirements BIT STRING, whose bit n is the same unit."""
    if mask <= 0:
        return "''B"
    return "'" + "".join("1" if mask >> n & 1 else "0" for n in range(mask.bit_length())) + "'B"


def _requirements_mask(bits: Any) -> int:
    return sum(1 << n for n, bit in enumerate(bits) if bit)


def _fill_user_data(target: Any, pdvs: Sequence[PDV]) -> None:
    full = target["fully-encoded-data"]
    for pdv in pdvs:
        item = full.getComponentType().clone()
        item["presentation-context-identifier"] = pdv.context
        item["presentation-data-values"]["single-ASN1-type"] = pdv.value
        full.append(item)


def _pdvs(user_data: Any) -> tuple[PDV, ...]:
    if user_data.getName() != "fully-encoded-data":
        raise PresentationError("simply-encoded-data is not used in normal mode with BER")
    out: list[PDV] = []
    for item in user_data["fully-encoded-data"]:
        values = item["presentation-data-values"]
        if values.getName() != "single-ASN1-type":
            raise PresentationError(f"PDV encoded as {values.getName()}, not single-ASN1-type")
        out.append(PDV(int(item["presentation-context-identifier"]), bytes(values.getComponent())))
    return tuple(out)


def encode_user_data(pdvs: Sequence[PDV]) -> bytes:
    """User-data as fully-encoded-data (X.226 User-data): the P-DATA PPDU."""
    if not pdvs:
        raise PresentationError("fully-encoded-data holds at least one PDV-list")
    value = asn1.User_data()
    _fill_user_data(value, pdvs)
    return ber.encode(value)


def _decode(data: bytes, spec: Any) -> Any:
    try:
        return ber.decode(data, spec, max_total=MAX_PPDU)
    except ber.BERError as exc:
        raise PresentationError(str(exc)) from exc


def decode_user_data(data: bytes, *, max_total: int = MAX_PPDU) -> tuple[PDV, ...]:
    """The PDVs of a User-data encoding (a P-DATA PPDU), at most *max_total*
    octets long."""
    try:
        value = ber.decode(data, asn1.User_data(), max_total=max_total)
    except ber.BERError as exc:
        raise PresentationError(str(exc)) from exc
    return _pdvs(value)


def encode_cp(request: ConnectRequest) -> bytes:
    """A normal-mode CP-type (X.226 CP-type)."""
    cp = asn1.CP_type()
    cp["mode-selector"]["mode-value"] = NORMAL_MODE
    normal = cp["normal-mode-parameters"]
    if request.calling_selector is not None:
        normal["calling-presentation-selector"] = request.calling_selector
    if request.called_selector is not None:
        normal["called-presentation-selector"] = request.called_selector
    contexts = normal["presentation-context-definition-list"]
    for definition in request.contexts:
        item = contexts.getComponentType().clone()
        item["presentation-context-identifier"] = definition.identifier
        item["abstract-syntax-name"] = definition.abstract_syntax
        for syntax in definition.transfer_syntaxes:
            item["transfer-syntax-name-list"].append(syntax)
        contexts.append(item)
    if request.session_requirements is not None:
        normal["user-session-requirements"] = _requirements_bits(request.session_requirements)
    if request.user_data:
        _fill_user_data(normal["user-data"], request.user_data)
    return ber.encode(cp)


def decode_cp(data: bytes) -> ConnectRequest:
    """A normal-mode CP-type; X.410-1984 mode is refused."""
    cp = _decode(data, asn1.CP_type())
    if int(cp["mode-selector"]["mode-value"]) != NORMAL_MODE:
        raise PresentationError("CP in X.410-1984 mode")
    normal = cp["normal-mode-parameters"]
    if not normal.isValue:
        raise PresentationError("normal-mode CP without normal-mode-parameters")
    contexts = tuple(
        ContextDefinition(
            int(item["presentation-context-identifier"]),
            str(item["abstract-syntax-name"]),
            tuple(str(s) for s in item["transfer-syntax-name-list"]),
        )
        for item in _optional(normal, "presentation-context-definition-list", ())
    )
    requirements = _optional(normal, "user-session-requirements", None)
    return ConnectRequest(
        contexts,
        _optional_pdvs(normal),
        None if requirements is None else _requirements_mask(requirements),
        _optional_bytes(normal, "calling-presentation-selector"),
        _optional_bytes(normal, "called-presentation-selector"),
    )


def encode_cpa(accept: ConnectAccept) -> bytes:
    """A normal-mode CPA-PPDU (X.226 CPA-PPDU)."""
    cpa = asn1.CPA_PPDU()
    cpa["mode-selector"]["mode-value"] = NORMAL_MODE
    normal = cpa["normal-mode-parameters"]
    if accept.responding_selector is not None:
        normal["responding-presentation-selector"] = accept.responding_selector
    results = normal["presentation-context-definition-result-list"]
    for result in accept.results:
        item = results.getComponentType().clone()
        item["result"] = result.result
        if result.transfer_syntax is not None:
            item["transfer-syntax-name"] = result.transfer_syntax
        if result.provider_reason is not None:
            item["provider-reason"] = result.provider_reason
        results.append(item)
    if accept.session_requirements is not None:
        normal["user-session-requirements"] = _requirements_bits(accept.session_requirements)
    if accept.user_data:
        _fill_user_data(normal["user-data"], accept.user_data)
    return ber.encode(cpa)


def decode_cpa(data: bytes) -> ConnectAccept:
    """A normal-mode CPA-PPDU."""
    cpa = _decode(data, asn1.CPA_PPDU())
    if int(cpa["mode-selector"]["mode-value"]) != NORMAL_MODE:
        raise PresentationError("CPA in X.410-1984 mode")
    normal = cpa["normal-mode-parameters"]
    if not normal.isValue:
        raise PresentationError("normal-mode CPA without normal-mode-parameters")
    results = tuple(
        ContextResult(
            int(item["result"]),
            str(item["transfer-syntax-name"]) if item["transfer-syntax-name"].isValue else None,
            int(item["provider-reason"]) if item["provider-reason"].isValue else None,
        )
        for item in _optional(normal, "presentation-context-definition-result-list", ())
    )
    requirements = _optional(normal, "user-session-requirements", None)
    return ConnectAccept(
        results,
        _optional_pdvs(normal),
        None if requirements is None else _requirements_mask(requirements),
        _optional_bytes(normal, "responding-presentation-selector"),
    )


def _fill_results(target: Any, results: Sequence[ContextResult]) -> None:
    for result in results:
        item = target.getComponentType().clone()
        item["result"] = result.result
        if result.transfer_syntax is not None:
            item["transfer-syntax-name"] = result.transfer_syntax
        if result.provider_reason is not None:
            item["provider-reason"] = result.provider_reason
        target.append(item)


def _results(parent: Any) -> tuple[ContextResult, ...]:
    return tuple(
        ContextResult(
            int(item["result"]),
            str(item["transfer-syntax-name"]) if item["transfer-syntax-name"].isValue else None,
            int(item["provider-reason"]) if item["provider-reason"].isValue else None,
        )
        for item in _optional(parent, "presentation-context-definition-result-list", ())
    )


def encode_cpr(reject: ConnectReject) -> bytes:
    """A normal-mode CPR-PPDU (X.226 CPR-PPDU), for the REFUSE SPDU."""
    cpr = asn1.CPR_PPDU()
    normal = cpr["normal-mode-parameters"]
    if reject.results:
        _fill_results(normal["presentation-context-definition-result-list"], reject.results)
    if reject.provider_reason is not None:
        normal["provider-reason"] = reject.provider_reason
    if reject.user_data:
        _fill_user_data(normal["user-data"], reject.user_data)
    return ber.encode(cpr)


def decode_cpr(data: bytes) -> ConnectReject:
    """A normal-mode CPR-PPDU; the X.410-1984 form is refused."""
    cpr = _decode(data, asn1.CPR_PPDU())
    if cpr.getName() != "normal-mode-parameters":
        raise PresentationError("CPR in X.410-1984 mode")
    normal = cpr["normal-mode-parameters"]
    reason = _optional(normal, "provider-reason", None)
    return ConnectReject(
        _results(normal), _optional_pdvs(normal), None if reason is None else int(reason)
    )


def decode_abort(data: bytes) -> tuple[PDV, ...]:
    """The user data of a normal-mode ARU-PPDU (X.226 Abort-type), empty for
    an ARP-PPDU (a provider abort) or an ARU without user data."""
    value = _decode(data, asn1.Abort_type())
    if value.getName() != "aru-ppdu":
        return ()
    aru = value["aru-ppdu"]
    if aru.getName() != "normal-mode-parameters":
        raise PresentationError("ARU in X.410-1984 mode")
    return _optional_pdvs(aru["normal-mode-parameters"])


def encode_aru(pdvs: Sequence[PDV] = ()) -> bytes:
    """A normal-mode ARU-PPDU (X.226 ARU-PPDU, P-U-ABORT), for the AB SPDU."""
    aru = asn1.ARU_PPDU()
    normal = aru["normal-mode-parameters"]
    if pdvs:
        _fill_user_data(normal["user-data"], pdvs)
    return ber.encode(aru)


def _optional(parent: Any, name: str, default: Any) -> Any:
    value = parent[name]
    return value if value.isValue else default


def _optional_bytes(parent: Any, name: str) -> bytes | None:
    value = parent[name]
    return bytes(value) if value.isValue else None


def _optional_pdvs(normal: Any) -> tuple[PDV, ...]:
    user_data = normal["user-data"]
    return _pdvs(user_data) if user_data.isValue else ()
