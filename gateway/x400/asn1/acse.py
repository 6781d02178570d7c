# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# ACSE-1 {joint-iso-itu-t association-control(2) modules(0) acse1(1)
#   version1(1)}, ITU-T X.227bis (1998), DEFINITIONS ::= (explicit tagging
#   by default)
#
# The subset a 1988 X.400 MTA exchanges: AARQ, AARE, RLRQ, RLRE, ABRT.
# Every field of X.227 (1988) is here and encodes as it did then; the
# X.227bis additions after the first extension marker (p-context lists,
# ASOI tags) and the A-DT/ACRQ/ACRP APDUs of the extension are not
# modelled: no X.400 peer sends them.
#
# Deliberate deviations from the ASN.1, each for a stated reason:
# - protocol-version "DEFAULT {version1}" is OPTIONAL: absent means
#   version1, and a caller may still send it explicitly, as ISODE does.
# - Authentication-value's "other" alternative (an information object
#   set) is an ANY kept as its encoding.
# - Named-number INTEGERs and the ENUMERATED carry no value constraint:
#   the extension markers ("...") allow values a peer may send.
# - AP-title-form1 / ASO-qualifier-form1 are the X.501 Name and
#   RelativeDistinguishedName of pyasn1_modules.rfc5280.
"""X.227 ACSE-1: the association control APDUs (AARQ, AARE, RLRQ, RLRE, ABRT)."""

from __future__ import annotations

from pyasn1.type import char, namedtype, namedval, univ
from pyasn1_modules import rfc5280

from gateway.x400.asn1.external import External
from gateway.x400.asn1.tags import application, explicit, implicit

__all__ = [
    "AARE_apdu",
    "AARQ_apdu",
    "ABRT_apdu",
    "ABRT_diagnostic",
    "ABRT_source",
    "ACSE_apdu",
    "ACSE_requirements",
    "AE_qualifier",
    "AP_title",
    "ASO_context_name",
    "Associate_result",
    "Associate_source_diagnostic",
    "Association_data",
    "Authentication_value",
    "RLRE_apdu",
    "RLRQ_apdu",
    "Release_request_reason",
    "Release_response_reason",
    "aCSE_id",
    "acse_as_id",
]

#: acse-as-id {joint-iso-itu-t association-control(2) abstract-syntax(1)
#: apdus(0) version1(1)}: the abstract syntax of the ACSE presentation context
acse_as_id = univ.ObjectIdentifier("2.2.1.0.1")
#: aCSE-id {joint-iso-itu-t association-control(2) ase-id(3) acse-ase(1) version(1)}
aCSE_id = univ.ObjectIdentifier("2.2.3.1.1")


class ASO_context_name(univ.ObjectIdentifier):
    pass


Application_context_name = ASO_context_name


class AP_title(univ.Choice):
    pass


AP_title.componentType = namedtype.NamedTypes(
    namedtype.NamedType("ap-title-form1", rfc5280.Name()),
    namedtype.NamedType("ap-title-form2", univ.ObjectIdentifier()),
    namedtype.NamedType("ap-title-form3", char.PrintableString()),
    namedtype.NamedType("ap-title-form4", univ.RelativeOID().subtype(implicitTag=implicit(0))),
)


class AE_qualifier(univ.Choice):  # ASO-qualifier
    pass


AE_qualifier.componentType = namedtype.NamedTypes(
    namedtype.NamedType("aso-qualifier-form1", rfc5280.RelativeDistinguishedName()),
    namedtype.NamedType("aso-qualifier-form2", univ.Integer()),
    namedtype.NamedType("aso-qualifier-form3", char.PrintableString()),
    namedtype.NamedType(
        "aso-qualifier-form4", univ.RelativeOID().subtype(implicitTag=implicit(0))
    ),
)


class AP_invocation_identifier(univ.Integer):
    pass


class AE_invocation_identifier(univ.Integer):
    pass


class ACSE_requirements(univ.BitString):
    pass


ACSE_requirements.namedValues = namedval.NamedValues(
    ("authentication", 0),
    ("aSO-context-negotiation", 1),
    ("higher-level-association", 2),
    ("nested-association", 3),
)


class Mechanism_name(univ.ObjectIdentifier):
    pass


class Authentication_value(univ.Choice):
    pass


