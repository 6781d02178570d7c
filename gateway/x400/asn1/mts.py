# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# MTSAbstractService {joint-iso-itu-t mhs(6) mts(3) modules(0)
#   mts-abstract-service(1) version-1999(1)}, ITU-T X.411 (06/1999),
#   DEFINITIONS IMPLICIT TAGS
#
# SUBSET: only the types that IPMSInformationObjects (X.420) imports --
# ORName, Time, MessageDeliveryTime, OtherMessageDeliveryFields,
# SupplementaryInformation, EncodedInformationTypes and the non-basic
# parameters.  The envelopes, reports, probes and the typed extensions
# belong to the MTS-APDU work (issue 7 item 1) and extend this file.
#
# The O/R address is pyasn1_modules.rfc5280.ORAddress, which models the
# X.411 ORAddress (RFC 5280 copies it from X.411 1988).
"""X.411 MTSAbstractService (subset imported by the IPMS modules)."""

from __future__ import annotations

from pyasn1.type import char, constraint, namedtype, namedval, tag, univ, useful
from pyasn1_modules import rfc5280

from gateway.x400.asn1.upper_bounds import (
    ub_bit_options,
    ub_built_in_content_type,
    ub_built_in_encoded_information_types,
    ub_content_id_length,
    ub_encoded_information_types,
    ub_extension_types,
    ub_recipients,
    ub_supplementary_info_length,
)


def _implicit(number: int, constructed: bool = False) -> tag.Tag:
    fmt = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    return tag.Tag(tag.tagClassContext, fmt, number)


def _explicit(number: int) -> tag.Tag:
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, number)


def _application(number: int, constructed: bool = False) -> tag.Tag:
    fmt = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    return tag.Tag(tag.tagClassApplication, fmt, number)


class Time(useful.UTCTime):
    pass


class MessageDeliveryTime(Time):
    pass


class MessageSubmissionTime(Time):
    pass


# --	OR Names

ORAddress = rfc5280.ORAddress


class ORName(univ.Sequence):
    pass


# ORName ::= [APPLICATION 0] SEQUENCE { COMPONENTS OF ORAddress,
#                                       directory-name [0] Name OPTIONAL }
# Name is a CHOICE, so its [0] tag is explicit even in an IMPLICIT TAGS module.
ORName.tagSet = univ.Sequence.tagSet.tagImplicitly(_application(0, constructed=True))
ORName.componentType = namedtype.NamedTypes(
    *rfc5280.ORAddress.componentType.namedTypes,
    namedtype.OptionalNamedType(
        "directory-name", rfc5280.Name().subtype(explicitTag=_explicit(0))
    ),
)


class ORAddressAndOrDirectoryName(ORName):
    pass


class ORAddressAndOptionalDirectoryName(ORName):
    pass


# --	Encoded Information Types


class BuiltInEncodedInformationTypes(univ.BitString):
    pass


BuiltInEncodedInformationTypes.namedValues = namedval.NamedValues(
    ("unknown", 0),
    ("ia5-text", 2),
    ("g3-facsimile", 3),
    ("g4-class-1", 4),
    ("teletex", 5),
    ("videotex", 6),
    ("voice", 7),
    ("sfd", 8),
    ("mixed-mode", 9),
)
BuiltInEncodedInformationTypes.subtypeSpec = constraint.ValueSizeConstraint(
    0, ub_built_in_encoded_information_types
)


class ExtendedEncodedInformationType(univ.ObjectIdentifier):
    pass


class ExtendedEncodedInformationTypes(univ.SetOf):
    pass


ExtendedEncodedInformationTypes.componentType = ExtendedEncodedInformationType()
ExtendedEncodedInformationTypes.subtypeSpec = constraint.ValueSizeConstraint(
    1, ub_encoded_information_types
)


class G3FacsimileNonBasicParameters(univ.BitString):
    pass


