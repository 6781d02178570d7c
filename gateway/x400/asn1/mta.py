# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# MTAAbstractService {joint-iso-itu-t mhs(6) mts(3) modules(0)
#   mta-abstract-service(2) version-1999(1)}, ITU-T X.411 (06/1999),
#   DEFINITIONS IMPLICIT TAGS
#
# plus, from MTSTransferProtocol {joint-iso-itu-t mhs(6) protocols(0)
#   modules(0) transfer-protocol(3) version-1999(1)}, ITU-T X.419 (06/1999),
#   the one type P1 transfers: MTS-APDU (here MTS_APDU).  The rest of that
#   module (RTSE APDUs, application contexts) belongs to the OSI stack.
#
# P1, the message transfer protocol between MTAs: the MTA-bind, the message,
# probe and report transfer envelopes, trace, internal trace, and the
# complete extension registry EXTENSIONS (X.411's MTS_EXTENSIONS plus the two
# this module defines, and the MIXER private extensions of RFC 2156).
#
# Every type here encodes as in X.411 (1988), which is what PP and other
# 1988 MTAs send.  Deliberate deviations, each for a stated reason:
# - "DEFAULT {}" components (extensions, per-message-indicators,
#   other-actions) are OPTIONAL: absent means the empty default, and pyasn1
#   cannot hold an empty constructed default.
# - Open types (bilateral information, additional-information, extension
#   values, the content) are kept as their encodings.
# - "COMPONENTS OF PerMessageTransferFields" and the like are written out in
#   the SETs that include them, as X.680 defines COMPONENTS OF; the
#   Per...Fields SETs are also given on their own for reference.
"""X.411 MTAAbstractService (P1) and X.419 MTS-APDU."""

from __future__ import annotations

from typing import Any

from pyasn1.type import constraint, namedtype, namedval, univ

from gateway.x400.asn1 import mts
from gateway.x400.asn1.ipms_heading_extensions import DSN_EXTENSIONS
from gateway.x400.asn1.mts import (
    AdministrationDomainName,
    ContentIdentifier,
    ContentType,
    ConvertedEncodedInformationTypes,
    CountryName,
    DeferredDeliveryTime,
    ExplicitConversion,
    ExtensionField,
    ExtensionKind,
    GlobalDomainIdentifier,
    InitiatorCredentials,
    MTAName,
    MTSIdentifier,
    ORAddressAndOptionalDirectoryName,
    OriginalEncodedInformationTypes,
    PerMessageIndicators,
    Priority,
    PrivateDomainIdentifier,
    ReportType,
    ResponderCredentials,
    SecurityContext,
    SupplementaryInformation,
    Time,
)
from gateway.x400.asn1.tags import application, explicit, implicit
from gateway.x400.asn1.upper_bounds import (
    ub_bit_options,
    ub_integer_options,
    ub_recipients,
    ub_transfers,
)


class Content(mts.Content):
    pass


# --	MTA-bind (X.411 12.1.1)


class _MTABindAuthenticated(univ.Set):
    pass


# initiator-credentials [1] InitiatorCredentials (WITH COMPONENTS {...,
# protected ABSENT}): Credentials is a CHOICE, so [1] is explicit.
_MTABindAuthenticated.componentType = namedtype.NamedTypes(
    namedtype.NamedType("initiator-name", MTAName().subtype(implicitTag=implicit(0))),
    namedtype.NamedType(
        "initiator-credentials", InitiatorCredentials().subtype(explicitTag=explicit(1))
    ),
    namedtype.OptionalNamedType(
        "security-context", SecurityContext().subtype(implicitTag=implicit(2, constructed=True))
    ),
)


class MTABindArgument(univ.Choice):
    pass


MTABindArgument.componentType = namedtype.NamedTypes(
    namedtype.NamedType("unauthenticated", univ.Null()),
    namedtype.NamedType(
        "authenticated",
        _MTABindAuthenticated().subtype(implicitTag=implicit(1, constructed=True)),
    ),
)


class _MTABindResultAuthenticated(univ.Set):
    pass


