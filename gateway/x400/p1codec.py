"""P1 MTS-APDUs between BER and the model (X.411, X.419).

:func:`decode_apdu` reads a message, report or probe within the BER limits
given and returns :class:`~gateway.x400.model.Message`,
:class:`~gateway.x400.model.Report` or :class:`~gateway.x400.model.Probe`;
:func:`encode_apdu` writes one back (definite lengths).  :func:`dump_apdu`
shows the decoded ASN.1 for people.

Extensions (X.411 9.1, 12.2.1.1.1.x): the standard ones the model names are
typed (content-correlator, latest-delivery-time, originator-return-address,
the three "prohibited" flags, dl-expansion-history, redirection-history,
internal-trace-information, MIXER's dsn-header-list); every other one --
unknown, private or a security extension the gateway does not check -- is
kept as an :class:`~gateway.x400.model.Extension` with its criticality and
value octets and written back unchanged.  Whether a critical one may be
passed on is the caller's decision (MIXER: reject what cannot be mapped).

Not modelled (dropped on decode): per-domain bilateral information, the
audited-report distinction of report requests, non-basic EIT parameters.
"""

from __future__ import annotations

from typing import Any, cast

from pyasn1.type import univ

from gateway.x400.asn1 import ber, mta, mts
from gateway.x400.asn1.ipms_heading_extensions import id_dsn_header_list
from gateway.x400.model import (
    PER_MESSAGE_INDICATORS,
    Criticality,
    Delivered,
    DLExpansion,
    Extension,
    GlobalDomainId,
    Message,
    MessageEnvelope,
    MTSIdentifier,
    NonDelivered,
    ORName,
    Probe,
    Redirection,
    Report,
    ReportedRecipient,
    ReportRequest,
    TraceElement,
    TransferRecipient,
)
from gateway.x400.mtscodec import eits_from_asn1, eits_to_asn1, present
from gateway.x400.orcodec import (
    fill_or_address,
    or_address_from_asn1,
    or_name_from_asn1,
    or_name_to_asn1,
)
from gateway.x400.orname import ORAddressError

__all__ = ["APDUError", "decode_apdu", "dump_apdu", "encode_apdu"]

# X.411 standard extension numbers the model types
_LOSS_PROHIBITED, _REASSIGN_PROHIBITED, _DL_PROHIBITED = 4, 1, 3
_LATEST_DELIVERY, _RETURN_ADDRESS, _CORRELATOR = 5, 13, 23
_REDIRECTIONS, _DL_HISTORY, _INTERNAL_TRACE = 25, 26, 38
_DSN_HEADERS = tuple(id_dsn_header_list)


class APDUError(ValueError):
    """An MTS-APDU that cannot be read or written; the message says why."""


# -- small pieces


def _text(value: Any) -> str:
    return str(value.getComponent() if isinstance(value, univ.Choice) else value)


def _gdi_from(value: Any) -> GlobalDomainId:
    has_prmd = present(value, "private-domain-identifier")
    prmd = value["private-domain-identifier"] if has_prmd else None
    return GlobalDomainId(
        _text(value["country-name"]),
        _text(value["administration-domain-name"]),
        _text(prmd) if prmd is not None else None,
    )


def _choose(slot: Any, text: str, numeric: str, printable: str) -> None:
    slot[numeric if text.isdigit() else printable] = text


def _gdi_to(gdi: GlobalDomainId, out: Any) -> Any:
    _choose(out["country-name"], gdi.country, "x121-dcc-code", "iso-3166-alpha2-code")
    _choose(out["administration-domain-name"], gdi.admd, "numeric", "printable")
    if gdi.prmd is not None:
        _choose(out["private-domain-identifier"], gdi.prmd, "numeric", "printable")
    return out


def _mts_id_from(value: Any) -> MTSIdentifier:
    return MTSIdentifier(
        _gdi_from(value["global-domain-identifier"]), str(value["local-identifier"])
    )