G3FacsimileNonBasicParameters.namedValues = namedval.NamedValues(
    ("two-dimensional", 8),
    ("fine-resolution", 9),
    ("unlimited-length", 20),
    ("b4-length", 21),
    ("a3-width", 22),
    ("b4-width", 23),
    ("t6-coding", 25),
    ("uncompressed", 30),
    ("width-middle-864-of-1728", 37),
    ("width-middle-1216-of-1728", 38),
    ("resolution-type", 44),
    ("resolution-400x400", 45),
    ("resolution-300x300", 46),
    ("resolution-8x15", 47),
    ("edi", 49),
    ("dtm", 50),
    ("bft", 51),
    ("mixed-mode", 58),
    ("character-mode", 60),
    ("twelve-bits", 65),
    ("preferred-huffmann", 66),
    ("full-colour", 67),
    ("jpeg", 68),
    ("processable-mode-26", 71),
)


class TeletexNonBasicParameters(univ.Set):
    pass


TeletexNonBasicParameters.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "graphic-character-sets", char.TeletexString().subtype(implicitTag=_implicit(0))
    ),
    namedtype.OptionalNamedType(
        "control-character-sets", char.TeletexString().subtype(implicitTag=_implicit(1))
    ),
    namedtype.OptionalNamedType(
        "page-formats", univ.OctetString().subtype(implicitTag=_implicit(2))
    ),
    namedtype.OptionalNamedType(
        "miscellaneous-terminal-capabilities",
        char.TeletexString().subtype(implicitTag=_implicit(3)),
    ),
    namedtype.OptionalNamedType(
        "private-use", univ.OctetString().subtype(implicitTag=_implicit(4))
    ),
)


class EncodedInformationTypes(univ.Set):
    pass


# EncodedInformationTypes ::= [APPLICATION 5] SET {
#   built-in-encoded-information-types [0] BuiltInEncodedInformationTypes,
#   COMPONENTS OF NonBasicParameters,  -- g3-facsimile [1], teletex [2]
#   extended-encoded-information-types [4] ... OPTIONAL }
# NonBasicParameters' "DEFAULT {}" components are modelled as OPTIONAL: absent
# means the empty default, and a present empty value is kept as sent.
EncodedInformationTypes.tagSet = univ.Set.tagSet.tagImplicitly(_application(5, constructed=True))
EncodedInformationTypes.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "built-in-encoded-information-types",
        BuiltInEncodedInformationTypes().subtype(implicitTag=_implicit(0)),
    ),
    namedtype.OptionalNamedType(
        "g3-facsimile", G3FacsimileNonBasicParameters().subtype(implicitTag=_implicit(1))
    ),
    namedtype.OptionalNamedType(
        "teletex",
        TeletexNonBasicParameters().subtype(implicitTag=_implicit(2, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "extended-encoded-information-types",
        ExtendedEncodedInformationTypes().subtype(implicitTag=_implicit(4, constructed=True)),
    ),
)


class OriginalEncodedInformationTypes(EncodedInformationTypes):
    pass


class ConvertedEncodedInformationTypes(EncodedInformationTypes):
    pass


# --	Content types, priority, delivery flags


class BuiltInContentType(univ.Integer):
    pass


BuiltInContentType.tagSet = univ.Integer.tagSet.tagImplicitly(_application(6))
BuiltInContentType.namedValues = namedval.NamedValues(
    ("unidentified", 0),
    ("external", 1),
    ("interpersonal-messaging-1984", 2),
    ("interpersonal-messaging-1988", 22),
    ("edi-messaging", 35),
    ("voice-messaging", 40),
)
BuiltInContentType.subtypeSpec = constraint.ValueRangeConstraint(0, ub_built_in_content_type)


class ExtendedContentType(univ.RelativeOID):
    pass


class DeliveredContentType(univ.Choice):
    pass


DeliveredContentType.componentType = namedtype.NamedTypes(
    namedtype.NamedType("built-in", BuiltInContentType().subtype(implicitTag=_implicit(0))),
    namedtype.NamedType("extended", ExtendedContentType()),
)


class ContentIdentifier(char.PrintableString):
    pass


ContentIdentifier.tagSet = char.PrintableString.tagSet.tagImplicitly(_application(10))
ContentIdentifier.subtypeSpec = constraint.ValueSizeConstraint(1, ub_content_id_length)


class Priority(univ.Enumerated):
    pass


Priority.tagSet = univ.Enumerated.tagSet.tagImplicitly(_application(7))
Priority.namedValues = namedval.NamedValues(("normal", 0), ("non-urgent", 1), ("urgent", 2))


class DeliveryFlags(univ.BitString):
    pass


DeliveryFlags.namedValues = namedval.NamedValues(("implicit-conversion-prohibited", 1))
DeliveryFlags.subtypeSpec = constraint.ValueSizeConstraint(0, ub_bit_options)


class OtherRecipientName(ORAddressAndOptionalDirectoryName):
    pass


class OtherRecipientNames(univ.SequenceOf):
    pass


OtherRecipientNames.componentType = OtherRecipientName()
OtherRecipientNames.subtypeSpec = constraint.ValueSizeConstraint(1, ub_recipients)


class SupplementaryInformation(char.PrintableString):
    pass


SupplementaryInformation.subtypeSpec = constraint.ValueSizeConstraint(
    1, ub_supplementary_info_length
)


# --	Extensions


class ExtensionType(univ.Choice):
    pass


ExtensionType.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "standard-extension",
        univ.Integer().subtype(
            implicitTag=_implicit(0),
            subtypeSpec=constraint.ValueRangeConstraint(0, ub_extension_types),
        ),
    ),
    namedtype.NamedType(
        "private-extension", univ.ObjectIdentifier().subtype(implicitTag=_implicit(3))
    ),
)


