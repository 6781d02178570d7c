# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# ISO8823-PRESENTATION, ITU-T X.226 (1994) with Amd.1 and Amd.2,
#   DEFINITIONS ::= (explicit tagging by default)
#
# The connection-oriented PPDUs of the kernel functional unit, normal mode
# and X.410-1984 mode: CP-type, CPA-PPDU, CPR-PPDU, Abort-type (ARU, ARP)
# and User-data (what P-DATA sends).  Context management (AC/ACA),
# resynchronization (RS/RSA) and typed data are not modelled: RTSE does
# not use them.
#
# Deliberate deviations from the ASN.1, each for a stated reason:
# - "DEFAULT {version-1}" / "DEFAULT {}" BIT STRINGs are OPTIONAL: absent
#   means the default, and an explicit value is still kept.
# - The 1994 "extensions [14] SEQUENCE {...}" of CP-type is not modelled:
#   no X.400 peer sends it.
# - The single-ASN1-type of a PDV-list (ABSTRACT-SYNTAX.&Type) is an ANY
#   kept as its encoding, decoded by the user of the context (ACSE, RTSE,
#   P1); tagged [0] it is explicitly tagged (X.680 31.2.7 c).
# - Size constraints (SIZE (0..7, ..., 8..MAX)) are extensible and left out.
"""X.226 ISO8823-PRESENTATION: the presentation PPDUs of connection set-up,
abort and data transfer."""

from __future__ import annotations

from pyasn1.type import namedtype, namedval, univ

from gateway.x400.asn1.rtse import RTABapdu, RTOACapdu, RTORJapdu, RTORQapdu
from gateway.x400.asn1.tags import application, explicit, implicit

__all__ = [
    "ARP_PPDU",
    "ARU_PPDU",
    "CPA_PPDU",
    "CPR_PPDU",
    "Abort_type",
    "CP_type",
    "Context_list",
    "Fully_encoded_data",
    "Mode_selector",
    "PDV_list",
    "Presentation_context_identifier",
    "Result",
    "Result_list",
    "User_data",
    "User_session_requirements",
    "basic_encoding",
]

#: {joint-iso-itu-t asn1(1) basic-encoding(1)}: BER, the transfer syntax
basic_encoding = univ.ObjectIdentifier("2.1.1")


class Presentation_context_identifier(univ.Integer):
    pass


class Abstract_syntax_name(univ.ObjectIdentifier):
    pass


class Transfer_syntax_name(univ.ObjectIdentifier):
    pass


class Presentation_selector(univ.OctetString):
    pass


class Protocol_version(univ.BitString):
    pass


Protocol_version.namedValues = namedval.NamedValues(("version-1", 0))


class Presentation_requirements(univ.BitString):
    pass


Presentation_requirements.namedValues = namedval.NamedValues(
    ("context-management", 0), ("restoration", 1)
)


class User_session_requirements(univ.BitString):
    pass


User_session_requirements.namedValues = namedval.NamedValues(
    ("half-duplex", 0),
    ("duplex", 1),
    ("expedited-data", 2),
    ("minor-synchronize", 3),
    ("major-synchronize", 4),
    ("resynchronize", 5),
    ("activity-management", 6),
    ("negotiated-release", 7),
    ("capability-data", 8),
    ("exceptions", 9),
    ("typed-data", 10),
    ("symmetric-synchronize", 11),
    ("data-separation", 12),
)


class Protocol_options(univ.BitString):
    pass


Protocol_options.namedValues = namedval.NamedValues(
    ("nominated-context", 0), ("short-encoding", 1), ("packed-encoding-rules", 2)
)


class _ModeValue(univ.Integer):
    pass


_ModeValue.namedValues = namedval.NamedValues(("x410-1984-mode", 0), ("normal-mode", 1))


class Mode_selector(univ.Set):
    pass


Mode_selector.componentType = namedtype.NamedTypes(
    namedtype.NamedType("mode-value", _ModeValue().subtype(implicitTag=implicit(0)))
)


class _TransferSyntaxNames(univ.SequenceOf):
    pass


_TransferSyntaxNames.componentType = Transfer_syntax_name()


class _ContextDefinition(univ.Sequence):
    pass


_ContextDefinition.componentType = namedtype.NamedTypes(
    namedtype.NamedType("presentation-context-identifier", Presentation_context_identifier()),
    namedtype.NamedType("abstract-syntax-name", Abstract_syntax_name()),
    namedtype.NamedType("transfer-syntax-name-list", _TransferSyntaxNames()),
)


class Context_list(univ.SequenceOf):
    pass


Context_list.componentType = _ContextDefinition()


class Default_context_name(univ.Sequence):
    pass


Default_context_name.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "abstract-syntax-name", Abstract_syntax_name().subtype(implicitTag=implicit(0))
    ),
    namedtype.NamedType(
        "transfer-syntax-name", Transfer_syntax_name().subtype(implicitTag=implicit(1))
    ),
)


class Result(univ.Integer):
    pass


Result.namedValues = namedval.NamedValues(
    ("acceptance", 0), ("user-rejection", 1), ("provider-rejection", 2)
)