def _mts_id_to(ident: MTSIdentifier, out: Any) -> Any:
    _gdi_to(ident.domain, out["global-domain-identifier"])
    out["local-identifier"] = ident.local
    return out


def _bits(value: Any) -> tuple[int, ...]:
    return tuple(value) if value.isValue else ()


def _bit_string(slot: Any, numbers: set[int], width: int = 0) -> Any:
    size = max(max(numbers, default=-1) + 1, width)
    return slot.clone(tuple(1 if i in numbers else 0 for i in range(size)))


# -- trace


def _trace_from(element: Any, internal: bool) -> TraceElement:
    info = element["mta-supplied-information" if internal else "domain-supplied-information"]
    attempted_domain = attempted_mta = None
    if internal:
        if present(info, "attempted"):
            choice = info["attempted"]
            if choice.getName() == "mta":
                attempted_mta = str(choice["mta"])
            else:
                attempted_domain = _gdi_from(choice["domain"])
    elif present(info, "attempted-domain"):
        attempted_domain = _gdi_from(info["attempted-domain"])
    actions = _bits(info["other-actions"]) if present(info, "other-actions") else ()
    other = frozenset(
        name
        for number, name in enumerate(("redirected", "dl-operation"))
        if number < len(actions) and actions[number]
    )
    return TraceElement(
        domain=_gdi_from(element["global-domain-identifier"]),
        arrival=str(info["arrival-time"]),
        action=cast(Any, info["routing-action"].prettyPrint()),
        mta=str(element["mta-name"]) if internal else None,
        attempted_domain=attempted_domain,
        attempted_mta=attempted_mta,
        deferred=str(info["deferred-time"]) if present(info, "deferred-time") else None,
        converted_eits=(
            eits_from_asn1(info["converted-encoded-information-types"])
            if present(info, "converted-encoded-information-types")
            else None
        ),
        other_actions=cast(Any, other),
    )


def _trace_to(elem: TraceElement, out: Any, internal: bool) -> None:
    _gdi_to(elem.domain, out["global-domain-identifier"])
    if internal:
        out["mta-name"] = elem.mta or ""
    info = out["mta-supplied-information" if internal else "domain-supplied-information"]
    info["arrival-time"] = elem.arrival
    info["routing-action"] = elem.action
    if internal and elem.attempted_mta is not None:
        info["attempted"]["mta"] = elem.attempted_mta
    elif internal and elem.attempted_domain is not None:
        _gdi_to(elem.attempted_domain, info["attempted"]["domain"])
    elif elem.attempted_domain is not None:
        _gdi_to(elem.attempted_domain, info["attempted-domain"])
    if elem.deferred is not None:
        info["deferred-time"] = elem.deferred
    if elem.converted_eits is not None:
        eits_to_asn1(elem.converted_eits, info["converted-encoded-information-types"])
    if elem.other_actions:
        numbers = {("redirected", "dl-operation").index(a) for a in elem.other_actions}
        info["other-actions"] = _bit_string(info["other-actions"], numbers)


def _traces_from(value: Any, internal: bool = False) -> tuple[TraceElement, ...]:
    return tuple(_trace_from(e, internal) for e in value)


def _traces_to(elements: tuple[TraceElement, ...], out: Any, internal: bool = False) -> Any:
    for i, elem in enumerate(elements):
        _trace_to(elem, out[i], internal)
    return out


# -- extensions

_CRITICALITY = {
    "for-submission": "submission",
    "for-transfer": "transfer",
    "for-delivery": "delivery",
}
_CRITICALITY_BITS = {word: name for name, word in _CRITICALITY.items()}


def _extension_id(type_id: int | tuple[int, ...]) -> int | str:
    return type_id if isinstance(type_id, int) else ".".join(map(str, type_id))