_MTABindResultAuthenticated.componentType = namedtype.NamedTypes(
    namedtype.NamedType("responder-name", MTAName().subtype(implicitTag=implicit(0))),
    namedtype.NamedType(
        "responder-credentials", ResponderCredentials().subtype(explicitTag=explicit(1))
    ),
)


class MTABindResult(univ.Choice):
    pass


MTABindResult.componentType = namedtype.NamedTypes(
    namedtype.NamedType("unauthenticated", univ.Null()),
    namedtype.NamedType(
        "authenticated",
        _MTABindResultAuthenticated().subtype(implicitTag=implicit(1, constructed=True)),
    ),
)


class MTABindError(univ.Integer):
    """The parameter of mta-bind-error."""


MTABindError.namedValues = namedval.NamedValues(
    ("busy", 0),
    ("authentication-error", 2),
    ("unacceptable-dialogue-mode", 3),
    ("unacceptable-security-context", 4),
    ("inadequate-association-confidentiality", 5),
)
MTABindError.subtypeSpec = constraint.ValueRangeConstraint(0, ub_integer_options)


# --	Common Parameter Types: trace


class ArrivalTime(Time):
    pass


class DeferredTime(Time):
    pass


class RoutingAction(univ.Enumerated):
    pass


RoutingAction.namedValues = namedval.NamedValues(("relayed", 0), ("rerouted", 1))


class OtherActions(univ.BitString):
    pass


OtherActions.namedValues = namedval.NamedValues(("redirected", 0), ("dl-operation", 1))
OtherActions.subtypeSpec = constraint.ValueSizeConstraint(0, ub_bit_options)


def _additional_actions() -> tuple[namedtype.NamedType, ...]:
    """COMPONENTS OF AdditionalActions ("other-actions DEFAULT {}" OPTIONAL)."""
    return (
        namedtype.OptionalNamedType(
            "deferred-time", DeferredTime().subtype(implicitTag=implicit(1))
        ),
        namedtype.OptionalNamedType(
            "converted-encoded-information-types", ConvertedEncodedInformationTypes()
        ),
        namedtype.OptionalNamedType(
            "other-actions", OtherActions().subtype(implicitTag=implicit(3))
        ),
    )


class AdditionalActions(univ.Set):
    pass


AdditionalActions.componentType = namedtype.NamedTypes(*_additional_actions())


class DomainSuppliedInformation(univ.Set):
    pass


DomainSuppliedInformation.componentType = namedtype.NamedTypes(
    namedtype.NamedType("arrival-time", ArrivalTime().subtype(implicitTag=implicit(0))),
    namedtype.NamedType("routing-action", RoutingAction().subtype(implicitTag=implicit(2))),
    namedtype.OptionalNamedType("attempted-domain", GlobalDomainIdentifier()),
    *_additional_actions(),
)


class TraceInformationElement(univ.Sequence):
    pass


TraceInformationElement.componentType = namedtype.NamedTypes(
    namedtype.NamedType("global-domain-identifier", GlobalDomainIdentifier()),
    namedtype.NamedType("domain-supplied-information", DomainSuppliedInformation()),
)


class TraceInformation(univ.SequenceOf):
    pass


TraceInformation.tagSet = univ.SequenceOf.tagSet.tagImplicitly(application(9, constructed=True))
TraceInformation.componentType = TraceInformationElement()
TraceInformation.subtypeSpec = constraint.ValueSizeConstraint(1, ub_transfers)


class SubjectIntermediateTraceInformation(TraceInformation):
    pass


class MTASuppliedInformation(univ.Set):
    pass


MTASuppliedInformation.componentType = namedtype.NamedTypes(
    namedtype.NamedType("arrival-time", ArrivalTime().subtype(implicitTag=implicit(0))),
    namedtype.NamedType("routing-action", RoutingAction().subtype(implicitTag=implicit(2))),
    namedtype.OptionalNamedType(
        "attempted",
        univ.Choice(
            componentType=namedtype.NamedTypes(
                namedtype.NamedType("mta", MTAName()),
                namedtype.NamedType("domain", GlobalDomainIdentifier()),
            )
        ),
    ),
    *_additional_actions(),  # COMPONENTS OF InternalAdditionalActions
)


