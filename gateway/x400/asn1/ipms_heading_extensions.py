# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# IPMSHeadingExtensions {joint-iso-itu-t mhs(6) ipms(1) modules(0)
#   heading-extensions(6) version-1999(1)}, ITU-T X.420 (06/1999),
#   DEFINITIONS IMPLICIT TAGS
#
# and the MIXER extensions of RFC 2156 (5.1.2, 5.1.8.2, Appendix D):
# rfc-822-field-list (an IPMS heading extension carrying RFC 822 header
# fields that have no X.400 equivalent), dsn-header-list and dsn-field-list
# (MTS private extensions of a report), and the eit-mixer pseudo-EIT.
#
# Simplified, each for a stated reason:
# - BodyPartSignatures is opaque (kept encoded): it needs the X.509
#   AuthenticationFramework and CertificateExtensions, and the gateway
#   neither signs nor verifies.
# - CirculationSignature (SIGNED{...}) is typed as its outer SEQUENCE with the
#   signed data kept encoded.
"""X.420 IPMSHeadingExtensions and the MIXER (RFC 2156) extensions."""

# ruff: noqa: RUF005 -- "oid + (n,)" keeps a univ.ObjectIdentifier; "(*oid, n)" would not

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyasn1.type import char, constraint, namedtype, namedval, univ, useful
from pyasn1_modules import rfc5280

from gateway.x400.asn1 import ber, mts
from gateway.x400.asn1 import ipms_object_identifiers as oids
from gateway.x400.asn1.ipms import IPMSExtension, ORDescriptor, RecipientSpecifier
from gateway.x400.asn1.ipms_upper_bounds import (
    ub_alpha_code_length,
    ub_circulation_list_members,
    ub_distribution_codes,
    ub_extended_subject_length,
    ub_information_categories,
    ub_information_category_length,
    ub_manual_handling_instruction_length,
    ub_manual_handling_instructions,
    ub_originators_reference_length,
    ub_precedence,
)
from gateway.x400.asn1.mts import (
    AbsentWhenEmpty,
    SecurityLabel,
    UniversalOrBMPString,
    universal_or_bmp_string,
)
from gateway.x400.asn1.tags import implicit

# -- Incomplete Copy


class IncompleteCopy(univ.Null):
    pass


# -- Languages


class Language(char.PrintableString):
    pass


Language.subtypeSpec = constraint.ConstraintsUnion(
    constraint.ValueSizeConstraint(2, 2), constraint.ValueSizeConstraint(5, 5)
)


class Languages(univ.SetOf):
    """The VALUE of languages: SET OF Language."""


Languages.componentType = Language()


# -- Auto-submitted


class AutoSubmitted(univ.Enumerated):
    pass


AutoSubmitted.namedValues = namedval.NamedValues(
    ("not-auto-submitted", 0), ("auto-generated", 1), ("auto-replied", 2)
)


# -- Body part signatures: opaque (see the header)


class BodyPartSignatures(univ.Any):
    """SET OF SET { body-part-number, body-part-signature SIGNATURE{...}, ... }, opaque."""


# -- IPM security label


class BodyPartSecurityLabel(univ.Choice):
    pass


BodyPartSecurityLabel.componentType = namedtype.NamedTypes(
    namedtype.NamedType("body-part-unlabelled", univ.Null().subtype(implicitTag=implicit(0))),
    namedtype.NamedType(
        "body-part-security-label",
        SecurityLabel().subtype(implicitTag=implicit(1, constructed=True)),
    ),
)


class _OptionalSecurityLabel(AbsentWhenEmpty, SecurityLabel):
    """SecurityLabel (all components OPTIONAL) in an OPTIONAL position."""


class IPMSecurityLabel(univ.Sequence):
    pass