def _read_extensions(
    values: Any, limits: dict[str, int]
) -> tuple[dict[int | tuple[int, ...], Any], tuple[Extension, ...]]:
    """(typed values by id, the others kept as received)."""
    typed: dict[int | tuple[int, ...], Any] = {}
    others: list[Extension] = []
    for field in values if values.isValue else ():
        try:
            decoded = mta.read_extension(field, **limits)
        except ber.BERError as exc:
            raise APDUError(f"extension {mts.extension_id(field)}: {exc}") from None
        if decoded.id in _TYPED and decoded.kind is not None and not decoded.kind.opaque:
            typed[decoded.id] = decoded.value
        else:
            critical = frozenset(_CRITICALITY[name] for name in decoded.criticality)
            others.append(
                Extension(_extension_id(decoded.id), decoded.encoded, cast(Criticality, critical))
            )
    # a SET OF has no order (DER sorts it): give the kept ones a stable one
    others.sort(key=lambda e: (isinstance(e.type, str), str(e.type)))
    return typed, tuple(others)


_TYPED = frozenset(
    {
        _LOSS_PROHIBITED,
        _REASSIGN_PROHIBITED,
        _DL_PROHIBITED,
        _LATEST_DELIVERY,
        _RETURN_ADDRESS,
        _CORRELATOR,
        _REDIRECTIONS,
        _DL_HISTORY,
        _INTERNAL_TRACE,
        _DSN_HEADERS,
    }
)


def _write_extensions(out: Any, fields: list[Any], others: tuple[Extension, ...]) -> None:
    for other in others:
        ext_id: int | tuple[int, ...] = (
            other.type
            if isinstance(other.type, int)
            else tuple(int(n) for n in other.type.split("."))
        )
        names = [_CRITICALITY_BITS[word] for word in sorted(other.criticality)]
        fields.append(mts.extension_field(ext_id, other.value, names))
    if not fields:
        return
    slot = out["extensions"]
    for i, field in enumerate(fields):
        slot[i] = field


def _kind(number: int | tuple[int, ...]) -> mts.ExtensionKind:
    return mta.EXTENSIONS[number]


def _redirections_from(value: Any) -> tuple[Redirection, ...]:
    return tuple(
        Redirection(
            or_name_from_asn1(r["intended-recipient-name"]["intended-recipient"]),
            str(r["intended-recipient-name"]["redirection-time"]),
            cast(Any, r["redirection-reason"].prettyPrint()),
        )
        for r in value
    )


def _redirections_to(items: tuple[Redirection, ...]) -> Any:
    out = mts.RedirectionHistory()
    for i, item in enumerate(items):
        entry = out[i]
        name = entry["intended-recipient-name"]
        or_name_to_asn1(item.intended, name["intended-recipient"])
        name["redirection-time"] = item.time
        entry["redirection-reason"] = item.reason
    return out


# -- names and recipients


def _or_name(value: Any) -> ORName:
    try:
        return or_name_from_asn1(value)
    except ORAddressError as exc:
        raise APDUError(str(exc)) from None


def _request(bits: tuple[int, ...], report: int, ndr: int) -> ReportRequest:
    if report < len(bits) and bits[report]:
        return "report"
    if ndr < len(bits) and bits[ndr]:
        return "non-delivery-report"
    return "no-report"


def _indicators_to(
    slot: Any, responsibility: bool, mta: ReportRequest, orig: ReportRequest
) -> Any:
    numbers = {0} if responsibility else set()
    numbers |= {1} if mta == "report" else {2} if mta == "non-delivery-report" else set()
    numbers |= {3} if orig == "report" else {4} if orig == "non-delivery-report" else set()
    return _bit_string(slot, numbers, width=8)  # SIZE (8..ub-bit-options)


def _recipient_from(value: Any, limits: dict[str, int]) -> TransferRecipient:
    bits = _bits(value["per-recipient-indicators"])
    typed, others = _read_extensions(value["extensions"], limits)
    return TransferRecipient(
        name=_or_name(value["recipient-name"]),
        number=int(value["originally-specified-recipient-number"]),
        responsibility=bool(bits and bits[0]),
        mta_report=_request(bits, 1, 2),
        originator_report=_request(bits, 3, 4),
        explicit_conversion=(
            int(value["explicit-conversion"]) if present(value, "explicit-conversion") else None
        ),
        redirection_history=(
            _redirections_from(typed[_REDIRECTIONS]) if _REDIRECTIONS in typed else ()
        ),
        extensions=others,
    )