class InternalTraceInformationElement(univ.Sequence):
    pass


InternalTraceInformationElement.componentType = namedtype.NamedTypes(
    namedtype.NamedType("global-domain-identifier", GlobalDomainIdentifier()),
    namedtype.NamedType("mta-name", MTAName()),
    namedtype.NamedType("mta-supplied-information", MTASuppliedInformation()),
)


class InternalTraceInformation(univ.SequenceOf):
    pass


InternalTraceInformation.componentType = InternalTraceInformationElement()
InternalTraceInformation.subtypeSpec = constraint.ValueSizeConstraint(1, ub_transfers)


# --	Envelope & Report Content Fields


class MessageIdentifier(MTSIdentifier):
    pass


class ProbeIdentifier(MTSIdentifier):
    pass


class ReportIdentifier(MTSIdentifier):
    pass


class MessageOrProbeIdentifier(MTSIdentifier):
    pass


class SubjectIdentifier(MessageOrProbeIdentifier):
    pass


class OriginatorName(ORAddressAndOptionalDirectoryName):
    pass


class RecipientName(ORAddressAndOptionalDirectoryName):
    pass


class ReportDestinationName(ORAddressAndOptionalDirectoryName):
    pass


class ActualRecipientName(ORAddressAndOptionalDirectoryName):
    pass


class OriginallyIntendedRecipientName(ORAddressAndOptionalDirectoryName):
    pass


class OriginatorRequestedAlternateRecipient(ORAddressAndOptionalDirectoryName):
    pass


class OriginallySpecifiedRecipientNumber(univ.Integer):
    pass


OriginallySpecifiedRecipientNumber.subtypeSpec = constraint.ValueRangeConstraint(1, ub_recipients)


class PerRecipientIndicators(univ.BitString):
    pass


# responsibility: responsible 'one'; originating-MTA-report and/or
# originating-MTA-non-delivery-report 'one'; at most one of originator-report
# and originator-non-delivery-report 'one'; reserved bits 'zero'.
PerRecipientIndicators.namedValues = namedval.NamedValues(
    ("responsibility", 0),
    ("originating-MTA-report", 1),
    ("originating-MTA-non-delivery-report", 2),
    ("originator-report", 3),
    ("originator-non-delivery-report", 4),
    ("reserved-5", 5),
    ("reserved-6", 6),
    ("reserved-7", 7),
)
PerRecipientIndicators.subtypeSpec = constraint.ValueSizeConstraint(8, ub_bit_options)


class BilateralDomain(univ.Sequence):
    pass


BilateralDomain.componentType = namedtype.NamedTypes(
    namedtype.NamedType("country-name", CountryName()),
    namedtype.NamedType(
        "domain",
        univ.Choice(
            componentType=namedtype.NamedTypes(
                namedtype.NamedType("administration-domain-name", AdministrationDomainName()),
                namedtype.NamedType(
                    "private-domain",
                    univ.Sequence(
                        componentType=namedtype.NamedTypes(
                            # AdministrationDomainName is a tagged CHOICE:
                            # [0] is explicit
                            namedtype.NamedType(
                                "administration-domain-name",
                                AdministrationDomainName().subtype(explicitTag=explicit(0)),
                            ),
                            namedtype.NamedType(
                                "private-domain-identifier",
                                PrivateDomainIdentifier().subtype(explicitTag=explicit(1)),
                            ),
                        )
                    ),
                ),
            )
        ),
    ),
)


class PerDomainBilateralInformation(univ.Sequence):
    pass


# SEQUENCE { COMPONENTS OF BILATERAL.&id (a BilateralDomain),
#            bilateral-information BILATERAL.&Type }
PerDomainBilateralInformation.componentType = namedtype.NamedTypes(
    *BilateralDomain.componentType.namedTypes,
    namedtype.NamedType("bilateral-information", univ.Any()),
)


class _PerDomainBilateralInformationList(univ.SequenceOf):
    pass


_PerDomainBilateralInformationList.componentType = PerDomainBilateralInformation()
_PerDomainBilateralInformationList.subtypeSpec = constraint.ValueSizeConstraint(1, ub_transfers)