IPMSecurityLabel.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "content-security-label",
        SecurityLabel().subtype(implicitTag=implicit(0, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "heading-security-label",
        _OptionalSecurityLabel().subtype(implicitTag=implicit(1, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "body-part-security-labels",
        univ.SequenceOf(componentType=BodyPartSecurityLabel()).subtype(
            implicitTag=implicit(2, constructed=True)
        ),
    ),
)


# -- Authorization Time


class AuthorizationTime(useful.GeneralizedTime):
    pass


# -- Circulation List


class CirculationTime(useful.GeneralizedTime):
    pass


class CirculationSignature(univ.Sequence):
    pass


# SIGNED{SEQUENCE {algorithm-identifier, this-IPM, timestamp}} (X.509):
# SEQUENCE { toBeSigned, algorithmIdentifier, encrypted BIT STRING }, the
# signed data kept encoded.
CirculationSignature.componentType = namedtype.NamedTypes(
    namedtype.NamedType("toBeSigned", univ.Any()),
    namedtype.NamedType("algorithmIdentifier", rfc5280.AlgorithmIdentifier()),
    namedtype.NamedType("encrypted", univ.BitString()),
)


class Checkmark(univ.Choice):
    pass


Checkmark.componentType = namedtype.NamedTypes(
    namedtype.NamedType("simple", univ.Null()),
    namedtype.NamedType("timestamped", CirculationTime()),
    namedtype.NamedType("signed", CirculationSignature()),
)


class CirculationMember(univ.Set):
    pass


# circulation-recipient: a RecipientSpecifier whose recipient has a formal-name
CirculationMember.componentType = namedtype.NamedTypes(
    namedtype.NamedType("circulation-recipient", RecipientSpecifier()),
    namedtype.OptionalNamedType("checked", Checkmark()),
)


class CirculationList(univ.SequenceOf):
    pass


CirculationList.componentType = CirculationMember()
CirculationList.subtypeSpec = constraint.ValueSizeConstraint(2, ub_circulation_list_members)


class CirculationListIndicator(univ.Null):
    """The VALUE of circulation-list-indicator (a recipient extension): NULL."""


# -- Distribution Codes


class AlphaCode(UniversalOrBMPString):
    pass


AlphaCode.componentType = universal_or_bmp_string(ub_alpha_code_length)


class _OptionalORDescriptor(AbsentWhenEmpty, ORDescriptor):
    """ORDescriptor (all components OPTIONAL) in an OPTIONAL position."""


class DistributionCode(univ.Sequence):
    pass


DistributionCode.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType("oid-code", univ.ObjectIdentifier()),
    namedtype.OptionalNamedType("alphanumeric-code", AlphaCode()),
    namedtype.OptionalNamedType(
        "or-descriptor",
        _OptionalORDescriptor().subtype(implicitTag=implicit(0, constructed=True)),
    ),
)


class DistributionCodes(univ.SequenceOf):
    pass


DistributionCodes.componentType = DistributionCode()
DistributionCodes.subtypeSpec = constraint.ValueSizeConstraint(1, ub_distribution_codes)


# -- Extended Subject


class ExtendedSubject(UniversalOrBMPString):
    pass


ExtendedSubject.componentType = universal_or_bmp_string(ub_extended_subject_length)


# -- Information category


class DescriptionString(UniversalOrBMPString):
    pass


DescriptionString.componentType = universal_or_bmp_string(ub_information_category_length)


class InformationCategory(univ.Sequence):
    pass


InformationCategory.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "reference", univ.ObjectIdentifier().subtype(implicitTag=implicit(0))
    ),
    namedtype.OptionalNamedType(
        "description", DescriptionString().subtype(implicitTag=implicit(1, constructed=True))
    ),
)


class InformationCategories(univ.SequenceOf):
    pass


InformationCategories.componentType = InformationCategory()
InformationCategories.subtypeSpec = constraint.ValueSizeConstraint(1, ub_information_categories)


# -- Manual handling Instructions


class ManualHandlingInstruction(UniversalOrBMPString):
    pass


ManualHandlingInstruction.componentType = universal_or_bmp_string(
    ub_manual_handling_instruction_length
)


class ManualHandlingInstructions(univ.SequenceOf):
    pass


ManualHandlingInstructions.componentType = ManualHandlingInstruction()
ManualHandlingInstructions.subtypeSpec = constraint.ValueSizeConstraint(
    1, ub_manual_handling_instructions
)


# -- Originator's Reference


class OriginatorsReference(UniversalOrBMPString):
    pass


OriginatorsReference.componentType = universal_or_bmp_string(ub_originators_reference_length)


# -- Precedence Policy Identifier, Precedence


class PrecedencePolicyIdentifier(univ.ObjectIdentifier):
    pass


class Precedence(univ.Integer):
    pass


Precedence.subtypeSpec = constraint.ValueRangeConstraint(0, ub_precedence)


# -- MIXER, RFC 2156 Appendix D: object identifiers

internet = univ.ObjectIdentifier((1, 3, 6, 1))  # { iso org(3) dod(6) 1 }
mail = internet + (7,)  # IANA assigned
mixer = mail + (1,)  # inherited from RFC 1495
mixer_core = mixer + (3,)
# not the OID of RFC 1327, which was erroneous (RFC 2156 App. D)
id_rfc_822_field_list = mixer_core + (2,)
id_dsn_header_list = mixer_core + (3,)
id_dsn_field_list = mixer_core + (4,)
eit_mixer = mixer_core + (5,)  # the MIXER pseudo-EIT


# -- MIXER, RFC 2156 5.1.2: rfc-822-field HEADING-EXTENSION


class RFC822Field(char.IA5String):
    """One unfolded RFC 822 header field without its CRLF, no space before
    the colon ("Fruit-Of-The-Day: Kiwi Fruit")."""


class RFC822FieldList(univ.SequenceOf):
    pass


RFC822FieldList.componentType = RFC822Field()


# -- The registries of IPMS extensions (IPMS-EXTENSION information objects)
#
# One explicit table per place an IPMSExtension appears: the heading's
# extensions field and a recipient specifier's recipient-extensions.  An
# extension not listed is read as its encoding and relayed intact.