def _recipient_to(r: TransferRecipient, out: Any) -> None:
    or_name_to_asn1(r.name, out["recipient-name"])
    out["originally-specified-recipient-number"] = r.number
    out["per-recipient-indicators"] = _indicators_to(
        out["per-recipient-indicators"], r.responsibility, r.mta_report, r.originator_report
    )
    if r.explicit_conversion is not None:
        out["explicit-conversion"] = r.explicit_conversion
    fields = []
    if r.redirection_history:
        fields.append(
            mts.extension_field(_kind(_REDIRECTIONS), _redirections_to(r.redirection_history))
        )
    _write_extensions(out, fields, r.extensions)


# -- envelopes


def _envelope_from(env: Any, id_name: str, limits: dict[str, int]) -> MessageEnvelope:
    typed, others = _read_extensions(env["extensions"], limits)
    bits = _bits(env["per-message-indicators"]) if present(env, "per-message-indicators") else ()
    content_type = env["content-type"]
    correlator = typed.get(_CORRELATOR)
    history = typed.get(_DL_HISTORY)
    return MessageEnvelope(
        identifier=_mts_id_from(env[id_name]),
        originator=_or_name(env["originator-name"]),
        recipients=tuple(_recipient_from(r, limits) for r in env["per-recipient-fields"]),
        trace=_traces_from(env["trace-information"]),
        content_type=_content_type_from(content_type),
        original_eits=(
            eits_from_asn1(env["original-encoded-information-types"])
            if present(env, "original-encoded-information-types")
            else None
        ),
        content_identifier=(
            str(env["content-identifier"]) if present(env, "content-identifier") else None
        ),
        priority=(
            cast(Any, env["priority"].prettyPrint())
            if "priority" in env.componentType
            else "normal"
        ),
        indicators=frozenset(PER_MESSAGE_INDICATORS[i] for i, bit in enumerate(bits[:8]) if bit),
        deferred_delivery=(
            str(env["deferred-delivery-time"]) if present(env, "deferred-delivery-time") else None
        ),
        internal_trace=(
            _traces_from(typed[_INTERNAL_TRACE], internal=True) if _INTERNAL_TRACE in typed else ()
        ),
        content_correlator=_correlator_text(correlator) if correlator is not None else None,
        latest_delivery=str(typed[_LATEST_DELIVERY]) if _LATEST_DELIVERY in typed else None,
        originator_return_address=(
            or_address_from_asn1(typed[_RETURN_ADDRESS]) if _RETURN_ADDRESS in typed else None
        ),
        conversion_with_loss_prohibited=_prohibited(typed.get(_LOSS_PROHIBITED)),
        recipient_reassignment_prohibited=_prohibited(typed.get(_REASSIGN_PROHIBITED)),
        dl_expansion_prohibited=_prohibited(typed.get(_DL_PROHIBITED)),
        dl_expansion_history=(
            tuple(DLExpansion(_or_name(e["dl"]), str(e["dl-expansion-time"])) for e in history)
            if history is not None
            else ()
        ),
        extensions=others,
    )


def _prohibited(value: Any) -> bool:
    return (
        value is not None and int(value) == 1
    )  # ... ENUMERATED { ..-allowed (0), ..-prohibited (1) }


def _correlator_text(value: Any) -> str:
    if value.getName() == "ia5text":
        return str(value["ia5text"])
    return bytes(value["octets"]).decode("latin-1")


def _content_type_from(value: Any) -> int | str:
    choice = value.getComponent()
    if isinstance(choice, univ.Integer):
        return int(choice)
    return ".".join(str(n) for n in choice)