class AdditionalInformation(univ.Any):
    """ADDITIONAL.&Type: retained for backwards compatibility only."""


class LastTraceInformation(univ.Set):
    pass


LastTraceInformation.componentType = namedtype.NamedTypes(
    namedtype.NamedType("arrival-time", ArrivalTime().subtype(implicitTag=implicit(0))),
    namedtype.OptionalNamedType(
        "converted-encoded-information-types", ConvertedEncodedInformationTypes()
    ),
    # ReportType is a CHOICE: [1] is explicit
    namedtype.NamedType("report-type", ReportType().subtype(explicitTag=explicit(1))),
)


class _Extensions(univ.SetOf):
    """SET OF ExtensionField{{...}}; the information object sets only say
    which extensions may appear, so one type serves every envelope."""


_Extensions.componentType = ExtensionField()


class MessageTransferExtensions(_Extensions):
    pass


class PerRecipientMessageTransferExtensions(_Extensions):
    pass


class ProbeTransferExtensions(_Extensions):
    pass


class PerRecipientProbeTransferExtensions(_Extensions):
    pass


class ReportTransferEnvelopeExtensions(_Extensions):
    pass


class ReportTransferContentExtensions(_Extensions):
    pass


class PerRecipientReportTransferExtensions(_Extensions):
    pass


def _extensions(number: int, spec: Any) -> namedtype.NamedType:
    """``extensions [n] SET OF ExtensionField DEFAULT {}`` as OPTIONAL."""
    return namedtype.OptionalNamedType(
        "extensions", spec.subtype(implicitTag=implicit(number, constructed=True))
    )


def _per_recipient_transfer_fields(extensions: _Extensions) -> namedtype.NamedTypes:
    """PerRecipientMessageTransferFields and PerRecipientProbeTransferFields:
    the same SET, but for the type of their extensions."""
    return namedtype.NamedTypes(
        namedtype.NamedType("recipient-name", RecipientName()),
        namedtype.NamedType(
            "originally-specified-recipient-number",
            OriginallySpecifiedRecipientNumber().subtype(implicitTag=implicit(0)),
        ),
        namedtype.NamedType(
            "per-recipient-indicators", PerRecipientIndicators().subtype(implicitTag=implicit(1))
        ),
        namedtype.OptionalNamedType(
            "explicit-conversion", ExplicitConversion().subtype(implicitTag=implicit(2))
        ),
        _extensions(3, extensions),
    )


def _originator_and_content() -> tuple[namedtype.NamedType, ...]:
    """The originator and content fields of PerMessageTransferFields and
    PerProbeTransferFields, after the message- or probe-identifier."""
    return (
        namedtype.NamedType("originator-name", OriginatorName()),
        namedtype.OptionalNamedType(
            "original-encoded-information-types", OriginalEncodedInformationTypes()
        ),
        namedtype.NamedType("content-type", ContentType()),
        namedtype.OptionalNamedType("content-identifier", ContentIdentifier()),
    )


def _bilateral_information_and_trace(extensions: _Extensions) -> tuple[namedtype.NamedType, ...]:
    """The last fields of PerMessageTransferFields and PerProbeTransferFields:
    per-domain-bilateral-information [1], trace-information, extensions [3]."""
    return (
        namedtype.OptionalNamedType(
            "per-domain-bilateral-information",
            _PerDomainBilateralInformationList().subtype(
                implicitTag=implicit(1, constructed=True)
            ),
        ),
        namedtype.NamedType("trace-information", TraceInformation()),
        _extensions(3, extensions),
    )


def _per_recipient_fields(fields: univ.SequenceOf, number: int) -> namedtype.NamedType:
    """``per-recipient-fields [number] SEQUENCE SIZE (1..ub-recipients) OF ...``
    of the three transfer envelopes/contents."""
    return namedtype.NamedType(
        "per-recipient-fields", fields.subtype(implicitTag=implicit(number, constructed=True))
    )


# --	Message Transfer Envelope


class PerRecipientMessageTransferFields(univ.Set):
    pass