class _ResultProviderReason(univ.Integer):
    pass


_ResultProviderReason.namedValues = namedval.NamedValues(
    ("reason-not-specified", 0),
    ("abstract-syntax-not-supported", 1),
    ("proposed-transfer-syntaxes-not-supported", 2),
    ("local-limit-on-DCS-exceeded", 3),
)


class _ContextResult(univ.Sequence):
    pass


_ContextResult.componentType = namedtype.NamedTypes(
    namedtype.NamedType("result", Result().subtype(implicitTag=implicit(0))),
    namedtype.OptionalNamedType(
        "transfer-syntax-name", Transfer_syntax_name().subtype(implicitTag=implicit(1))
    ),
    namedtype.OptionalNamedType(
        "provider-reason", _ResultProviderReason().subtype(implicitTag=implicit(2))
    ),
)


class Result_list(univ.SequenceOf):
    pass


Result_list.componentType = _ContextResult()


class Provider_reason(univ.Integer):
    pass


Provider_reason.namedValues = namedval.NamedValues(
    ("reason-not-specified", 0),
    ("temporary-congestion", 1),
    ("local-limit-exceeded", 2),
    ("called-presentation-address-unknown", 3),
    ("protocol-version-not-supported", 4),
    ("default-context-not-supported", 5),
    ("user-data-not-readable", 6),
    ("no-PSAP-available", 7),
)


class Abort_reason(univ.Integer):
    pass


Abort_reason.namedValues = namedval.NamedValues(
    ("reason-not-specified", 0),
    ("unrecognized-ppdu", 1),
    ("unexpected-ppdu", 2),
    ("unexpected-session-service-primitive", 3),
    ("unrecognized-ppdu-parameter", 4),
    ("unexpected-ppdu-parameter", 5),
    ("invalid-ppdu-parameter-value", 6),
)


class Event_identifier(univ.Integer):
    pass


class _PresentationDataValues(univ.Choice):
    pass


_PresentationDataValues.componentType = namedtype.NamedTypes(
    namedtype.NamedType("single-ASN1-type", univ.Any().subtype(explicitTag=explicit(0))),
    namedtype.NamedType("octet-aligned", univ.OctetString().subtype(implicitTag=implicit(1))),
    namedtype.NamedType("arbitrary", univ.BitString().subtype(implicitTag=implicit(2))),
)


class PDV_list(univ.Sequence):
    pass


PDV_list.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType("transfer-syntax-name", Transfer_syntax_name()),
    namedtype.NamedType("presentation-context-identifier", Presentation_context_identifier()),
    namedtype.NamedType("presentation-data-values", _PresentationDataValues()),
)


class Fully_encoded_data(univ.SequenceOf):
    pass


Fully_encoded_data.componentType = PDV_list()


class User_data(univ.Choice):
    pass


User_data.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "simply-encoded-data",
        univ.OctetString().subtype(implicitTag=application(0)),
    ),
    namedtype.NamedType(
        "fully-encoded-data",
        Fully_encoded_data().subtype(implicitTag=application(1, constructed=True)),
    ),
)


class _Presentation_context_identifier_list(univ.SequenceOf):
    pass


class _ContextIdentification(univ.Sequence):
    pass


_ContextIdentification.componentType = namedtype.NamedTypes(
    namedtype.NamedType("presentation-context-identifier", Presentation_context_identifier()),
    namedtype.NamedType("transfer-syntax-name", Transfer_syntax_name()),
)
_Presentation_context_identifier_list.componentType = _ContextIdentification()


def _components_of(apdu: univ.Set, number: int) -> univ.Set:
    """SET {COMPONENTS OF <RTSE APDU>} [number] IMPLICIT: the RTSE APDU's
    fields under the presentation tag (X.410-1984 mode)."""
    return apdu.subtype(implicitTag=implicit(number, constructed=True))


# The normal-mode parameters of CP-type, CPA-PPDU-type and CPR-PPDU-type
# share most of their fields, with the same tags (X.226 8.2); these build
# them in the order each SEQUENCE lists them.


def _protocol_version() -> namedtype.NamedType:
    return namedtype.OptionalNamedType(
        "protocol-version", Protocol_version().subtype(implicitTag=implicit(0))
    )


def _responding_selector_and_results() -> tuple[namedtype.NamedType, ...]:
    """[3] and [5]: the answer's selector and context results (CPA, CPR)."""
    return (
        namedtype.OptionalNamedType(
            "responding-presentation-selector",
            Presentation_selector().subtype(implicitTag=implicit(3)),
        ),
        namedtype.OptionalNamedType(
            "presentation-context-definition-result-list",
            Result_list().subtype(implicitTag=implicit(5, constructed=True)),
        ),
    )