def _content_type_to(content_type: int | str, slot: Any) -> None:
    if isinstance(content_type, int):
        slot["built-in"] = content_type
    else:
        slot["extended"] = tuple(int(n) for n in content_type.split("."))


def _envelope_to(env: MessageEnvelope, out: Any, id_name: str) -> None:
    _mts_id_to(env.identifier, out[id_name])
    or_name_to_asn1(env.originator, out["originator-name"])
    if env.original_eits is not None:
        eits_to_asn1(env.original_eits, out["original-encoded-information-types"])
    _content_type_to(env.content_type, out["content-type"])
    if env.content_identifier is not None:
        out["content-identifier"] = env.content_identifier
    if env.priority != "normal" and "priority" in out.componentType:
        out["priority"] = env.priority
    if env.indicators:
        numbers = {PER_MESSAGE_INDICATORS.index(name) for name in env.indicators}
        out["per-message-indicators"] = _bit_string(out["per-message-indicators"], numbers)
    if env.deferred_delivery is not None and "deferred-delivery-time" in out.componentType:
        out["deferred-delivery-time"] = env.deferred_delivery
    _traces_to(env.trace, out["trace-information"])
    fields = []
    flags = (
        (_REASSIGN_PROHIBITED, env.recipient_reassignment_prohibited),
        (_DL_PROHIBITED, env.dl_expansion_prohibited),
        (_LOSS_PROHIBITED, env.conversion_with_loss_prohibited),
    )
    for number, flag in flags:
        if flag:
            fields.append(mts.extension_field(_kind(number), _kind(number).type.clone(1)))
    if env.latest_delivery is not None:
        fields.append(
            mts.extension_field(
                _kind(_LATEST_DELIVERY), mts.LatestDeliveryTime(env.latest_delivery)
            )
        )
    if env.originator_return_address is not None:
        address = fill_or_address(mts.OriginatorReturnAddress(), env.originator_return_address)
        fields.append(mts.extension_field(_kind(_RETURN_ADDRESS), address))
    if env.content_correlator is not None:
        correlator = mts.ContentCorrelator()
        correlator["ia5text"] = env.content_correlator
        fields.append(mts.extension_field(_kind(_CORRELATOR), correlator))
    if env.dl_expansion_history:
        history = mts.DLExpansionHistory()
        for i, item in enumerate(env.dl_expansion_history):
            or_name_to_asn1(item.name, history[i]["dl"])
            history[i]["dl-expansion-time"] = item.time
        fields.append(mts.extension_field(_kind(_DL_HISTORY), history))
    if env.internal_trace:
        internal = _traces_to(env.internal_trace, mta.InternalTraceInformation(), internal=True)
        fields.append(mts.extension_field(_kind(_INTERNAL_TRACE), internal))
    _write_extensions(out, fields, env.extensions)
    for i, recipient in enumerate(env.recipients):
        _recipient_to(recipient, out["per-recipient-fields"][i])


# -- reports


def _reported_from(value: Any, limits: dict[str, int]) -> ReportedRecipient:
    bits = _bits(value["per-recipient-indicators"])
    last = value["last-trace-information"]
    report_type = last["report-type"]
    outcome: Delivered | NonDelivered
    if report_type.getName() == "delivery":
        d = report_type["delivery"]
        outcome = Delivered(str(d["message-delivery-time"]), int(d["type-of-MTS-user"]))
    else:
        n = report_type["non-delivery"]
        outcome = NonDelivered(
            int(n["non-delivery-reason-code"]),
            int(n["non-delivery-diagnostic-code"])
            if present(n, "non-delivery-diagnostic-code")
            else None,
        )
    typed, others = _read_extensions(value["extensions"], limits)
    return ReportedRecipient(
        actual=_or_name(value["actual-recipient-name"]),
        number=int(value["originally-specified-recipient-number"]),
        outcome=outcome,
        arrival=str(last["arrival-time"]),
        converted_eits=(
            eits_from_asn1(last["converted-encoded-information-types"])
            if present(last, "converted-encoded-information-types")
            else None
        ),
        mta_report=_request(bits, 1, 2),
        originator_report=_request(bits, 3, 4),
        originally_intended=(
            _or_name(value["originally-intended-recipient-name"])
            if present(value, "originally-intended-recipient-name")
            else None
        ),
        supplementary_info=(
            str(value["supplementary-information"])
            if present(value, "supplementary-information")
            else None
        ),
        redirection_history=(
            _redirections_from(typed[_REDIRECTIONS]) if _REDIRECTIONS in typed else ()
        ),
        extensions=others,
    )