class Criticality(univ.BitString):
    pass


Criticality.namedValues = namedval.NamedValues(
    ("for-submission", 0), ("for-transfer", 1), ("for-delivery", 2)
)
Criticality.subtypeSpec = constraint.ValueSizeConstraint(0, ub_bit_options)


class ExtensionField(univ.Sequence):
    pass


# ExtensionField{EXTENSION:ChosenFrom} ::= SEQUENCE {
#   type         EXTENSION.&id({ChosenFrom}),
#   criticality  [1] Criticality DEFAULT {},
#   value        [2] EXTENSION.&Type({ChosenFrom}{@type}) DEFAULT NULL:NULL }
# The value is an open type (so its tag is explicit) kept here as the encoded
# value; typing known extensions is the MTS-APDU work.  "DEFAULT {}" of the
# criticality is modelled as OPTIONAL (absent == no flag set).
ExtensionField.componentType = namedtype.NamedTypes(
    namedtype.NamedType("type", ExtensionType()),
    namedtype.OptionalNamedType("criticality", Criticality().subtype(implicitTag=_implicit(1))),
    namedtype.DefaultedNamedType("value", univ.Any(b"\x05\x00").subtype(explicitTag=_explicit(2))),
)


class MessageDeliveryExtensions(univ.SetOf):
    pass


MessageDeliveryExtensions.componentType = ExtensionField()


class OtherMessageDeliveryFields(univ.Set):
    pass


OtherMessageDeliveryFields.componentType = namedtype.NamedTypes(
    namedtype.NamedType("content-type", DeliveredContentType()),
    namedtype.NamedType("originator-name", ORAddressAndOptionalDirectoryName()),
    namedtype.OptionalNamedType(
        "original-encoded-information-types",
        OriginalEncodedInformationTypes().subtype(implicitTag=_implicit(1, constructed=True)),
    ),
    namedtype.DefaultedNamedType("priority", Priority("normal")),
    namedtype.OptionalNamedType(
        "delivery-flags", DeliveryFlags().subtype(implicitTag=_implicit(2))
    ),
    namedtype.OptionalNamedType(
        "other-recipient-names",
        OtherRecipientNames().subtype(implicitTag=_implicit(3, constructed=True)),
    ),
    namedtype.NamedType(
        "this-recipient-name",
        ORAddressAndOptionalDirectoryName().subtype(implicitTag=_implicit(4, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "originally-intended-recipient-name",
        ORAddressAndOptionalDirectoryName().subtype(implicitTag=_implicit(5, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "converted-encoded-information-types",
        ConvertedEncodedInformationTypes().subtype(implicitTag=_implicit(6, constructed=True)),
    ),
    namedtype.NamedType(
        "message-submission-time", MessageSubmissionTime().subtype(implicitTag=_implicit(7))
    ),
    namedtype.OptionalNamedType(
        "content-identifier", ContentIdentifier().subtype(implicitTag=_implicit(8))
    ),
    # "DEFAULT {}" modelled as OPTIONAL (absent == no extensions)
    namedtype.OptionalNamedType(
        "extensions",
        MessageDeliveryExtensions().subtype(implicitTag=_implicit(9, constructed=True)),
    ),
)