PerRecipientMessageTransferFields.componentType = _per_recipient_transfer_fields(
    PerRecipientMessageTransferExtensions()
)


def _per_message_transfer_fields() -> tuple[namedtype.NamedType, ...]:
    return (
        namedtype.NamedType("message-identifier", MessageIdentifier()),
        *_originator_and_content(),
        namedtype.DefaultedNamedType("priority", Priority("normal")),
        namedtype.OptionalNamedType("per-message-indicators", PerMessageIndicators()),
        namedtype.OptionalNamedType(
            "deferred-delivery-time", DeferredDeliveryTime().subtype(implicitTag=implicit(0))
        ),
        *_bilateral_information_and_trace(MessageTransferExtensions()),
    )


class PerMessageTransferFields(univ.Set):
    pass


PerMessageTransferFields.componentType = namedtype.NamedTypes(*_per_message_transfer_fields())


class _PerRecipientMessageTransferFieldsList(univ.SequenceOf):
    pass


_PerRecipientMessageTransferFieldsList.componentType = PerRecipientMessageTransferFields()
_PerRecipientMessageTransferFieldsList.subtypeSpec = constraint.ValueSizeConstraint(
    1, ub_recipients
)


class MessageTransferEnvelope(univ.Set):
    pass


MessageTransferEnvelope.componentType = namedtype.NamedTypes(
    *_per_message_transfer_fields(),
    _per_recipient_fields(_PerRecipientMessageTransferFieldsList(), 2),
)


# --	Probe Transfer Envelope


class PerRecipientProbeTransferFields(univ.Set):
    pass


PerRecipientProbeTransferFields.componentType = _per_recipient_transfer_fields(
    PerRecipientProbeTransferExtensions()
)


def _per_probe_transfer_fields() -> tuple[namedtype.NamedType, ...]:
    return (
        namedtype.NamedType("probe-identifier", ProbeIdentifier()),
        *_originator_and_content(),
        namedtype.OptionalNamedType(
            "content-length", mts.ContentLength().subtype(implicitTag=implicit(0))
        ),
        namedtype.OptionalNamedType("per-message-indicators", PerMessageIndicators()),
        *_bilateral_information_and_trace(ProbeTransferExtensions()),
    )


class PerProbeTransferFields(univ.Set):
    pass


PerProbeTransferFields.componentType = namedtype.NamedTypes(*_per_probe_transfer_fields())


class _PerRecipientProbeTransferFieldsList(univ.SequenceOf):
    pass


_PerRecipientProbeTransferFieldsList.componentType = PerRecipientProbeTransferFields()
_PerRecipientProbeTransferFieldsList.subtypeSpec = constraint.ValueSizeConstraint(1, ub_recipients)


class ProbeTransferEnvelope(univ.Set):
    pass


ProbeTransferEnvelope.componentType = namedtype.NamedTypes(
    *_per_probe_transfer_fields(),
    _per_recipient_fields(_PerRecipientProbeTransferFieldsList(), 2),
)


# --	Report Transfer Envelope


class ReportTransferEnvelope(univ.Set):
    pass


ReportTransferEnvelope.componentType = namedtype.NamedTypes(
    namedtype.NamedType("report-identifier", ReportIdentifier()),
    namedtype.NamedType("report-destination-name", ReportDestinationName()),
    namedtype.NamedType("trace-information", TraceInformation()),
    _extensions(1, ReportTransferEnvelopeExtensions()),
)


# --	Report Transfer Content


class PerRecipientReportTransferFields(univ.Set):
    pass