def _reported_to(r: ReportedRecipient, out: Any) -> None:
    or_name_to_asn1(r.actual, out["actual-recipient-name"])
    out["originally-specified-recipient-number"] = r.number
    out["per-recipient-indicators"] = _indicators_to(
        out["per-recipient-indicators"], True, r.mta_report, r.originator_report
    )
    last = out["last-trace-information"]
    last["arrival-time"] = r.arrival
    if r.converted_eits is not None:
        eits_to_asn1(r.converted_eits, last["converted-encoded-information-types"])
    report_type = last["report-type"]
    if isinstance(r.outcome, Delivered):
        delivery = report_type["delivery"]
        delivery["message-delivery-time"] = r.outcome.time
        if r.outcome.type_of_user != 0:
            delivery["type-of-MTS-user"] = r.outcome.type_of_user
    else:
        failure = report_type["non-delivery"]
        failure["non-delivery-reason-code"] = r.outcome.reason
        if r.outcome.diagnostic is not None:
            failure["non-delivery-diagnostic-code"] = r.outcome.diagnostic
    if r.originally_intended is not None:
        or_name_to_asn1(r.originally_intended, out["originally-intended-recipient-name"])
    if r.supplementary_info is not None:
        out["supplementary-information"] = r.supplementary_info
    fields = []
    if r.redirection_history:
        fields.append(
            mts.extension_field(_kind(_REDIRECTIONS), _redirections_to(r.redirection_history))
        )
    _write_extensions(out, fields, r.extensions)


def _report_from(value: Any, limits: dict[str, int]) -> Report:
    env, content = value["envelope"], value["content"]
    env_typed, env_others = _read_extensions(env["extensions"], limits)
    typed, others = _read_extensions(content["extensions"], limits)
    correlator = typed.get(_CORRELATOR)
    return Report(
        identifier=_mts_id_from(env["report-identifier"]),
        destination=_or_name(env["report-destination-name"]),
        trace=_traces_from(env["trace-information"]),
        subject=_mts_id_from(content["subject-identifier"]),
        recipients=tuple(_reported_from(r, limits) for r in content["per-recipient-fields"]),
        internal_trace=(
            _traces_from(env_typed[_INTERNAL_TRACE], internal=True)
            if _INTERNAL_TRACE in env_typed
            else ()
        ),
        subject_intermediate_trace=(
            _traces_from(content["subject-intermediate-trace-information"])
            if present(content, "subject-intermediate-trace-information")
            else ()
        ),
        original_eits=(
            eits_from_asn1(content["original-encoded-information-types"])
            if present(content, "original-encoded-information-types")
            else None
        ),
        content_type=(
            _content_type_from(content["content-type"])
            if present(content, "content-type")
            else None
        ),
        content_identifier=(
            str(content["content-identifier"]) if present(content, "content-identifier") else None
        ),
        returned_content=(
            bytes(content["returned-content"]) if present(content, "returned-content") else None
        ),
        additional_information=(
            bytes(content["additional-information"])
            if present(content, "additional-information")
            else None
        ),
        content_correlator=_correlator_text(correlator) if correlator is not None else None,
        rfc822_headers=(
            tuple(str(line) for line in typed[_DSN_HEADERS]) if _DSN_HEADERS in typed else ()
        ),
        extensions=env_others + others,
    )


