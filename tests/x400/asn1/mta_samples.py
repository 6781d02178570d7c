"""Sample P1 values (X.411 MTAAbstractService) built field by field.

Modelled on the PP-to-PP exchange of P1-WIRE.md: ADMD a single space, MTS
local identifiers like ``mta.lab.te.844:28.10.26.21.03.58``, one trace
element per domain, content-correlator (23) and internal-trace-information
(38) extensions, a non-delivery report with reason 1 and diagnostic 0,
supplementary information and the returned P22 content."""

from __future__ import annotations

from typing import Any

from pyasn1.type import univ

from gateway.x400.asn1 import ber, ipms, mta, mts
from tests.x400.asn1 import samples

#: a private extension no registry knows, with its own criticality
UNKNOWN_EXTENSION = univ.ObjectIdentifier("1.3.6.1.4.1.99999.7")
UNKNOWN_VALUE = bytes.fromhex("30 06 0c 04 74657374 01 01 ff".replace(" ", ""))


def gdi(country: str = "GB", admd: str = " ", prmd: str | None = "Lab") -> Any:
    """A GlobalDomainIdentifier."""
    value = mts.GlobalDomainIdentifier()
    value["country-name"]["iso-3166-alpha2-code"] = country
    value["administration-domain-name"]["printable"] = admd
    if prmd is not None:
        value["private-domain-identifier"]["printable"] = prmd
    return value


def mts_identifier(spec: Any, local: str, **domain: Any) -> Any:
    ident = spec.clone()
    ident["global-domain-identifier"] = gdi(**domain)
    ident["local-identifier"] = local
    return ident


def trace(*hops: tuple[str, str], action: str = "relayed") -> Any:
    """TraceInformation: one element per (PRMD, arrival time)."""
    info = mta.TraceInformation()
    for prmd, arrival in hops:
        element = mta.TraceInformationElement()
        element["global-domain-identifier"] = gdi(prmd=prmd)
        supplied = element["domain-supplied-information"]
        supplied["arrival-time"] = arrival
        supplied["routing-action"] = action
        info.append(element)
    return info


def internal_trace(mta_name: str, arrival: str, *, attempted: str | None = None) -> Any:
    """InternalTraceInformation with one element (an MTA of domain Lab)."""
    info = mta.InternalTraceInformation()
    element = mta.InternalTraceInformationElement()
    element["global-domain-identifier"] = gdi()
    element["mta-name"] = mta_name
    supplied = element["mta-supplied-information"]
    supplied["arrival-time"] = arrival
    supplied["routing-action"] = "relayed"
    if attempted is not None:
        supplied["attempted"]["mta"] = attempted
    supplied["other-actions"] = "'01'B"  # dl-operation
    info.append(element)
    return info


def content_correlator(text: str) -> Any:
    value = mts.ContentCorrelator()
    value["ia5text"] = text
    return value


def recipient(surname: str, number: int, *, indicators: str = "'10011000'B") -> Any:
    """PerRecipientMessageTransferFields: responsible, originator-report."""
    fields = mta.PerRecipientMessageTransferFields()
    fields["recipient-name"] = samples.or_name(surname)
    fields["originally-specified-recipient-number"] = number
    fields["per-recipient-indicators"] = indicators
    return fields


def envelope(recipients: list[str], *, local: str = "mta.lab.te.844:28.10.26.21.03.58") -> Any:
    env = mta.MessageTransferEnvelope()
    env["message-identifier"] = mts_identifier(mta.MessageIdentifier(), local)
    env["originator-name"] = samples.or_name("Smith", "John")
    env["original-encoded-information-types"]["built-in-encoded-information-types"] = "'001'B"
    env["content-type"]["built-in"] = "interpersonal-messaging-1988"
    env["content-identifier"] = "abc.123"
    env["priority"] = "urgent"
    env["per-message-indicators"] = "'0101'B"  # implicit-conv-prohibited, content-return
    env["trace-information"] = trace(("Lab", "261128210358Z"), ("Other", "261128210401Z"))
    for number, surname in enumerate(recipients, start=1):
        env["per-recipient-fields"].append(recipient(surname, number))
    return env


def message(recipients: tuple[str, ...] = ("Jones", "Brown"), content: bytes | None = None) -> Any:
    """MTS-APDU message: an IPM for two recipients, with trace, the
    content-correlator and internal-trace-information extensions, an unknown
    critical private extension, and per-recipient extensions."""
    env = envelope(list(recipients))
    extensions = env["extensions"]
    extensions.append(mts.extension_field(mta.EXTENSIONS[23], content_correlator("IPM abc.123")))
    extensions.append(
        mts.extension_field(
            mta.EXTENSIONS[38], internal_trace("mta.lab.test", "261128210358Z", attempted="mx")
        )
    )
    extensions.append(
        mts.extension_field(UNKNOWN_EXTENSION, UNKNOWN_VALUE, ("for-transfer", "for-delivery"))
    )
    first = env["per-recipient-fields"][0]
    first["explicit-conversion"] = "ia5-text-to-teletex"
    first["extensions"].append(
        mts.extension_field(mts.MTS_EXTENSIONS[6], requested_delivery_method(1, 0))
    )
    msg = mta.Message()
    msg["envelope"] = env
    if content is None:
        info = ipms.InformationObject()
        info["ipm"] = ipms.as_component(info, "ipm", samples.simple_ipm("abc.123"))
        content = ber.encode(info)
    msg["content"] = content
    apdu = mta.MTS_APDU()
    apdu["message"] = ipms.as_component(apdu, "message", msg)
    return apdu