PerRecipientReportTransferFields.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "actual-recipient-name",
        ActualRecipientName().subtype(implicitTag=implicit(0, constructed=True)),
    ),
    namedtype.NamedType(
        "originally-specified-recipient-number",
        OriginallySpecifiedRecipientNumber().subtype(implicitTag=implicit(1)),
    ),
    namedtype.NamedType(
        "per-recipient-indicators", PerRecipientIndicators().subtype(implicitTag=implicit(2))
    ),
    namedtype.NamedType(
        "last-trace-information",
        LastTraceInformation().subtype(implicitTag=implicit(3, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "originally-intended-recipient-name",
        OriginallyIntendedRecipientName().subtype(implicitTag=implicit(4, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "supplementary-information",
        SupplementaryInformation().subtype(implicitTag=implicit(5)),
    ),
    _extensions(6, PerRecipientReportTransferExtensions()),
)


def _per_report_transfer_fields() -> tuple[namedtype.NamedType, ...]:
    return (
        namedtype.NamedType("subject-identifier", SubjectIdentifier()),
        namedtype.OptionalNamedType(
            "subject-intermediate-trace-information", SubjectIntermediateTraceInformation()
        ),
        namedtype.OptionalNamedType(
            "original-encoded-information-types", OriginalEncodedInformationTypes()
        ),
        namedtype.OptionalNamedType("content-type", ContentType()),
        namedtype.OptionalNamedType("content-identifier", ContentIdentifier()),
        namedtype.OptionalNamedType(
            "returned-content", Content().subtype(implicitTag=implicit(1))
        ),
        # an open type: its [2] is explicit
        namedtype.OptionalNamedType(
            "additional-information", AdditionalInformation().subtype(explicitTag=explicit(2))
        ),
        _extensions(3, ReportTransferContentExtensions()),
    )


class PerReportTransferFields(univ.Set):
    pass


PerReportTransferFields.componentType = namedtype.NamedTypes(*_per_report_transfer_fields())


class _PerRecipientReportTransferFieldsList(univ.SequenceOf):
    pass


_PerRecipientReportTransferFieldsList.componentType = PerRecipientReportTransferFields()
_PerRecipientReportTransferFieldsList.subtypeSpec = constraint.ValueSizeConstraint(
    1, ub_recipients
)


class ReportTransferContent(univ.Set):
    pass


ReportTransferContent.componentType = namedtype.NamedTypes(
    *_per_report_transfer_fields(),
    _per_recipient_fields(_PerRecipientReportTransferFieldsList(), 0),
)


# --	Transfer Port: the arguments of message-, probe- and report-transfer


class Message(univ.Sequence):
    pass


Message.componentType = namedtype.NamedTypes(
    namedtype.NamedType("envelope", MessageTransferEnvelope()),
    namedtype.NamedType("content", Content()),
)


class Probe(ProbeTransferEnvelope):
    pass


class Report(univ.Sequence):
    pass


Report.componentType = namedtype.NamedTypes(
    namedtype.NamedType("envelope", ReportTransferEnvelope()),
    namedtype.NamedType("content", ReportTransferContent()),
)


# --	X.419 MTSTransferProtocol: MTS Application Protocol Data Units


class MTS_APDU(univ.Choice):  # ASN.1 MTS-APDU, hyphen made underscore
    pass


MTS_APDU.componentType = namedtype.NamedTypes(
    namedtype.NamedType("message", Message().subtype(implicitTag=implicit(0, constructed=True))),
    namedtype.NamedType("probe", Probe().subtype(implicitTag=implicit(2, constructed=True))),
    namedtype.NamedType("report", Report().subtype(implicitTag=implicit(1, constructed=True))),
)


# --	The complete extension registry of P1
#
# MTSAbstractService's standard extensions, the two defined here (Figure 4 of
# X.411: trace-information 37, internal-trace-information 38), and the MIXER
# private extensions dsn-header-list and dsn-field-list (RFC 2156 5.1.8.2),
# which a MIXER gateway adds to PerReportTransferFields.extensions.

EXTENSIONS: dict[int | tuple[int, ...], ExtensionKind] = {
    **mts.MTS_EXTENSIONS,
    37: ExtensionKind("trace-information", 37, TraceInformation()),
    38: ExtensionKind("internal-trace-information", 38, InternalTraceInformation()),
    **{kind.id: kind for kind in DSN_EXTENSIONS},
}


def read_extension(field: Any, **limits: int) -> mts.DecodedExtension:
    """An ExtensionField of a P1 envelope typed through EXTENSIONS; unknown
    and opaque ones come back as their encoding (see mts.read_extension)."""
    return mts.read_extension(field, EXTENSIONS, **limits)