def _requirements_and_options() -> tuple[namedtype.NamedType, ...]:
    """[8], [9] and [11]: the negotiated requirements and options (CP, CPA)."""
    return (
        namedtype.OptionalNamedType(
            "presentation-requirements",
            Presentation_requirements().subtype(implicitTag=implicit(8)),
        ),
        namedtype.OptionalNamedType(
            "user-session-requirements",
            User_session_requirements().subtype(implicitTag=implicit(9)),
        ),
        namedtype.OptionalNamedType(
            "protocol-options", Protocol_options().subtype(explicitTag=explicit(11))
        ),
    )


def _mode_parameters(x410: univ.Set, normal: univ.Sequence) -> namedtype.NamedTypes:
    """CP-type's and CPA-PPDU's SET: mode-selector [0], the X.410-1984 mode
    parameters [1] (the RTSE APDU's fields) or the normal-mode ones [2]."""
    return namedtype.NamedTypes(
        namedtype.NamedType(
            "mode-selector", Mode_selector().subtype(implicitTag=implicit(0, constructed=True))
        ),
        namedtype.OptionalNamedType("x410-mode-parameters", _components_of(x410, 1)),
        namedtype.OptionalNamedType(
            "normal-mode-parameters", normal.subtype(implicitTag=implicit(2, constructed=True))
        ),
    )


class _CPNormalModeParameters(univ.Sequence):
    pass


_CPNormalModeParameters.componentType = namedtype.NamedTypes(
    _protocol_version(),
    namedtype.OptionalNamedType(
        "calling-presentation-selector", Presentation_selector().subtype(implicitTag=implicit(1))
    ),
    namedtype.OptionalNamedType(
        "called-presentation-selector", Presentation_selector().subtype(implicitTag=implicit(2))
    ),
    namedtype.OptionalNamedType(
        "presentation-context-definition-list",
        Context_list().subtype(implicitTag=implicit(4, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "default-context-name",
        Default_context_name().subtype(implicitTag=implicit(6, constructed=True)),
    ),
    *_requirements_and_options(),
    namedtype.OptionalNamedType(
        "initiators-nominated-context",
        Presentation_context_identifier().subtype(explicitTag=explicit(12)),
    ),
    namedtype.OptionalNamedType("user-data", User_data()),
)


class CP_type(univ.Set):
    pass


CP_type.componentType = _mode_parameters(RTORQapdu(), _CPNormalModeParameters())


class _CPANormalModeParameters(univ.Sequence):
    pass


_CPANormalModeParameters.componentType = namedtype.NamedTypes(
    _protocol_version(),
    *_responding_selector_and_results(),
    *_requirements_and_options(),
    namedtype.OptionalNamedType(
        "responders-nominated-context",
        Presentation_context_identifier().subtype(explicitTag=explicit(13)),
    ),
    namedtype.OptionalNamedType("user-data", User_data()),
)


class CPA_PPDU(univ.Set):
    pass


CPA_PPDU.componentType = _mode_parameters(RTOACapdu(), _CPANormalModeParameters())


class _CPRNormalModeParameters(univ.Sequence):
    pass


_CPRNormalModeParameters.componentType = namedtype.NamedTypes(
    _protocol_version(),
    *_responding_selector_and_results(),
    namedtype.OptionalNamedType(
        "default-context-result", Result().subtype(implicitTag=implicit(7))
    ),
    namedtype.OptionalNamedType(
        "provider-reason", Provider_reason().subtype(implicitTag=implicit(10))
    ),
    namedtype.OptionalNamedType("user-data", User_data()),
)


class CPR_PPDU(univ.Choice):
    pass


CPR_PPDU.componentType = namedtype.NamedTypes(
    # SET {COMPONENTS OF RTORJapdu}: the RTORJ fields in a universal SET
    namedtype.NamedType("x400-mode-parameters", RTORJapdu()),
    namedtype.NamedType("normal-mode-parameters", _CPRNormalModeParameters()),
)


class _ARUNormalModeParameters(univ.Sequence):
    pass


_ARUNormalModeParameters.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "presentation-context-identifier-list",
        _Presentation_context_identifier_list().subtype(implicitTag=implicit(0, constructed=True)),
    ),
    namedtype.OptionalNamedType("user-data", User_data()),
)


class ARU_PPDU(univ.Choice):
    pass


ARU_PPDU.componentType = namedtype.NamedTypes(
    # SET {COMPONENTS OF RTABapdu}, X.410 mode only
    namedtype.NamedType("x400-mode-parameters", RTABapdu()),
    namedtype.NamedType(
        "normal-mode-parameters",
        _ARUNormalModeParameters().subtype(implicitTag=implicit(0, constructed=True)),
    ),
)


class ARP_PPDU(univ.Sequence):
    pass


ARP_PPDU.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "provider-reason", Abort_reason().subtype(implicitTag=implicit(0))
    ),
    namedtype.OptionalNamedType(
        "event-identifier", Event_identifier().subtype(implicitTag=implicit(1))
    ),
)


class Abort_type(univ.Choice):
    pass


Abort_type.componentType = namedtype.NamedTypes(
    namedtype.NamedType("aru-ppdu", ARU_PPDU()),  # for a P-U-ABORT
    namedtype.NamedType("arp-ppdu", ARP_PPDU()),  # for a P-P-ABORT
)
