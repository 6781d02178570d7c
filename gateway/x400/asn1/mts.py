# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# MTSAbstractService {joint-iso-itu-t mhs(6) mts(3) modules(0)
#   mts-abstract-service(1) version-1999(1)}, ITU-T X.411 (06/1999),
#   DEFINITIONS IMPLICIT TAGS
#
# The types the P1 transfer protocol (MTAAbstractService, mta.py) and the
# IPMS modules import: identifiers, O/R names, encoded information types,
# content types, the per-message and per-recipient flags, reports'
# reason/diagnostic codes, credentials, security labels, and every standard
# extension this module defines, listed with its value type in the one
# registry MTS_EXTENSIONS at the end.  Not modelled: the submission, delivery
# and administration ports (P3), which a P1 gateway never sees.
#
# Written from the 1999 text; every type here encodes as in X.411 (1988) where
# 1988 defined it.  Deliberate deviations, each for a stated reason:
# - "DEFAULT {}" on SET OF / BIT STRING components is OPTIONAL: absent means
#   the empty default, and pyasn1 cannot hold an empty constructed default.
# - The security types that need the X.509 AuthenticationFramework
#   (Certificates, Token, SIGNATURE{}/SIGNED{}, CertificateAssertion) are
#   opaque: univ.Any subclasses holding the encoding as sent, so they are
#   relayed intact.  The gateway neither signs nor verifies.
# - ExtensionType accepts the [0] of standard-extension constructed around a
#   universal INTEGER (a0 03 02 01 17, as PP sends it) as well as the
#   IMPLICIT form (80 01 17), and always encodes the IMPLICIT one; see
#   StandardExtension.
# - ContentType also accepts an OBJECT IDENTIFIER: X.411 (1992/1996) defined
#   ExtendedContentType ::= OBJECT IDENTIFIER, 1999 a RELATIVE-OID.
#
# The O/R address is pyasn1_modules.rfc5280.ORAddress, which models the
# X.411 ORAddress (RFC 5280 copies it from X.411 1988); CountryName,
# AdministrationDomainName and PrivateDomainName come from there too.
"""X.411 MTSAbstractService: the types and extensions P1 and P22 use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyasn1 import error as pyasn1_error
from pyasn1.type import base, char, constraint, namedtype, namedval, tagmap, univ, useful
from pyasn1_modules import rfc5280

from gateway.x400.asn1 import ber
from gateway.x400.asn1.tags import application, explicit, implicit
from gateway.x400.asn1.upper_bounds import (
    ub_bit_options,
    ub_built_in_content_type,
    ub_built_in_encoded_information_types,
    ub_content_id_length,
    ub_content_length,
    ub_diagnostic_codes,
    ub_dl_expansions,
    ub_encoded_information_types,
    ub_extension_types,
    ub_integer_options,
    ub_local_id_length,
    ub_mta_name_length,
    ub_mts_user_types,
    ub_orig_and_dl_expansions,
    ub_password_length,
    ub_privacy_mark_length,
    ub_reason_codes,
    ub_recipient_number_for_advice_length,
    ub_recipients,
    ub_redirections,
    ub_security_categories,
    ub_security_labels,
    ub_supplementary_info_length,
)


class TaggedAny(univ.Any):
    """An open or opaque value in a tagged position, kept as its encoding.

    pyasn1 gives every univ.Any a tag map with itself as the default type,
    so two tagged ANYs in one SET or CHOICE clash ("duplicate default"), and
    one would claim any unexpected tag.  A TaggedAny answers to its own tag
    only.  (Untagged ANYs stay univ.Any: they must match any tag.)"""

    @property
    def tagMap(self) -> tagmap.TagMap:
        return tagmap.TagMap({self.tagSet: self})


class AbsentWhenEmpty:
    """Mixin for a SET or SEQUENCE whose components are all OPTIONAL and
    which is itself an OPTIONAL (or DEFAULT {}) component: it counts as
    present only once one of its components is.

    pyasn1's encoder instantiates every unset component before the last set
    one, and an all-optional SET is "a value" even when empty, so without
    this an absent one would go on the wire as an empty SET (``a2 00``).  A
    present empty one from a peer is re-encoded as absent, which for
    "DEFAULT {}" is the DER form anyway."""

    _componentValues: Any

    @property
    def isValue(self) -> bool:
        values = self._componentValues
        if values is base.noValue:
            return False
        return any(value is not base.noValue and value.isValue for value in values)


class Time(useful.UTCTime):
    pass


class MessageDeliveryTime(Time):
    pass


class MessageSubmissionTime(Time):
    pass


class DeferredDeliveryTime(Time):
    pass


# --	OR Names

ORAddress = rfc5280.ORAddress
CountryName = rfc5280.CountryName
AdministrationDomainName = rfc5280.AdministrationDomainName
PrivateDomainName = rfc5280.PrivateDomainName


class ORName(univ.Sequence):
    pass


# ORName ::= [APPLICATION 0] SEQUENCE { COMPONENTS OF ORAddress,
#                                       directory-name [0] Name OPTIONAL }
# Name is a CHOICE, so its [0] tag is explicit even in an IMPLICIT TAGS module.
ORName.tagSet = univ.Sequence.tagSet.tagImplicitly(application(0, constructed=True))
ORName.componentType = namedtype.NamedTypes(
    *rfc5280.ORAddress.componentType.namedTypes,
    namedtype.OptionalNamedType("directory-name", rfc5280.Name().subtype(explicitTag=explicit(0))),
)


class ORAddressAndOrDirectoryName(ORName):
    pass


class ORAddressAndOptionalDirectoryName(ORName):
    pass


class OriginatorName(ORAddressAndOrDirectoryName):
    pass


class RecipientName(ORAddressAndOrDirectoryName):
    pass


class DeliveredOriginatorName(ORAddressAndOptionalDirectoryName):
    pass


class ThisRecipientName(ORAddressAndOptionalDirectoryName):
    pass


class OriginallyIntendedRecipientName(ORAddressAndOptionalDirectoryName):
    pass


class ActualRecipientName(ORAddressAndOrDirectoryName):
    pass


# --	UniversalOrBMPString{INTEGER:ub-string-length}, a parameterized type:
# 	each user subclasses UniversalOrBMPString and sets its componentType to
# 	universal_or_bmp_string(its bound).


def universal_or_bmp_string(ub_string_length: int) -> namedtype.NamedTypes:
    """The components of UniversalOrBMPString{ub-string-length}."""
    return namedtype.NamedTypes(
        namedtype.NamedType(
            "character-encoding",
            univ.Choice(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "two-octets",
                        char.BMPString().subtype(
                            subtypeSpec=constraint.ValueSizeConstraint(1, ub_string_length)
                        ),
                    ),
                    namedtype.NamedType(
                        "four-octets",
                        char.UniversalString().subtype(
                            subtypeSpec=constraint.ValueSizeConstraint(1, ub_string_length)
                        ),
                    ),
                )
            ),
        ),
        namedtype.OptionalNamedType(
            "iso-639-language-code",
            char.PrintableString().subtype(
                subtypeSpec=constraint.ConstraintsUnion(
                    constraint.ValueSizeConstraint(2, 2), constraint.ValueSizeConstraint(5, 5)
                )
            ),
        ),
    )


class UniversalOrBMPString(univ.Set):
    pass


# --	Common Parameter Types


class Content(univ.OctetString):
    """The content, kept encoded: its type is named by the content-type."""


class PrivateDomainIdentifier(rfc5280.PrivateDomainName):
    pass


class GlobalDomainIdentifier(univ.Sequence):
    pass


GlobalDomainIdentifier.tagSet = univ.Sequence.tagSet.tagImplicitly(
    application(3, constructed=True)
)
GlobalDomainIdentifier.componentType = namedtype.NamedTypes(
    namedtype.NamedType("country-name", CountryName()),
    namedtype.NamedType("administration-domain-name", AdministrationDomainName()),
    namedtype.OptionalNamedType("private-domain-identifier", PrivateDomainIdentifier()),
)


class LocalIdentifier(char.IA5String):
    pass


LocalIdentifier.subtypeSpec = constraint.ValueSizeConstraint(1, ub_local_id_length)


class MTSIdentifier(univ.Sequence):
    pass


MTSIdentifier.tagSet = univ.Sequence.tagSet.tagImplicitly(application(4, constructed=True))
MTSIdentifier.componentType = namedtype.NamedTypes(
    namedtype.NamedType("global-domain-identifier", GlobalDomainIdentifier()),
    namedtype.NamedType("local-identifier", LocalIdentifier()),
)


class MessageDeliveryIdentifier(MTSIdentifier):
    pass


class SubjectSubmissionIdentifier(MTSIdentifier):
    pass


class MessageSubmissionIdentifier(MTSIdentifier):
    pass


class MTAName(char.IA5String):
    pass


MTAName.subtypeSpec = constraint.ValueSizeConstraint(1, ub_mta_name_length)


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


class TeletexNonBasicParameters(AbsentWhenEmpty, univ.Set):
    pass


TeletexNonBasicParameters.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "graphic-character-sets", char.TeletexString().subtype(implicitTag=implicit(0))
    ),
    namedtype.OptionalNamedType(
        "control-character-sets", char.TeletexString().subtype(implicitTag=implicit(1))
    ),
    namedtype.OptionalNamedType(
        "page-formats", univ.OctetString().subtype(implicitTag=implicit(2))
    ),
    namedtype.OptionalNamedType(
        "miscellaneous-terminal-capabilities",
        char.TeletexString().subtype(implicitTag=implicit(3)),
    ),
    namedtype.OptionalNamedType(
        "private-use", univ.OctetString().subtype(implicitTag=implicit(4))
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
EncodedInformationTypes.tagSet = univ.Set.tagSet.tagImplicitly(application(5, constructed=True))
EncodedInformationTypes.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "built-in-encoded-information-types",
        BuiltInEncodedInformationTypes().subtype(implicitTag=implicit(0)),
    ),
    namedtype.OptionalNamedType(
        "g3-facsimile", G3FacsimileNonBasicParameters().subtype(implicitTag=implicit(1))
    ),
    namedtype.OptionalNamedType(
        "teletex",
        TeletexNonBasicParameters().subtype(implicitTag=implicit(2, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "extended-encoded-information-types",
        ExtendedEncodedInformationTypes().subtype(implicitTag=implicit(4, constructed=True)),
    ),
)


class OriginalEncodedInformationTypes(EncodedInformationTypes):
    pass


class ConvertedEncodedInformationTypes(EncodedInformationTypes):
    pass


# --	Content types, priority, flags


class BuiltInContentType(univ.Integer):
    pass


BuiltInContentType.tagSet = univ.Integer.tagSet.tagImplicitly(application(6))
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


class ContentType(univ.Choice):
    pass


ContentType.componentType = namedtype.NamedTypes(
    namedtype.NamedType("built-in", BuiltInContentType()),
    namedtype.NamedType("extended", ExtendedContentType()),
    # not in the 1999 module: X.411 (1992/1996) ExtendedContentType ::= OBJECT
    # IDENTIFIER, which peers of those editions send
    namedtype.NamedType("extended-oid", univ.ObjectIdentifier()),
)


class DeliveredContentType(univ.Choice):
    pass


DeliveredContentType.componentType = namedtype.NamedTypes(
    namedtype.NamedType("built-in", BuiltInContentType().subtype(implicitTag=implicit(0))),
    namedtype.NamedType("extended", ExtendedContentType()),
)


class ContentIdentifier(char.PrintableString):
    pass


ContentIdentifier.tagSet = char.PrintableString.tagSet.tagImplicitly(application(10))
ContentIdentifier.subtypeSpec = constraint.ValueSizeConstraint(1, ub_content_id_length)


class ContentLength(univ.Integer):
    pass


ContentLength.subtypeSpec = constraint.ValueRangeConstraint(0, ub_content_length)


class Priority(univ.Enumerated):
    pass


Priority.tagSet = univ.Enumerated.tagSet.tagImplicitly(application(7))
Priority.namedValues = namedval.NamedValues(("normal", 0), ("non-urgent", 1), ("urgent", 2))


class PerMessageIndicators(univ.BitString):
    pass


# notification type-1: bit 5 'zero', bit 6 'one'; type-2: 5 'one', 6 'zero';
# type-3: both 'one'.
PerMessageIndicators.tagSet = univ.BitString.tagSet.tagImplicitly(application(8))
PerMessageIndicators.namedValues = namedval.NamedValues(
    ("disclosure-of-other-recipients", 0),
    ("implicit-conversion-prohibited", 1),
    ("alternate-recipient-allowed", 2),
    ("content-return-request", 3),
    ("reserved", 4),  # bit reserved by MOTIS 1986
    ("bit-5", 5),
    ("bit-6", 6),
    ("service-message", 7),
)
PerMessageIndicators.subtypeSpec = constraint.ValueSizeConstraint(0, ub_bit_options)


class OriginatorReportRequest(univ.BitString):
    pass


OriginatorReportRequest.namedValues = namedval.NamedValues(
    ("report", 3), ("non-delivery-report", 4)
)
OriginatorReportRequest.subtypeSpec = constraint.ValueSizeConstraint(0, ub_bit_options)


class ExplicitConversion(univ.Integer):
    pass


ExplicitConversion.namedValues = namedval.NamedValues(
    ("ia5-text-to-teletex", 0),
    # values 1 to 7 are no longer defined
    ("ia5-text-to-g3-facsimile", 8),
    ("ia5-text-to-g4-class-1", 9),
    ("ia5-text-to-videotex", 10),
    ("teletex-to-ia5-text", 11),
    ("teletex-to-g3-facsimile", 12),
    ("teletex-to-g4-class-1", 13),
    ("teletex-to-videotex", 14),
    # value 15 is no longer defined
    ("videotex-to-ia5-text", 16),
    ("videotex-to-teletex", 17),
)
ExplicitConversion.subtypeSpec = constraint.ValueRangeConstraint(0, ub_integer_options)


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


# --	Reports


class TypeOfMTSUser(univ.Integer):
    pass


TypeOfMTSUser.namedValues = namedval.NamedValues(
    ("public", 0),
    ("private", 1),
    ("ms", 2),
    ("dl", 3),
    ("pdau", 4),
    ("physical-recipient", 5),
    ("other", 6),
)
TypeOfMTSUser.subtypeSpec = constraint.ValueRangeConstraint(0, ub_mts_user_types)


class NonDeliveryReasonCode(univ.Integer):
    pass


NonDeliveryReasonCode.namedValues = namedval.NamedValues(
    ("transfer-failure", 0),
    ("unable-to-transfer", 1),
    ("conversion-not-performed", 2),
    ("physical-rendition-not-performed", 3),
    ("physical-delivery-not-performed", 4),
    ("restricted-delivery", 5),
    ("directory-operation-unsuccessful", 6),
    ("deferred-delivery-not-performed", 7),
    ("transfer-failure-for-security-reason", 8),
)
NonDeliveryReasonCode.subtypeSpec = constraint.ValueRangeConstraint(0, ub_reason_codes)


class NonDeliveryDiagnosticCode(univ.Integer):
    pass


NonDeliveryDiagnosticCode.namedValues = namedval.NamedValues(
    ("unrecognised-OR-name", 0),
    ("ambiguous-OR-name", 1),
    ("mts-congestion", 2),
    ("loop-detected", 3),
    ("recipient-unavailable", 4),
    ("maximum-time-expired", 5),
    ("encoded-information-types-unsupported", 6),
    ("content-too-long", 7),
    ("conversion-impractical", 8),
    ("implicit-conversion-prohibited", 9),
    ("implicit-conversion-not-subscribed", 10),
    ("invalid-arguments", 11),
    ("content-syntax-error", 12),
    ("size-constraint-violation", 13),
    ("protocol-violation", 14),
    ("content-type-not-supported", 15),
    ("too-many-recipients", 16),
    ("no-bilateral-agreement", 17),
    ("unsupported-critical-function", 18),
    ("conversion-with-loss-prohibited", 19),
    ("line-too-long", 20),
    ("page-split", 21),
    ("pictorial-symbol-loss", 22),
    ("punctuation-symbol-loss", 23),
    ("alphabetic-character-loss", 24),
    ("multiple-information-loss", 25),
    ("recipient-reassignment-prohibited", 26),
    ("redirection-loop-detected", 27),
    ("dl-expansion-prohibited", 28),
    ("no-dl-submit-permission", 29),
    ("dl-expansion-failure", 30),
    ("physical-rendition-attributes-not-supported", 31),
    ("undeliverable-mail-physical-delivery-address-incorrect", 32),
    ("undeliverable-mail-physical-delivery-office-incorrect-or-invalid", 33),
    ("undeliverable-mail-physical-delivery-address-incomplete", 34),
    ("undeliverable-mail-recipient-unknown", 35),
    ("undeliverable-mail-recipient-deceased", 36),
    ("undeliverable-mail-organization-expired", 37),
    ("undeliverable-mail-recipient-refused-to-accept", 38),
    ("undeliverable-mail-recipient-did-not-claim", 39),
    ("undeliverable-mail-recipient-changed-address-permanently", 40),
    ("undeliverable-mail-recipient-changed-address-temporarily", 41),
    ("undeliverable-mail-recipient-changed-temporary-address", 42),
    ("undeliverable-mail-new-address-unknown", 43),
    ("undeliverable-mail-recipient-did-not-want-forwarding", 44),
    ("undeliverable-mail-originator-prohibited-forwarding", 45),
    ("secure-messaging-error", 46),
    ("unable-to-downgrade", 47),
    ("unable-to-complete-transfer", 48),
    ("transfer-attempts-limit-reached", 49),
    ("incorrect-notification-type", 50),
    ("dl-expansion-prohibited-by-security-policy", 51),
    ("forbidden-alternate-recipient", 52),
    ("security-policy-violation", 53),
    ("security-services-refusal", 54),
    ("unauthorised-dl-member", 55),
    ("unauthorised-dl-name", 56),
    ("unauthorised-originally-intended-recipient-name", 57),
    ("unauthorised-originator-name", 58),
    ("unauthorised-recipient-name", 59),
    ("unreliable-system", 60),
    ("authentication-failure-on-subject-message", 61),
    ("decryption-failed", 62),
    ("decryption-key-unobtainable", 63),
    ("double-envelope-creation-failure", 64),
    ("double-enveloping-message-restoring-failure", 65),
    ("failure-of-proof-of-message", 66),
    ("integrity-failure-on-subject-message", 67),
    ("invalid-security-label", 68),
    ("key-failure", 69),
    ("mandatory-parameter-absence", 70),
    ("operation-security-failure", 71),
    ("repudiation-failure-of-message", 72),
    ("security-context-failure", 73),
    ("token-decryption-failed", 74),
    ("token-error", 75),
    ("unknown-security-label", 76),
    ("unsupported-algorithm-identifier", 77),
    ("unsupported-security-policy", 78),
)
NonDeliveryDiagnosticCode.subtypeSpec = constraint.ValueRangeConstraint(0, ub_diagnostic_codes)


class SupplementaryInformation(char.PrintableString):
    pass


SupplementaryInformation.subtypeSpec = constraint.ValueSizeConstraint(
    1, ub_supplementary_info_length
)


class DeliveryReport(univ.Set):
    pass


DeliveryReport.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "message-delivery-time", MessageDeliveryTime().subtype(implicitTag=implicit(0))
    ),
    namedtype.DefaultedNamedType(
        "type-of-MTS-user", TypeOfMTSUser().subtype(implicitTag=implicit(1), value="public")
    ),
)


class NonDeliveryReport(univ.Set):
    pass


NonDeliveryReport.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "non-delivery-reason-code", NonDeliveryReasonCode().subtype(implicitTag=implicit(0))
    ),
    namedtype.OptionalNamedType(
        "non-delivery-diagnostic-code",
        NonDeliveryDiagnosticCode().subtype(implicitTag=implicit(1)),
    ),
)


class ReportType(univ.Choice):
    pass


ReportType.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "delivery", DeliveryReport().subtype(implicitTag=implicit(0, constructed=True))
    ),
    namedtype.NamedType(
        "non-delivery", NonDeliveryReport().subtype(implicitTag=implicit(1, constructed=True))
    ),
)


# --	Security (labels typed; certificates, tokens and signatures opaque)


class SecurityPolicyIdentifier(univ.ObjectIdentifier):
    pass


class SecurityClassification(univ.Integer):
    pass


SecurityClassification.namedValues = namedval.NamedValues(
    ("unmarked", 0),
    ("unclassified", 1),
    ("restricted", 2),
    ("confidential", 3),
    ("secret", 4),
    ("top-secret", 5),
)
SecurityClassification.subtypeSpec = constraint.ValueRangeConstraint(0, ub_integer_options)


class PrivacyMark(char.PrintableString):
    pass


PrivacyMark.subtypeSpec = constraint.ValueSizeConstraint(1, ub_privacy_mark_length)


class SecurityCategory(univ.Sequence):
    pass


# value [1] SECURITY-CATEGORY.&Type -- an open type, so its tag is explicit
SecurityCategory.componentType = namedtype.NamedTypes(
    namedtype.NamedType("type", univ.ObjectIdentifier().subtype(implicitTag=implicit(0))),
    namedtype.NamedType("value", univ.Any().subtype(explicitTag=explicit(1))),
)


class SecurityCategories(univ.SetOf):
    pass


SecurityCategories.componentType = SecurityCategory()
SecurityCategories.subtypeSpec = constraint.ValueSizeConstraint(1, ub_security_categories)


class SecurityLabel(univ.Set):
    pass


SecurityLabel.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType("security-policy-identifier", SecurityPolicyIdentifier()),
    namedtype.OptionalNamedType("security-classification", SecurityClassification()),
    namedtype.OptionalNamedType("privacy-mark", PrivacyMark()),
    namedtype.OptionalNamedType("security-categories", SecurityCategories()),
)


class MessageSecurityLabel(SecurityLabel):
    pass


class SecurityContext(univ.SetOf):
    pass


SecurityContext.componentType = SecurityLabel()
SecurityContext.subtypeSpec = constraint.ValueSizeConstraint(1, ub_security_labels)


# Opaque: X.509 AuthenticationFramework types, kept as encoded.


class Certificates(univ.Any):
    """X.509 Certificates (certificate and certification path), opaque."""


class Token(univ.Any):
    """X.411 Token (a SIGNED asymmetric token), opaque."""


class Signature(univ.Any):
    """A SIGNATURE{...} or SIGNED{...} value, opaque."""


class OriginatorCertificate(Certificates):
    pass


class RecipientCertificate(Certificates):
    pass


class ReportingMTACertificate(Certificates):
    pass


class OriginatingMTACertificate(Certificates):
    pass


class MessageToken(Token):
    pass


class ContentIntegrityCheck(Signature):
    pass


class MessageOriginAuthenticationCheck(Signature):
    pass


class ProbeOriginAuthenticationCheck(Signature):
    pass


class ReportOriginAuthenticationCheck(Signature):
    pass


class ProofOfDelivery(Signature):
    pass


class ProofOfSubmission(Signature):
    pass


class ExtendedCertificates(univ.Any):
    """SET OF CHOICE { directory-entry [0] Name, certificate [1] Certificates }, opaque."""


class CertificateSelectors(univ.Any):
    """SET of CertificateAssertion (X.509 CertificateExtensions), opaque."""


class ContentConfidentialityAlgorithmIdentifier(rfc5280.AlgorithmIdentifier):
    pass


# --	Bind credentials (X.411 8.1.1.1.1; MTABindArgument uses them)


class Password(univ.Choice):
    pass


# PP sends the OCTET STRING alternative, Isode the IA5String (P1-WIRE.md).
Password.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "ia5-string",
        char.IA5String().subtype(
            subtypeSpec=constraint.ValueSizeConstraint(0, ub_password_length)
        ),
    ),
    namedtype.NamedType(
        "octet-string",
        univ.OctetString().subtype(
            subtypeSpec=constraint.ValueSizeConstraint(0, ub_password_length)
        ),
    ),
)


class StrongCredentials(TaggedAny):
    """SET { bind-token [0] Token, certificate [1] Certificates, ... }: the
    contents octets of the SET, opaque (strong authentication is not done)."""


class ProtectedPassword(TaggedAny):
    """SET { signature SIGNATURE{...}, time1, time2, random1, random2 }: the
    contents octets, opaque."""


class Credentials(univ.Choice):
    pass


Credentials.componentType = namedtype.NamedTypes(
    namedtype.NamedType("simple", Password()),
    namedtype.NamedType(
        "strong", StrongCredentials().subtype(implicitTag=implicit(0, constructed=True))
    ),
    namedtype.NamedType(
        "protected", ProtectedPassword().subtype(implicitTag=implicit(1, constructed=True))
    ),
)


class InitiatorCredentials(Credentials):
    pass


class ResponderCredentials(Credentials):
    pass


# --	Extension Fields


class StandardExtension(TaggedAny):
    """The INTEGER of ExtensionType's ``standard-extension [0]``.

    Two encodings reach us: the 1992+ IMPLICIT ``80 01 17`` and the 1988 form
    PP sends, ``[0]`` constructed around a universal INTEGER, ``a0 03 02 01
    17`` (P1-WIRE.md).  pyasn1 matches tags without their constructed bit, so
    the one ``[0]`` alternative receives both; the value is held as the
    contents octets of the IMPLICIT form (an INTEGER's contents), and the
    1988 form is rewritten to it on the way in, so it is always re-encoded
    the 1992 way.  ``int()`` gives the number."""

    def prettyIn(self, value: Any) -> bytes:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            octets = bytes(univ.Any.prettyIn(self, value))
            if len(octets) >= 3 and octets[0] == 0x02 and octets[1] == len(octets) - 2:
                octets = octets[2:]  # [0] { INTEGER }: the 1988 form
            elif len(octets) >= 3:
                # a 1992 INTEGER 0..256 needs at most two contents octets
                raise pyasn1_error.PyAsn1Error(
                    f"standard-extension is not an INTEGER: {octets[:8].hex()}"
                )
            if not octets:
                raise pyasn1_error.PyAsn1Error("standard-extension without contents")
            number = int.from_bytes(octets, "big", signed=True)
        if not 0 <= number <= ub_extension_types:
            raise pyasn1_error.PyAsn1Error(
                f"standard-extension {number} outside 0..{ub_extension_types}"
            )
        return number.to_bytes(number.bit_length() // 8 + 1, "big", signed=True)

    def prettyOut(self, value: Any) -> str:
        return str(int.from_bytes(bytes(value), "big", signed=True))

    def __int__(self) -> int:
        return int.from_bytes(bytes(self), "big", signed=True)


StandardExtension.tagSet = univ.Any.tagSet.tagImplicitly(implicit(0))


class ExtensionType(univ.Choice):
    pass


ExtensionType.componentType = namedtype.NamedTypes(
    namedtype.NamedType("standard-extension", StandardExtension()),
    namedtype.NamedType(
        "private-extension", univ.ObjectIdentifier().subtype(implicitTag=implicit(3))
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
# The value is an open type (so its tag is explicit) kept as its encoding;
# read_extension() types it through a registry.  "DEFAULT {}" of the
# criticality is modelled as OPTIONAL (absent == no flag set).
ExtensionField.componentType = namedtype.NamedTypes(
    namedtype.NamedType("type", ExtensionType()),
    namedtype.OptionalNamedType("criticality", Criticality().subtype(implicitTag=implicit(1))),
    namedtype.DefaultedNamedType("value", univ.Any(b"\x05\x00").subtype(explicitTag=explicit(2))),
)


class MessageDeliveryExtensions(univ.SetOf):
    pass


MessageDeliveryExtensions.componentType = ExtensionField()


class OtherMessageDeliveryFields(univ.Set):
    pass


OtherMessageDeliveryFields.componentType = namedtype.NamedTypes(
    namedtype.NamedType("content-type", DeliveredContentType()),
    namedtype.NamedType("originator-name", DeliveredOriginatorName()),
    namedtype.OptionalNamedType(
        "original-encoded-information-types",
        OriginalEncodedInformationTypes().subtype(implicitTag=implicit(1, constructed=True)),
    ),
    namedtype.DefaultedNamedType("priority", Priority("normal")),
    namedtype.OptionalNamedType(
        "delivery-flags", DeliveryFlags().subtype(implicitTag=implicit(2))
    ),
    namedtype.OptionalNamedType(
        "other-recipient-names",
        OtherRecipientNames().subtype(implicitTag=implicit(3, constructed=True)),
    ),
    namedtype.NamedType(
        "this-recipient-name",
        ThisRecipientName().subtype(implicitTag=implicit(4, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "originally-intended-recipient-name",
        OriginallyIntendedRecipientName().subtype(implicitTag=implicit(5, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "converted-encoded-information-types",
        ConvertedEncodedInformationTypes().subtype(implicitTag=implicit(6, constructed=True)),
    ),
    namedtype.NamedType(
        "message-submission-time", MessageSubmissionTime().subtype(implicitTag=implicit(7))
    ),
    namedtype.OptionalNamedType(
        "content-identifier", ContentIdentifier().subtype(implicitTag=implicit(8))
    ),
    # "DEFAULT {}" modelled as OPTIONAL (absent == no extensions)
    namedtype.OptionalNamedType(
        "extensions",
        MessageDeliveryExtensions().subtype(implicitTag=implicit(9, constructed=True)),
    ),
)


# --	Standard extension value types (X.411 9.2, "Extension Fields")


def _allowed_or_prohibited(what: str) -> namedval.NamedValues:
    """``{what}-allowed (0), {what}-prohibited (1)``: the ENUMERATED of the
    *Prohibited extensions."""
    return namedval.NamedValues((f"{what}-allowed", 0), (f"{what}-prohibited", 1))


def _not_requested_or_requested(what: str) -> namedval.NamedValues:
    """``{what}-not-requested (0), {what}-requested (1)``: the ENUMERATED of
    the *Request extensions."""
    return namedval.NamedValues((f"{what}-not-requested", 0), (f"{what}-requested", 1))


class RecipientReassignmentProhibited(univ.Enumerated):
    pass


RecipientReassignmentProhibited.namedValues = _allowed_or_prohibited("recipient-reassignment")


class OriginatorRequestedAlternateRecipient(ORAddressAndOrDirectoryName):
    pass


class DLExpansionProhibited(univ.Enumerated):
    pass


DLExpansionProhibited.namedValues = _allowed_or_prohibited("dl-expansion")


class ConversionWithLossProhibited(univ.Enumerated):
    pass


ConversionWithLossProhibited.namedValues = _allowed_or_prohibited("conversion-with-loss")


class LatestDeliveryTime(Time):
    pass


class RequestedDeliveryMethod(univ.SequenceOf):
    pass


# each different, in order of preference, most preferred first
RequestedDeliveryMethod.componentType = univ.Integer(
    namedValues=namedval.NamedValues(
        ("any-delivery-method", 0),
        ("mhs-delivery", 1),
        ("physical-delivery", 2),
        ("telex-delivery", 3),
        ("teletex-delivery", 4),
        ("g3-facsimile-delivery", 5),
        ("g4-facsimile-delivery", 6),
        ("ia5-terminal-delivery", 7),
        ("videotex-delivery", 8),
        ("telephone-delivery", 9),
    )
).subtype(subtypeSpec=constraint.ValueRangeConstraint(0, ub_integer_options))


class PhysicalForwardingProhibited(univ.Enumerated):
    pass


PhysicalForwardingProhibited.namedValues = _allowed_or_prohibited("physical-forwarding")


class PhysicalForwardingAddressRequest(univ.Enumerated):
    pass


PhysicalForwardingAddressRequest.namedValues = _not_requested_or_requested(
    "physical-forwarding-address"
)


class PhysicalDeliveryModes(univ.BitString):
    pass


PhysicalDeliveryModes.namedValues = namedval.NamedValues(
    ("ordinary-mail", 0),
    ("special-delivery", 1),
    ("express-mail", 2),
    ("counter-collection", 3),
    ("counter-collection-with-telephone-advice", 4),
    ("counter-collection-with-telex-advice", 5),
    ("counter-collection-with-teletex-advice", 6),
    ("bureau-fax-delivery", 7),
)
PhysicalDeliveryModes.subtypeSpec = constraint.ValueSizeConstraint(0, ub_bit_options)


class RegisteredMailType(univ.Integer):
    pass


RegisteredMailType.namedValues = namedval.NamedValues(
    ("non-registered-mail", 0),
    ("registered-mail", 1),
    ("registered-mail-to-addressee-in-person", 2),
)
RegisteredMailType.subtypeSpec = constraint.ValueRangeConstraint(0, ub_integer_options)


class RecipientNumberForAdvice(char.TeletexString):
    pass


RecipientNumberForAdvice.subtypeSpec = constraint.ValueSizeConstraint(
    1, ub_recipient_number_for_advice_length
)


class PhysicalRenditionAttributes(univ.ObjectIdentifier):
    pass


class OriginatorReturnAddress(rfc5280.ORAddress):
    pass


class PhysicalDeliveryReportRequest(univ.Integer):
    pass


PhysicalDeliveryReportRequest.namedValues = namedval.NamedValues(
    ("return-of-undeliverable-mail-by-PDS", 0),
    ("return-of-notification-by-PDS", 1),
    ("return-of-notification-by-MHS", 2),
    ("return-of-notification-by-MHS-and-PDS", 3),
)
PhysicalDeliveryReportRequest.subtypeSpec = constraint.ValueRangeConstraint(0, ub_integer_options)


class ProofOfSubmissionRequest(univ.Enumerated):
    pass


ProofOfSubmissionRequest.namedValues = _not_requested_or_requested("proof-of-submission")


class ProofOfDeliveryRequest(univ.Enumerated):
    pass


ProofOfDeliveryRequest.namedValues = _not_requested_or_requested("proof-of-delivery")


class ContentCorrelator(univ.Choice):
    pass


ContentCorrelator.componentType = namedtype.NamedTypes(
    namedtype.NamedType("ia5text", char.IA5String()),
    namedtype.NamedType("octets", univ.OctetString()),
)


class IntendedRecipientName(univ.Sequence):
    pass


IntendedRecipientName.componentType = namedtype.NamedTypes(
    namedtype.NamedType("intended-recipient", ORAddressAndOptionalDirectoryName()),
    namedtype.NamedType("redirection-time", Time()),
)


class RedirectionReason(univ.Enumerated):
    pass


# extensible: a later value is kept, not refused
RedirectionReason.namedValues = namedval.NamedValues(
    ("recipient-assigned-alternate-recipient", 0),
    ("originator-requested-alternate-recipient", 1),
    ("recipient-MD-assigned-alternate-recipient", 2),
    ("directory-look-up", 3),
    ("alias", 4),
)


class Redirection(univ.Sequence):
    pass


Redirection.componentType = namedtype.NamedTypes(
    namedtype.NamedType("intended-recipient-name", IntendedRecipientName()),
    namedtype.NamedType("redirection-reason", RedirectionReason()),
)


class RedirectionHistory(univ.SequenceOf):
    pass


RedirectionHistory.componentType = Redirection()
RedirectionHistory.subtypeSpec = constraint.ValueSizeConstraint(1, ub_redirections)


class DLExpansion(univ.Sequence):
    pass


DLExpansion.componentType = namedtype.NamedTypes(
    namedtype.NamedType("dl", ORAddressAndOptionalDirectoryName()),
    namedtype.NamedType("dl-expansion-time", Time()),
)


class DLExpansionHistory(univ.SequenceOf):
    pass


DLExpansionHistory.componentType = DLExpansion()
DLExpansionHistory.subtypeSpec = constraint.ValueSizeConstraint(1, ub_dl_expansions)


class PhysicalForwardingAddress(ORAddressAndOptionalDirectoryName):
    pass


class OriginatorAndDLExpansion(univ.Sequence):
    pass


OriginatorAndDLExpansion.componentType = namedtype.NamedTypes(
    namedtype.NamedType("originator-or-dl-name", ORAddressAndOptionalDirectoryName()),
    namedtype.NamedType("origination-or-expansion-time", Time()),
)


class OriginatorAndDLExpansionHistory(univ.SequenceOf):
    pass


OriginatorAndDLExpansionHistory.componentType = OriginatorAndDLExpansion()
OriginatorAndDLExpansionHistory.subtypeSpec = constraint.ValueSizeConstraint(
    2, ub_orig_and_dl_expansions
)


class ReportingDLName(ORAddressAndOptionalDirectoryName):
    pass


class ReportingMTAName(univ.Sequence):
    pass


ReportingMTAName.componentType = namedtype.NamedTypes(
    namedtype.NamedType("domain", GlobalDomainIdentifier()),
    namedtype.NamedType("mta-name", MTAName()),
    namedtype.OptionalNamedType(
        "mta-directory-name", rfc5280.Name().subtype(explicitTag=explicit(0))
    ),
)


class DLExemptedRecipients(univ.SetOf):
    pass


DLExemptedRecipients.componentType = ORAddressAndOrDirectoryName()


# --	The registry of extensions (EXTENSION information objects)
#
# One explicit table of the standard extensions this module defines, by
# number, with the value type and the RECOMMENDED CRITICALITY.  Standard
# extensions defined elsewhere: 36 forwarding-request (X.413), 37
# trace-information and 38 internal-trace-information (MTAAbstractService:
# mta.EXTENSIONS adds them), 41/43/44 (X.420 blind-copy-recipients,
# body-part-encryption-token, forwarded-content-token).  An extension not in
# the registry in use is read as its encoding and relayed intact.


@dataclass(frozen=True)
class ExtensionKind:
    """One EXTENSION information object: a standard extension (``id`` an
    int) or a private one (``id`` an OID tuple)."""

    name: str
    id: int | tuple[int, ...]
    type: Any  # pyasn1 schema of &Type
    recommended: frozenset[str] = frozenset()  # RECOMMENDED CRITICALITY
    opaque: bool = False  # a security type kept encoded (type is a univ.Any)


_DELIVERY = frozenset({"for-delivery"})


def _registry(*kinds: ExtensionKind) -> dict[int | tuple[int, ...], ExtensionKind]:
    return {kind.id: kind for kind in kinds}


MTS_EXTENSIONS: dict[int | tuple[int, ...], ExtensionKind] = _registry(
    ExtensionKind(
        "recipient-reassignment-prohibited", 1, RecipientReassignmentProhibited(), _DELIVERY
    ),
    ExtensionKind(
        "originator-requested-alternate-recipient",
        2,
        OriginatorRequestedAlternateRecipient(),
        frozenset({"for-submission"}),
    ),
    ExtensionKind("dl-expansion-prohibited", 3, DLExpansionProhibited(), _DELIVERY),
    ExtensionKind("conversion-with-loss-prohibited", 4, ConversionWithLossProhibited(), _DELIVERY),
    ExtensionKind("latest-delivery-time", 5, LatestDeliveryTime(), _DELIVERY),
    ExtensionKind("requested-delivery-method", 6, RequestedDeliveryMethod()),
    ExtensionKind("physical-forwarding-prohibited", 7, PhysicalForwardingProhibited(), _DELIVERY),
    ExtensionKind(
        "physical-forwarding-address-request", 8, PhysicalForwardingAddressRequest(), _DELIVERY
    ),
    ExtensionKind("physical-delivery-modes", 9, PhysicalDeliveryModes(), _DELIVERY),
    ExtensionKind("registered-mail-type", 10, RegisteredMailType(), _DELIVERY),
    ExtensionKind("recipient-number-for-advice", 11, RecipientNumberForAdvice(), _DELIVERY),
    ExtensionKind("physical-rendition-attributes", 12, PhysicalRenditionAttributes(), _DELIVERY),
    ExtensionKind("originator-return-address", 13, OriginatorReturnAddress()),
    ExtensionKind(
        "physical-delivery-report-request", 14, PhysicalDeliveryReportRequest(), _DELIVERY
    ),
    ExtensionKind("originator-certificate", 15, OriginatorCertificate(), opaque=True),
    ExtensionKind("message-token", 16, MessageToken(), _DELIVERY, opaque=True),
    ExtensionKind(
        "content-confidentiality-algorithm-identifier",
        17,
        ContentConfidentialityAlgorithmIdentifier(),
        _DELIVERY,
    ),
    ExtensionKind("content-integrity-check", 18, ContentIntegrityCheck(), _DELIVERY, opaque=True),
    ExtensionKind(
        "message-origin-authentication-check",
        19,
        MessageOriginAuthenticationCheck(),
        _DELIVERY,
        opaque=True,
    ),
    ExtensionKind("message-security-label", 20, MessageSecurityLabel(), _DELIVERY),
    ExtensionKind(
        "proof-of-submission-request",
        21,
        ProofOfSubmissionRequest(),
        frozenset({"for-submission"}),
    ),
    ExtensionKind("proof-of-delivery-request", 22, ProofOfDeliveryRequest(), _DELIVERY),
    ExtensionKind("content-correlator", 23, ContentCorrelator()),
    ExtensionKind(
        "probe-origin-authentication-check",
        24,
        ProbeOriginAuthenticationCheck(),
        _DELIVERY,
        opaque=True,
    ),
    ExtensionKind("redirection-history", 25, RedirectionHistory()),
    ExtensionKind("dl-expansion-history", 26, DLExpansionHistory()),
    ExtensionKind("physical-forwarding-address", 27, PhysicalForwardingAddress()),
    ExtensionKind("recipient-certificate", 28, RecipientCertificate(), opaque=True),
    ExtensionKind("proof-of-delivery", 29, ProofOfDelivery(), opaque=True),
    ExtensionKind("originator-and-DL-expansion-history", 30, OriginatorAndDLExpansionHistory()),
    ExtensionKind("reporting-DL-name", 31, ReportingDLName()),
    ExtensionKind(
        "reporting-MTA-certificate", 32, ReportingMTACertificate(), _DELIVERY, opaque=True
    ),
    ExtensionKind(
        "report-origin-authentication-check",
        33,
        ReportOriginAuthenticationCheck(),
        _DELIVERY,
        opaque=True,
    ),
    ExtensionKind("originating-MTA-certificate", 34, OriginatingMTACertificate(), opaque=True),
    ExtensionKind("proof-of-submission", 35, ProofOfSubmission(), opaque=True),
    ExtensionKind("reporting-MTA-name", 39, ReportingMTAName()),
    ExtensionKind("multiple-originator-certificates", 40, ExtendedCertificates(), opaque=True),
    ExtensionKind("dl-exempted-recipients", 42, DLExemptedRecipients()),
    ExtensionKind("certificate-selectors", 45, CertificateSelectors(), opaque=True),
    ExtensionKind("certificate-selectors-override", 46, CertificateSelectors(), opaque=True),
)

ExtensionRegistry = Mapping[int | tuple[int, ...], ExtensionKind]

_NULL = b"\x05\x00"


# -- Helpers (typed: pyasn1 values are Any to mypy)


def criticality_names(value: Any) -> frozenset[str]:
    """The named bits set in a Criticality (absent: none)."""
    if not value.isValue:
        return frozenset()
    bits = tuple(value)
    return frozenset(
        name for name, bit in Criticality.namedValues.items() if bit < len(bits) and bits[bit]
    )


def extension_id(field: Any) -> int | tuple[int, ...]:
    """The standard-extension number or the private-extension OID of an
    ExtensionField."""
    ext_type = field["type"]
    if ext_type.getName() == "standard-extension":
        return int(ext_type["standard-extension"])
    return tuple(ext_type["private-extension"])


def extension_field(
    kind: ExtensionKind | int | tuple[int, ...] | Any,
    value: Any = None,
    criticality: Iterable[str] | None = None,
    *,
    spec: Any = None,
) -> Any:
    """An ExtensionField (or *spec*, a tagged ExtensionField) for *kind* (an
    ExtensionKind, a standard-extension number, or a private-extension OID)
    carrying *value*: a pyasn1 value, its encoding (bytes), or None for the
    default NULL.  *criticality* names the bits to set; None gives the
    kind's recommended criticality (none for a bare id)."""
    field = ExtensionField() if spec is None else spec.clone()
    ext_id = kind.id if isinstance(kind, ExtensionKind) else kind
    if isinstance(ext_id, int):
        field["type"]["standard-extension"] = ext_id
    else:
        field["type"]["private-extension"] = tuple(ext_id)
    if criticality is None:
        criticality = kind.recommended if isinstance(kind, ExtensionKind) else ()
    names = sorted(set(criticality), key=lambda name: Criticality.namedValues[name])
    if names:
        field["criticality"] = ",".join(names)
    if value is not None:
        encoded = bytes(value) if isinstance(value, bytes | bytearray) else ber.encode(value)
        if encoded != _NULL:
            field["value"] = encoded
    return field


@dataclass(frozen=True)
class DecodedExtension:
    """An ExtensionField read through a registry.

    ``kind`` is None for an extension not in the registry; then ``value`` is
    the encoding as received (bytes), as it is for an ``opaque`` kind.
    ``encoded`` is always the value's encoding as received."""

    kind: ExtensionKind | None
    id: int | tuple[int, ...]
    criticality: frozenset[str]
    value: Any
    encoded: bytes


def read_extension(
    field: Any, registry: ExtensionRegistry = MTS_EXTENSIONS, **limits: int
) -> DecodedExtension:
    """Type the value of an ExtensionField by its type, with the bounded
    decoder; unknown and opaque extensions come back as their encoding."""
    ext_id = extension_id(field)
    encoded = bytes(field["value"])
    kind = registry.get(ext_id)
    critical = criticality_names(field["criticality"])
    if kind is None or kind.opaque:
        return DecodedExtension(kind, ext_id, critical, encoded, encoded)
    return DecodedExtension(
        kind, ext_id, critical, ber.decode(encoded, kind.type, **limits), encoded
    )