@dataclass(frozen=True)
class IPMSExtensionType:
    """One IPMS-EXTENSION information object."""

    name: str
    id: Any  # univ.ObjectIdentifier
    type: Any  # pyasn1 schema of the VALUE
    opaque: bool = False  # kept encoded (type is a univ.Any)


def _table(*kinds: IPMSExtensionType) -> dict[tuple[int, ...], IPMSExtensionType]:
    return {tuple(kind.id): kind for kind in kinds}


HEADING_EXTENSION_TYPES: dict[tuple[int, ...], IPMSExtensionType] = _table(
    IPMSExtensionType("incomplete-copy", oids.id_hex_incomplete_copy, IncompleteCopy()),
    IPMSExtensionType("languages", oids.id_hex_languages, Languages()),
    IPMSExtensionType("auto-submitted", oids.id_hex_auto_submitted, AutoSubmitted()),
    IPMSExtensionType(
        "body-part-signatures",
        oids.id_hex_body_part_signatures,
        BodyPartSignatures(),
        opaque=True,
    ),
    IPMSExtensionType("ipm-security-label", oids.id_hex_ipm_security_label, IPMSecurityLabel()),
    IPMSExtensionType("authorization-time", oids.id_hex_authorization_time, AuthorizationTime()),
    IPMSExtensionType(
        "circulation-list-recipients",
        oids.id_hex_circulation_list_recipients,
        CirculationList(),
    ),
    IPMSExtensionType("distribution-codes", oids.id_hex_distribution_codes, DistributionCodes()),
    IPMSExtensionType("extended-subject", oids.id_hex_extended_subject, ExtendedSubject()),
    IPMSExtensionType(
        "information-category", oids.id_hex_information_category, InformationCategories()
    ),
    IPMSExtensionType(
        "manual-handling-instructions",
        oids.id_hex_manual_handling_instructions,
        ManualHandlingInstructions(),
    ),
    IPMSExtensionType(
        "originators-reference", oids.id_hex_originators_reference, OriginatorsReference()
    ),
    IPMSExtensionType(
        "precedence-policy-identifier",
        oids.id_hex_precedence_policy_id,
        PrecedencePolicyIdentifier(),
    ),
    IPMSExtensionType("rfc-822-field-list", id_rfc_822_field_list, RFC822FieldList()),
)

RECIPIENT_EXTENSION_TYPES: dict[tuple[int, ...], IPMSExtensionType] = _table(
    IPMSExtensionType(
        "circulation-list-indicator",
        oids.id_rex_circulation_list_indicator,
        CirculationListIndicator(),
    ),
    IPMSExtensionType("precedence", oids.id_rex_precedence, Precedence()),
)

# RFC 2156 5.1.8.2: MTS private extensions (ExtensionType private-extension),
# added to PerReportTransferFields.extensions; mta.EXTENSIONS lists them.
DSN_EXTENSIONS: tuple[mts.ExtensionKind, ...] = (
    mts.ExtensionKind("dsn-header-list", tuple(id_dsn_header_list), RFC822FieldList()),
    mts.ExtensionKind("dsn-field-list", tuple(id_dsn_field_list), RFC822FieldList()),
)

_NULL = b"\x05\x00"


# -- Helpers (typed: pyasn1 values are Any to mypy)


def ipms_extension(type_id: Any, value: Any = None) -> Any:
    """An IPMSExtension identified by *type_id* carrying *value* (a pyasn1
    value, its encoding, or None for the default NULL)."""
    ext = IPMSExtension()
    ext["type"] = type_id
    if value is not None:
        encoded = bytes(value) if isinstance(value, bytes | bytearray) else ber.encode(value)
        if encoded != _NULL:
            ext["value"] = encoded
    return ext


@dataclass(frozen=True)
class DecodedIPMSExtension:
    """An IPMSExtension read through a registry: ``kind`` None (unknown) or
    opaque means ``value`` is the encoding as received."""

    kind: IPMSExtensionType | None
    id: tuple[int, ...]
    value: Any
    encoded: bytes


def read_ipms_extension(
    ext: Any,
    registry: Mapping[tuple[int, ...], IPMSExtensionType] = HEADING_EXTENSION_TYPES,
    **limits: int,
) -> DecodedIPMSExtension:
    """Type the value of an IPMSExtension by its OID with the bounded
    decoder (HEADING_EXTENSION_TYPES by default; pass
    RECIPIENT_EXTENSION_TYPES for recipient-extensions)."""
    type_id = tuple(ext["type"])
    encoded = bytes(ext["value"])
    kind = registry.get(type_id)
    if kind is None or kind.opaque:
        return DecodedIPMSExtension(kind, type_id, encoded, encoded)
    return DecodedIPMSExtension(kind, type_id, ber.decode(encoded, kind.type, **limits), encoded)