def _report_to(report: Report, out: Any) -> None:
    env, content = out["envelope"], out["content"]
    _mts_id_to(report.identifier, env["report-identifier"])
    or_name_to_asn1(report.destination, env["report-destination-name"])
    _traces_to(report.trace, env["trace-information"])
    env_fields = []
    if report.internal_trace:
        internal = _traces_to(report.internal_trace, mta.InternalTraceInformation(), internal=True)
        env_fields.append(mts.extension_field(_kind(_INTERNAL_TRACE), internal))
    _write_extensions(env, env_fields, ())
    _mts_id_to(report.subject, content["subject-identifier"])
    if report.subject_intermediate_trace:
        _traces_to(
            report.subject_intermediate_trace, content["subject-intermediate-trace-information"]
        )
    if report.original_eits is not None:
        eits_to_asn1(report.original_eits, content["original-encoded-information-types"])
    if report.content_type is not None:
        _content_type_to(report.content_type, content["content-type"])
    if report.content_identifier is not None:
        content["content-identifier"] = report.content_identifier
    if report.returned_content is not None:
        content["returned-content"] = report.returned_content
    if report.additional_information is not None:
        content["additional-information"] = report.additional_information
    fields = []
    if report.content_correlator is not None:
        correlator = mts.ContentCorrelator()
        correlator["ia5text"] = report.content_correlator
        fields.append(mts.extension_field(_kind(_CORRELATOR), correlator))
    if report.rfc822_headers:
        kind = _kind(_DSN_HEADERS)
        lines = kind.type.clone()
        for i, line in enumerate(report.rfc822_headers):
            lines[i] = line
        fields.append(mts.extension_field(kind, lines))
    # unknown extensions of both parts are written with the content's
    _write_extensions(content, fields, report.extensions)
    for i, recipient in enumerate(report.recipients):
        _reported_to(recipient, content["per-recipient-fields"][i])


# -- the APDU


def decode_apdu(data: bytes, **limits: int) -> Message | Report | Probe:
    """The message, report or probe encoded in *data* (an MTS-APDU).

    *limits* are the BER limits (``max_depth``, ``max_length``,
    ``max_total``).  Raises :class:`APDUError` naming the problem."""
    try:
        value = ber.decode(data, mta.MTS_APDU(), **limits)
        kind = value.getName()
        if kind == "message":
            message = value["message"]
            return Message(
                _envelope_from(message["envelope"], "message-identifier", limits),
                bytes(message["content"]),
            )
        if kind == "report":
            return _report_from(value["report"], limits)
        probe = value["probe"]
        return Probe(
            _envelope_from(probe, "probe-identifier", limits),
            int(probe["content-length"]) if present(probe, "content-length") else None,
        )
    except ber.BERError as exc:
        raise APDUError(f"not an MTS-APDU: {exc}") from None
    except ORAddressError as exc:
        raise APDUError(str(exc)) from None


def encode_apdu(value: Message | Report | Probe) -> bytes:
    """The MTS-APDU encoding (definite lengths) of *value*."""
    apdu = mta.MTS_APDU()
    try:
        if isinstance(value, Message):
            message = apdu["message"]
            _envelope_to(value.envelope, message["envelope"], "message-identifier")
            message["content"] = value.content
        elif isinstance(value, Report):
            _report_to(value, apdu["report"])
        else:
            probe = apdu["probe"]
            _envelope_to(value.envelope, probe, "probe-identifier")
            if value.content_length is not None:
                probe["content-length"] = value.content_length
        return ber.encode(apdu)
    except (ber.BERError, ORAddressError, ValueError) as exc:
        raise APDUError(f"cannot encode {type(value).__name__}: {exc}") from None


def dump_apdu(data: bytes, **limits: int) -> str:
    """The decoded ASN.1 of an MTS-APDU, as pyasn1 prints it."""
    try:
        return str(ber.decode(data, mta.MTS_APDU(), **limits).prettyPrint())
    except ber.BERError as exc:
        raise APDUError(f"not an MTS-APDU: {exc}") from None