Authentication_value.componentType = namedtype.NamedTypes(
    namedtype.NamedType("charstring", char.GraphicString().subtype(implicitTag=implicit(0))),
    namedtype.NamedType("bitstring", univ.BitString().subtype(implicitTag=implicit(1))),
    namedtype.NamedType("external", External().subtype(implicitTag=implicit(2, constructed=True))),
    # SEQUENCE { other-mechanism-name, other-mechanism-value }, kept encoded
    namedtype.NamedType("other", univ.Any().subtype(implicitTag=implicit(3, constructed=True))),
)


class ASO_context_name_list(univ.SequenceOf):
    pass


ASO_context_name_list.componentType = ASO_context_name()


class Implementation_data(char.GraphicString):
    pass


class Association_data(univ.SequenceOf):
    pass


Association_data.componentType = External()


class _ProtocolVersion(univ.BitString):
    pass


_ProtocolVersion.namedValues = namedval.NamedValues(("version1", 0))


class Associate_result(univ.Integer):
    pass


Associate_result.namedValues = namedval.NamedValues(
    ("accepted", 0), ("rejected-permanent", 1), ("rejected-transient", 2)
)


class _ServiceUserDiagnostic(univ.Integer):
    pass


_ServiceUserDiagnostic.namedValues = namedval.NamedValues(
    ("null", 0),
    ("no-reason-given", 1),
    ("application-context-name-not-supported", 2),
    ("calling-AP-title-not-recognized", 3),
    ("calling-AP-invocation-identifier-not-recognized", 4),
    ("calling-AE-qualifier-not-recognized", 5),
    ("calling-AE-invocation-identifier-not-recognized", 6),
    ("called-AP-title-not-recognized", 7),
    ("called-AP-invocation-identifier-not-recognized", 8),
    ("called-AE-qualifier-not-recognized", 9),
    ("called-AE-invocation-identifier-not-recognized", 10),
    ("authentication-mechanism-name-not-recognized", 11),
    ("authentication-mechanism-name-required", 12),
    ("authentication-failure", 13),
    ("authentication-required", 14),
)


class _ServiceProviderDiagnostic(univ.Integer):
    pass


_ServiceProviderDiagnostic.namedValues = namedval.NamedValues(
    ("null", 0), ("no-reason-given", 1), ("no-common-acse-version", 2)
)


class Associate_source_diagnostic(univ.Choice):
    pass


Associate_source_diagnostic.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "acse-service-user", _ServiceUserDiagnostic().subtype(explicitTag=explicit(1))
    ),
    namedtype.NamedType(
        "acse-service-provider", _ServiceProviderDiagnostic().subtype(explicitTag=explicit(2))
    ),
)


def _title_fields(first: int, prefix: str) -> list[namedtype.NamedType]:
    """The four optional AP-title .. AE-invocation-identifier fields, tagged
    [first] .. [first + 3] (explicit: a CHOICE or a default-tagged type)."""
    return [
        namedtype.OptionalNamedType(
            f"{prefix}-AP-title", AP_title().subtype(explicitTag=explicit(first))
        ),
        namedtype.OptionalNamedType(
            f"{prefix}-AE-qualifier", AE_qualifier().subtype(explicitTag=explicit(first + 1))
        ),
        namedtype.OptionalNamedType(
            f"{prefix}-AP-invocation-identifier",
            AP_invocation_identifier().subtype(explicitTag=explicit(first + 2)),
        ),
        namedtype.OptionalNamedType(
            f"{prefix}-AE-invocation-identifier",
            AE_invocation_identifier().subtype(explicitTag=explicit(first + 3)),
        ),
    ]


def _user_information() -> namedtype.OptionalNamedType:
    return namedtype.OptionalNamedType(
        "user-information",
        Association_data().subtype(implicitTag=implicit(30, constructed=True)),
    )


def _version_and_context() -> tuple[namedtype.NamedType, ...]:
    """protocol-version [0] and aSO-context-name [1]: AARQ's and AARE's first."""
    return (
        namedtype.OptionalNamedType(
            "protocol-version", _ProtocolVersion().subtype(implicitTag=implicit(0))
        ),
        namedtype.NamedType(
            "aSO-context-name", ASO_context_name().subtype(explicitTag=explicit(1))
        ),
    )