def requested_delivery_method(*methods: int) -> Any:
    value = mts.RequestedDeliveryMethod()
    for method in methods:
        value.append(method)
    return value


def report_recipient(
    surname: str, number: int, report_type: Any, *, supplementary: str | None = None
) -> Any:
    fields = mta.PerRecipientReportTransferFields()
    fields["actual-recipient-name"] = ipms.as_component(
        fields, "actual-recipient-name", samples.or_name(surname)
    )
    fields["originally-specified-recipient-number"] = number
    fields["per-recipient-indicators"] = "'10010000'B"
    last = fields["last-trace-information"]
    last["arrival-time"] = "261128210401Z"
    last["report-type"] = ipms.as_component(last, "report-type", report_type)
    if supplementary is not None:
        fields["supplementary-information"] = supplementary
    return fields


def delivered(time: str = "261128210405Z") -> Any:
    value = mts.ReportType()
    value["delivery"]["message-delivery-time"] = time
    value["delivery"]["type-of-MTS-user"] = "private"
    return value


def non_delivered(reason: int = 1, diagnostic: int | None = 0) -> Any:
    value = mts.ReportType()
    value["non-delivery"]["non-delivery-reason-code"] = reason
    if diagnostic is not None:
        value["non-delivery"]["non-delivery-diagnostic-code"] = diagnostic
    return value


def report(returned: bytes | None = None) -> Any:
    """MTS-APDU report: Jones delivered, Brown not (unable-to-transfer,
    unrecognised-OR-name) with supplementary information, content returned."""
    rep = mta.Report()
    env = rep["envelope"]
    env["report-identifier"] = mts_identifier(mta.ReportIdentifier(), "rep.lab.te.845:28.10.26")
    env["report-destination-name"] = samples.or_name("Smith", "John")
    env["trace-information"] = trace(("Other", "261128210402Z"))
    env["extensions"].append(
        mts.extension_field(mta.EXTENSIONS[38], internal_trace("mta.other.test", "261128210402Z"))
    )
    content = rep["content"]
    content["subject-identifier"] = mts_identifier(
        mta.SubjectIdentifier(), "mta.lab.te.844:28.10.26.21.03.58"
    )
    content["subject-intermediate-trace-information"] = trace(("Lab", "261128210358Z"))
    content["content-type"]["built-in"] = 22
    content["content-identifier"] = "abc.123"
    if returned is None:
        info = ipms.InformationObject()
        info["ipm"] = ipms.as_component(info, "ipm", samples.simple_ipm("abc.123"))
        returned = ber.encode(info)
    content["returned-content"] = returned
    content["extensions"].append(
        mts.extension_field(mta.EXTENSIONS[23], content_correlator("IPM abc.123"))
    )
    content["per-recipient-fields"].append(report_recipient("Jones", 1, delivered()))
    content["per-recipient-fields"].append(
        report_recipient(
            "Brown", 2, non_delivered(1, 0), supplementary="No such user at Other (550 5.1.1)"
        )
    )
    apdu = mta.MTS_APDU()
    apdu["report"] = ipms.as_component(apdu, "report", rep)
    return apdu


def probe() -> Any:
    """MTS-APDU probe for one recipient, with a content length."""
    prb = mta.Probe()
    prb["probe-identifier"] = mts_identifier(mta.ProbeIdentifier(), "probe.1")
    prb["originator-name"] = samples.or_name("Smith", "John")
    prb["content-type"]["built-in"] = 22
    prb["content-length"] = 123456
    prb["trace-information"] = trace(("Lab", "261128210358Z"))
    fields = mta.PerRecipientProbeTransferFields()
    fields["recipient-name"] = samples.or_name("Jones")
    fields["originally-specified-recipient-number"] = 1
    fields["per-recipient-indicators"] = "'10010000'B"
    prb["per-recipient-fields"].append(fields)
    apdu = mta.MTS_APDU()
    apdu["probe"] = ipms.as_component(apdu, "probe", prb)
    return apdu


def bind_argument(name: str = "percival.smhs.co.uk", password: str | bytes = "excalibur") -> Any:
    """MTABindArgument as in the captured Isode bind (P1-WIRE.md)."""
    arg = mta.MTABindArgument()
    auth = arg["authenticated"]
    auth["initiator-name"] = name
    simple = auth["initiator-credentials"]["simple"]
    if isinstance(password, bytes):
        simple["octet-string"] = password  # as PP sends it
    else:
        simple["ia5-string"] = password
    return arg