def _requirements_to_user_information(
    first: int, requirements: str, authentication: str
) -> tuple[namedtype.NamedType, ...]:
    """AARQ's and AARE's last fields: the ACSE requirements, mechanism name,
    authentication value and context name list tagged [first] .. [first + 3],
    then implementation-information [29] and user-information [30]."""
    return (
        namedtype.OptionalNamedType(
            requirements, ACSE_requirements().subtype(implicitTag=implicit(first))
        ),
        namedtype.OptionalNamedType(
            "mechanism-name", Mechanism_name().subtype(implicitTag=implicit(first + 1))
        ),
        namedtype.OptionalNamedType(
            authentication, Authentication_value().subtype(explicitTag=explicit(first + 2))
        ),
        namedtype.OptionalNamedType(
            "aSO-context-name-list",
            ASO_context_name_list().subtype(implicitTag=implicit(first + 3, constructed=True)),
        ),
        namedtype.OptionalNamedType(
            "implementation-information", Implementation_data().subtype(implicitTag=implicit(29))
        ),
        _user_information(),
    )


def _reason_and_user_information(reason: univ.Integer) -> namedtype.NamedTypes:
    """RLRQ's and RLRE's fields: reason [0] (of the request or the response)
    and user-information [30]."""
    return namedtype.NamedTypes(
        namedtype.OptionalNamedType("reason", reason.subtype(implicitTag=implicit(0))),
        _user_information(),
    )


class AARQ_apdu(univ.Sequence):
    pass


AARQ_apdu.tagSet = univ.Sequence.tagSet.tagImplicitly(application(0, constructed=True))
AARQ_apdu.componentType = namedtype.NamedTypes(
    *_version_and_context(),
    *_title_fields(2, "called"),
    *_title_fields(6, "calling"),
    *_requirements_to_user_information(
        10, "sender-acse-requirements", "calling-authentication-value"
    ),
)


class AARE_apdu(univ.Sequence):
    pass


AARE_apdu.tagSet = univ.Sequence.tagSet.tagImplicitly(application(1, constructed=True))
AARE_apdu.componentType = namedtype.NamedTypes(
    *_version_and_context(),
    namedtype.NamedType("result", Associate_result().subtype(explicitTag=explicit(2))),
    namedtype.NamedType(
        "result-source-diagnostic",
        Associate_source_diagnostic().subtype(explicitTag=explicit(3)),
    ),
    *_title_fields(4, "responding"),
    *_requirements_to_user_information(
        8, "responder-acse-requirements", "responding-authentication-value"
    ),
)


class Release_request_reason(univ.Integer):
    pass


Release_request_reason.namedValues = namedval.NamedValues(
    ("normal", 0), ("urgent", 1), ("user-defined", 30)
)


class Release_response_reason(univ.Integer):
    pass


Release_response_reason.namedValues = namedval.NamedValues(
    ("normal", 0), ("not-finished", 1), ("user-defined", 30)
)


class RLRQ_apdu(univ.Sequence):
    pass


RLRQ_apdu.tagSet = univ.Sequence.tagSet.tagImplicitly(application(2, constructed=True))
RLRQ_apdu.componentType = _reason_and_user_information(Release_request_reason())


class RLRE_apdu(univ.Sequence):
    pass


RLRE_apdu.tagSet = univ.Sequence.tagSet.tagImplicitly(application(3, constructed=True))
RLRE_apdu.componentType = _reason_and_user_information(Release_response_reason())


class ABRT_source(univ.Integer):
    pass


ABRT_source.namedValues = namedval.NamedValues(
    ("acse-service-user", 0), ("acse-service-provider", 1)
)


class ABRT_diagnostic(univ.Enumerated):
    pass


ABRT_diagnostic.namedValues = namedval.NamedValues(
    ("no-reason-given", 1),
    ("protocol-error", 2),
    ("authentication-mechanism-name-not-recognized", 3),
    ("authentication-mechanism-name-required", 4),
    ("authentication-failure", 5),
    ("authentication-required", 6),
)


class ABRT_apdu(univ.Sequence):
    pass


ABRT_apdu.tagSet = univ.Sequence.tagSet.tagImplicitly(application(4, constructed=True))
ABRT_apdu.componentType = namedtype.NamedTypes(
    namedtype.NamedType("abort-source", ABRT_source().subtype(implicitTag=implicit(0))),
    namedtype.OptionalNamedType(
        "abort-diagnostic", ABRT_diagnostic().subtype(implicitTag=implicit(1))
    ),
    _user_information(),
)


class ACSE_apdu(univ.Choice):
    pass


ACSE_apdu.componentType = namedtype.NamedTypes(
    namedtype.NamedType("aarq", AARQ_apdu()),
    namedtype.NamedType("aare", AARE_apdu()),
    namedtype.NamedType("rlrq", RLRQ_apdu()),
    namedtype.NamedType("rlre", RLRE_apdu()),
    namedtype.NamedType("abrt", ABRT_apdu()),
)
