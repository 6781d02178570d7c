# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# IPMSInformationObjects {joint-iso-itu-t mhs(6) ipms(1) modules(0)
#   information-objects(2) version-1999(1)}, ITU-T X.420 (06/1999),
#   DEFINITIONS IMPLICIT TAGS
#
# Written from the 1999 text, limited to what a 1988 P22 peer sends: every
# type here encodes exactly as in X.420 (1988).  The 1999 "basic" CHOICE
# inside BodyPart is untagged, so it adds nothing on the wire, and the 1999
# "INSTANCE OF TYPE-IDENTIFIER" of ExtendedBodyPart has the tag and encoding
# of the 1988 EXTERNAL (externally-defined body part [15]), which is how it is
# modelled here.
#
# Deliberate deviations from the ASN.1, each for a stated reason:
# - "SEQUENCE OF ... DEFAULT {}" / "BIT STRING DEFAULT {}" components are
#   OPTIONAL: absent means the empty default, and pyasn1 cannot hold an empty
#   constructed value as a default.
# - MessageData ::= IPM is recursive (a message body part holds an IPM, which
#   holds body parts); pyasn1 schema objects cannot be recursive (each
#   instance copies its componentType when created, and repr() would never
#   end), so MessageBodyPart.data is the encoded IPM (an ANY) and
#   message_body_part() / message_data() convert it, through the bounded
#   decoder, one level at a time.
# - Open types (IPMSExtension values, EXTERNAL data, nationally-defined body
#   parts) are kept as their encodings: unknown ones pass on intact; the
#   extended body part types known to this module are listed in the one
#   registry EXTENDED_BODY_PART_TYPES below.
# - Enumerations carry no value constraint: a peer's unknown value is kept
#   and left to the translator to judge.
# Not modelled (yet): G4Class1/MixedMode (ODIF), EncryptedBodyPart,
# the typed heading extensions (IPMSHeadingExtensions), the Message Store
# realization (MS-EXTENSION objects).
"""X.420 IPMSInformationObjects: the P22 interpersonal message and notification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyasn1.type import char, constraint, namedtype, namedval, univ

from gateway.x400.asn1 import ber
from gateway.x400.asn1 import ipms_object_identifiers as oids
from gateway.x400.asn1.external import External
from gateway.x400.asn1.ipms_extended_body_part_types2 import (
    GeneralTextData,
    GeneralTextParameters,
)
from gateway.x400.asn1.ipms_file_transfer import FileTransferData, FileTransferParameters
from gateway.x400.asn1.ipms_upper_bounds import (
    ub_auto_forward_comment,
    ub_free_form_name,
    ub_local_ipm_identifier,
    ub_subject_field,
    ub_telephone_number,
)
from gateway.x400.asn1.mts import (
    AbsentWhenEmpty,
    EncodedInformationTypes,
    G3FacsimileNonBasicParameters,
    MessageDeliveryTime,
    ORName,
    OtherMessageDeliveryFields,
    SupplementaryInformation,
    TeletexNonBasicParameters,
    Time,
)
from gateway.x400.asn1.tags import application, explicit, implicit

# -- IPMS Extensions


class IPMSExtension(univ.Sequence):
    pass


# IPMSExtension{IPMS-EXTENSION:ChosenFrom} ::= SEQUENCE {
#   type   IPMS-EXTENSION.&id({ChosenFrom}),
#   value  IPMS-EXTENSION.&Type({ChosenFrom}{@type}) DEFAULT NULL:NULL }
IPMSExtension.componentType = namedtype.NamedTypes(
    namedtype.NamedType("type", univ.ObjectIdentifier()),
    namedtype.DefaultedNamedType("value", univ.Any(b"\x05\x00")),
)


class _IPMSExtensions(univ.SetOf):
    pass


_IPMSExtensions.componentType = IPMSExtension()


# -- Heading component types


class LocalIPMIdentifier(char.PrintableString):
    pass


LocalIPMIdentifier.subtypeSpec = constraint.ValueSizeConstraint(0, ub_local_ipm_identifier)


class IPMIdentifier(univ.Set):
    pass


IPMIdentifier.tagSet = univ.Set.tagSet.tagImplicitly(application(11, constructed=True))
IPMIdentifier.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType("user", ORName()),
    namedtype.NamedType("user-relative-identifier", LocalIPMIdentifier()),
)


class FreeFormName(char.TeletexString):
    pass


FreeFormName.subtypeSpec = constraint.ValueSizeConstraint(0, ub_free_form_name)


class TelephoneNumber(char.PrintableString):
    pass


TelephoneNumber.subtypeSpec = constraint.ValueSizeConstraint(0, ub_telephone_number)


class ORDescriptor(univ.Set):
    pass


ORDescriptor.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType("formal-name", ORName()),
    namedtype.OptionalNamedType("free-form-name", FreeFormName().subtype(implicitTag=implicit(0))),
    namedtype.OptionalNamedType(
        "telephone-number", TelephoneNumber().subtype(implicitTag=implicit(1))
    ),
)


class NotificationRequests(univ.BitString):
    pass


NotificationRequests.namedValues = namedval.NamedValues(
    ("rn", 0), ("nrn", 1), ("ipm-return", 2), ("an-supported", 3), ("suppress-an", 4)
)


class RecipientExtensionsField(_IPMSExtensions):
    pass


class RecipientSpecifier(univ.Set):
    pass


RecipientSpecifier.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "recipient", ORDescriptor().subtype(implicitTag=implicit(0, constructed=True))
    ),
    # "DEFAULT {}" modelled as OPTIONAL (absent == nothing requested)
    namedtype.OptionalNamedType(
        "notification-requests", NotificationRequests().subtype(implicitTag=implicit(1))
    ),
    namedtype.DefaultedNamedType(
        "reply-requested", univ.Boolean().subtype(implicitTag=implicit(2), value=False)
    ),
    namedtype.OptionalNamedType(
        "recipient-extensions",
        RecipientExtensionsField().subtype(implicitTag=implicit(3, constructed=True)),
    ),
)


# -- Heading fields


class ThisIPMField(IPMIdentifier):
    pass


# ORDescriptor's components are all OPTIONAL: in the OPTIONAL positions
# (originator, ipn-originator, ipm-intended-recipient) one that was only
# instantiated must stay absent (mts.AbsentWhenEmpty).  Where an ORDescriptor
# is required (a recipient, a SEQUENCE OF element) an empty one is a value.


class OriginatorField(AbsentWhenEmpty, ORDescriptor):
    pass


class AuthorizingUsersSubfield(ORDescriptor):
    pass


class AuthorizingUsersField(univ.SequenceOf):
    pass


AuthorizingUsersField.componentType = AuthorizingUsersSubfield()


class PrimaryRecipientsSubfield(RecipientSpecifier):
    pass


class PrimaryRecipientsField(univ.SequenceOf):
    pass


PrimaryRecipientsField.componentType = PrimaryRecipientsSubfield()


class CopyRecipientsSubfield(RecipientSpecifier):
    pass


class CopyRecipientsField(univ.SequenceOf):
    pass


CopyRecipientsField.componentType = CopyRecipientsSubfield()


class BlindCopyRecipientsSubfield(RecipientSpecifier):
    pass


class BlindCopyRecipientsField(univ.SequenceOf):
    pass


BlindCopyRecipientsField.componentType = BlindCopyRecipientsSubfield()


class RepliedToIPMField(IPMIdentifier):
    pass


class ObsoletedIPMsSubfield(IPMIdentifier):
    pass


class ObsoletedIPMsField(univ.SequenceOf):
    pass


ObsoletedIPMsField.componentType = ObsoletedIPMsSubfield()


class RelatedIPMsSubfield(IPMIdentifier):
    pass


class RelatedIPMsField(univ.SequenceOf):
    pass


RelatedIPMsField.componentType = RelatedIPMsSubfield()


class SubjectField(char.TeletexString):
    pass


SubjectField.subtypeSpec = constraint.ValueSizeConstraint(0, ub_subject_field)


class ExpiryTimeField(Time):
    pass


class ReplyTimeField(Time):
    pass


# ReplyRecipientsSubfield ::= ORDescriptor (WITH COMPONENTS {..., formal-name PRESENT})
# -- the constraint is the translator's to check.
class ReplyRecipientsSubfield(ORDescriptor):
    pass


class ReplyRecipientsField(univ.SequenceOf):
    pass


ReplyRecipientsField.componentType = ReplyRecipientsSubfield()


class ImportanceField(univ.Enumerated):
    pass


ImportanceField.namedValues = namedval.NamedValues(("low", 0), ("normal", 1), ("high", 2))


class SensitivityField(univ.Enumerated):
    pass


SensitivityField.namedValues = namedval.NamedValues(
    ("personal", 1), ("private", 2), ("company-confidential", 3)
)


class AutoForwardedField(univ.Boolean):
    pass


class ExtensionsField(_IPMSExtensions):
    pass


# -- Heading


class Heading(univ.Set):
    pass


Heading.componentType = namedtype.NamedTypes(
    namedtype.NamedType("this-IPM", ThisIPMField()),
    namedtype.OptionalNamedType(
        "originator", OriginatorField().subtype(implicitTag=implicit(0, constructed=True))
    ),
    namedtype.OptionalNamedType(
        "authorizing-users",
        AuthorizingUsersField().subtype(implicitTag=implicit(1, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "primary-recipients",
        PrimaryRecipientsField().subtype(implicitTag=implicit(2, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "copy-recipients",
        CopyRecipientsField().subtype(implicitTag=implicit(3, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "blind-copy-recipients",
        BlindCopyRecipientsField().subtype(implicitTag=implicit(4, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "replied-to-IPM",
        RepliedToIPMField().subtype(implicitTag=implicit(5, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "obsoleted-IPMs",
        ObsoletedIPMsField().subtype(implicitTag=implicit(6, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "related-IPMs",
        RelatedIPMsField().subtype(implicitTag=implicit(7, constructed=True)),
    ),
    # subject [8] EXPLICIT SubjectField
    namedtype.OptionalNamedType("subject", SubjectField().subtype(explicitTag=explicit(8))),
    namedtype.OptionalNamedType("expiry-time", ExpiryTimeField().subtype(implicitTag=implicit(9))),
    namedtype.OptionalNamedType("reply-time", ReplyTimeField().subtype(implicitTag=implicit(10))),
    namedtype.OptionalNamedType(
        "reply-recipients",
        ReplyRecipientsField().subtype(implicitTag=implicit(11, constructed=True)),
    ),
    namedtype.DefaultedNamedType(
        "importance", ImportanceField().subtype(implicitTag=implicit(12), value="normal")
    ),
    namedtype.OptionalNamedType(
        "sensitivity", SensitivityField().subtype(implicitTag=implicit(13))
    ),
    namedtype.DefaultedNamedType(
        "auto-forwarded",
        AutoForwardedField().subtype(implicitTag=implicit(14), value=False),
    ),
    namedtype.OptionalNamedType(
        "extensions", ExtensionsField().subtype(implicitTag=implicit(15, constructed=True))
    ),
)


# -- IA5 Text body part


class Repertoire(univ.Enumerated):
    pass


Repertoire.namedValues = namedval.NamedValues(("ita2", 2), ("ia5", 5))


class IA5TextParameters(univ.Set):
    pass


IA5TextParameters.componentType = namedtype.NamedTypes(
    namedtype.DefaultedNamedType(
        "repertoire", Repertoire().subtype(implicitTag=implicit(0), value="ia5")
    ),
)


class IA5TextData(char.IA5String):
    pass


class IA5TextBodyPart(univ.Sequence):
    pass


IA5TextBodyPart.componentType = namedtype.NamedTypes(
    namedtype.NamedType("parameters", IA5TextParameters()),
    namedtype.NamedType("data", IA5TextData()),
)


# -- G3 Facsimile body part


class G3FacsimileParameters(univ.Set):
    pass


G3FacsimileParameters.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "number-of-pages", univ.Integer().subtype(implicitTag=implicit(0))
    ),
    namedtype.OptionalNamedType(
        "non-basic-parameters",
        G3FacsimileNonBasicParameters().subtype(implicitTag=implicit(1)),
    ),
)


class G3FacsimileData(univ.SequenceOf):
    pass


G3FacsimileData.componentType = univ.BitString()


class G3FacsimileBodyPart(univ.Sequence):
    pass


G3FacsimileBodyPart.componentType = namedtype.NamedTypes(
    namedtype.NamedType("parameters", G3FacsimileParameters()),
    namedtype.NamedType("data", G3FacsimileData()),
)


# -- Teletex body part


class TeletexParameters(univ.Set):
    pass


TeletexParameters.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "number-of-pages", univ.Integer().subtype(implicitTag=implicit(0))
    ),
    namedtype.DefaultedNamedType(
        "telex-compatible", univ.Boolean().subtype(implicitTag=implicit(1), value=False)
    ),
    namedtype.OptionalNamedType(
        "non-basic-parameters",
        TeletexNonBasicParameters().subtype(implicitTag=implicit(2, constructed=True)),
    ),
)


class TeletexData(univ.SequenceOf):
    pass


TeletexData.componentType = char.TeletexString()


class TeletexBodyPart(univ.Sequence):
    pass


TeletexBodyPart.componentType = namedtype.NamedTypes(
    namedtype.NamedType("parameters", TeletexParameters()),
    namedtype.NamedType("data", TeletexData()),
)


# -- Videotex body part


class VideotexSyntax(univ.Integer):
    pass


VideotexSyntax.namedValues = namedval.NamedValues(
    ("ids", 0), ("data-syntax1", 1), ("data-syntax2", 2), ("data-syntax3", 3)
)


class VideotexParameters(univ.Set):
    pass


VideotexParameters.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType("syntax", VideotexSyntax().subtype(implicitTag=implicit(0))),
)


class VideotexData(char.VideotexString):
    pass


class VideotexBodyPart(univ.Sequence):
    pass


VideotexBodyPart.componentType = namedtype.NamedTypes(
    namedtype.NamedType("parameters", VideotexParameters()),
    namedtype.NamedType("data", VideotexData()),
)


# -- Message body part


class MessageParameters(univ.Set):
    pass


MessageParameters.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "delivery-time", MessageDeliveryTime().subtype(implicitTag=implicit(0))
    ),
    namedtype.OptionalNamedType(
        "delivery-envelope",
        OtherMessageDeliveryFields().subtype(implicitTag=implicit(1, constructed=True)),
    ),
)


# MessageData ::= IPM -- kept encoded, see the header; message_data() decodes it.
class MessageData(univ.Any):
    pass


class MessageBodyPart(univ.Sequence):
    pass


MessageBodyPart.componentType = namedtype.NamedTypes(
    namedtype.NamedType("parameters", MessageParameters()),
    namedtype.NamedType("data", MessageData()),
)


# -- Bilaterally Defined body part


class BilaterallyDefinedBodyPart(univ.OctetString):
    pass


# -- Nationally Defined body part: NATIONAL-BODY-PARTS.&Type, an open type


class NationallyDefinedBodyPart(univ.Any):
    pass


# -- Extended body part


class ExtendedBodyPart(univ.Sequence):
    pass


# ExtendedBodyPart ::= SEQUENCE {
#   parameters [0] INSTANCE OF TYPE-IDENTIFIER OPTIONAL,
#   data       INSTANCE OF TYPE-IDENTIFIER }
# (1988: ExternallyDefinedBodyPart with EXTERNAL parameters and data)
ExtendedBodyPart.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "parameters", External().subtype(implicitTag=implicit(0, constructed=True))
    ),
    namedtype.NamedType("data", External()),
)


# -- Body


class BodyPart(univ.Choice):
    pass


BodyPart.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "basic",
        univ.Choice(
            componentType=namedtype.NamedTypes(
                namedtype.NamedType(
                    "ia5-text",
                    IA5TextBodyPart().subtype(implicitTag=implicit(0, constructed=True)),
                ),
                namedtype.NamedType(
                    "g3-facsimile",
                    G3FacsimileBodyPart().subtype(implicitTag=implicit(3, constructed=True)),
                ),
                namedtype.NamedType(
                    "teletex",
                    TeletexBodyPart().subtype(implicitTag=implicit(5, constructed=True)),
                ),
                namedtype.NamedType(
                    "videotex",
                    VideotexBodyPart().subtype(implicitTag=implicit(6, constructed=True)),
                ),
                namedtype.NamedType(
                    "message",
                    MessageBodyPart().subtype(implicitTag=implicit(9, constructed=True)),
                ),
                namedtype.NamedType(
                    "bilaterally-defined",
                    BilaterallyDefinedBodyPart().subtype(implicitTag=implicit(14)),
                ),
                # an open type: its [7] is explicit
                namedtype.NamedType(
                    "nationally-defined",
                    NationallyDefinedBodyPart().subtype(explicitTag=explicit(7)),
                ),
            )
        ),
    ),
    namedtype.NamedType(
        "extended", ExtendedBodyPart().subtype(implicitTag=implicit(15, constructed=True))
    ),
)


class Body(univ.SequenceOf):
    pass


Body.componentType = BodyPart()


# -- IPM


class IPM(univ.Sequence):
    pass


IPM.componentType = namedtype.NamedTypes(
    namedtype.NamedType("heading", Heading()),
    namedtype.NamedType("body", Body()),
)


# -- IPN


class SubjectIPMField(IPMIdentifier):
    pass


class IPNOriginatorField(AbsentWhenEmpty, ORDescriptor):
    pass


class IPMIntendedRecipientField(AbsentWhenEmpty, ORDescriptor):
    pass


class ConversionEITsField(EncodedInformationTypes):
    pass


class NotificationExtensionsField(_IPMSExtensions):
    pass


class NonReceiptReasonField(univ.Enumerated):
    pass


NonReceiptReasonField.namedValues = namedval.NamedValues(
    ("ipm-discarded", 0), ("ipm-auto-forwarded", 1)
)


class DiscardReasonField(univ.Enumerated):
    pass


# ITU-T version; ISO/IEC calls 3 ipm-deleted.
DiscardReasonField.namedValues = namedval.NamedValues(
    ("ipm-expired", 0),
    ("ipm-obsoleted", 1),
    ("user-subscription-terminated", 2),
    ("not-used", 3),
)


class AutoForwardComment(char.PrintableString):
    pass


AutoForwardComment.subtypeSpec = constraint.ValueSizeConstraint(0, ub_auto_forward_comment)


class AutoForwardCommentField(AutoForwardComment):
    pass


class ReturnedIPMField(IPM):
    pass


class NRNExtensionsField(_IPMSExtensions):
    pass


class NonReceiptFields(univ.Set):
    pass


NonReceiptFields.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "non-receipt-reason", NonReceiptReasonField().subtype(implicitTag=implicit(0))
    ),
    namedtype.OptionalNamedType(
        "discard-reason", DiscardReasonField().subtype(implicitTag=implicit(1))
    ),
    namedtype.OptionalNamedType(
        "auto-forward-comment", AutoForwardCommentField().subtype(implicitTag=implicit(2))
    ),
    namedtype.OptionalNamedType(
        "returned-ipm", ReturnedIPMField().subtype(implicitTag=implicit(3, constructed=True))
    ),
    namedtype.OptionalNamedType(
        "nrn-extensions",
        NRNExtensionsField().subtype(implicitTag=implicit(4, constructed=True)),
    ),
)


class ReceiptTimeField(Time):
    pass


class AcknowledgmentModeField(univ.Enumerated):
    pass


AcknowledgmentModeField.namedValues = namedval.NamedValues(("manual", 0), ("automatic", 1))


class SupplReceiptInfoField(SupplementaryInformation):
    pass


class RNExtensionsField(_IPMSExtensions):
    pass


class ReceiptFields(univ.Set):
    pass


ReceiptFields.componentType = namedtype.NamedTypes(
    namedtype.NamedType("receipt-time", ReceiptTimeField().subtype(implicitTag=implicit(0))),
    namedtype.DefaultedNamedType(
        "acknowledgment-mode",
        AcknowledgmentModeField().subtype(implicitTag=implicit(1), value="manual"),
    ),
    namedtype.OptionalNamedType(
        "suppl-receipt-info", SupplReceiptInfoField().subtype(implicitTag=implicit(2))
    ),
    namedtype.OptionalNamedType(
        "rn-extensions",
        RNExtensionsField().subtype(implicitTag=implicit(3, constructed=True)),
    ),
)


class OtherNotificationTypeFields(_IPMSExtensions):
    pass


class IPN(univ.Set):
    pass


# IPN ::= SET { COMPONENTS OF CommonFields, choice [0] CHOICE {...} }
# (the CHOICE makes the [0] explicit)
IPN.componentType = namedtype.NamedTypes(
    namedtype.NamedType("subject-ipm", SubjectIPMField()),
    namedtype.OptionalNamedType(
        "ipn-originator",
        IPNOriginatorField().subtype(implicitTag=implicit(1, constructed=True)),
    ),
    namedtype.OptionalNamedType(
        "ipm-intended-recipient",
        IPMIntendedRecipientField().subtype(implicitTag=implicit(2, constructed=True)),
    ),
    namedtype.OptionalNamedType("conversion-eits", ConversionEITsField()),
    namedtype.OptionalNamedType(
        "notification-extensions",
        NotificationExtensionsField().subtype(implicitTag=implicit(3, constructed=True)),
    ),
    namedtype.NamedType(
        "choice",
        univ.Choice(
            componentType=namedtype.NamedTypes(
                namedtype.NamedType(
                    "non-receipt-fields",
                    NonReceiptFields().subtype(implicitTag=implicit(0, constructed=True)),
                ),
                namedtype.NamedType(
                    "receipt-fields",
                    ReceiptFields().subtype(implicitTag=implicit(1, constructed=True)),
                ),
                namedtype.NamedType(
                    "other-notification-type-fields",
                    OtherNotificationTypeFields().subtype(
                        implicitTag=implicit(2, constructed=True)
                    ),
                ),
            )
        ).subtype(explicitTag=explicit(0)),
    ),
)


# -- Information object: the P22 content (content type 22)


class InformationObject(univ.Choice):
    pass


InformationObject.componentType = namedtype.NamedTypes(
    namedtype.NamedType("ipm", IPM().subtype(implicitTag=implicit(0, constructed=True))),
    namedtype.NamedType("ipn", IPN().subtype(implicitTag=implicit(1, constructed=True))),
)


# -- The registry of extended body part types (IPMBodyPartTable)
#
# One explicit table, filled here and nowhere else: the data (id-et-*) and
# parameters (id-ep-*) identifiers of the StandardBodyParts this module can
# type, from IPMSExtendedBodyPartTypes, IPMSExtendedBodyPartTypes2 and
# IPMSFileTransferBodyPartType.


@dataclass(frozen=True)
class ExtendedBodyPartType:
    """One EXTENDED-BODY-PART-TYPE information object."""

    name: str
    data_id: Any  # univ.ObjectIdentifier
    data: Any  # pyasn1 schema of the &data type
    parameters_id: Any = None  # univ.ObjectIdentifier or None
    parameters: Any = None  # pyasn1 schema of the &parameters type or None


EXTENDED_BODY_PART_TYPES: dict[tuple[int, ...], ExtendedBodyPartType] = {
    tuple(t.data_id): t
    for t in (
        ExtendedBodyPartType(
            "ia5-text-body-part",
            oids.id_et_ia5_text,
            IA5TextData(),
            oids.id_ep_ia5_text,
            IA5TextParameters(),
        ),
        ExtendedBodyPartType(
            "g3-facsimile-body-part",
            oids.id_et_g3_facsimile,
            G3FacsimileData(),
            oids.id_ep_g3_facsimile,
            G3FacsimileParameters(),
        ),
        ExtendedBodyPartType(
            "teletex-body-part",
            oids.id_et_teletex,
            TeletexData(),
            oids.id_ep_teletex,
            TeletexParameters(),
        ),
        ExtendedBodyPartType(
            "videotex-body-part",
            oids.id_et_videotex,
            VideotexData(),
            oids.id_ep_videotex,
            VideotexParameters(),
        ),
        ExtendedBodyPartType(
            "message-body-part",
            oids.id_et_message,
            MessageData(),
            oids.id_ep_message,
            MessageParameters(),
        ),
        ExtendedBodyPartType(
            "bilaterally-defined-body-part",
            oids.id_et_bilaterally_defined,
            BilaterallyDefinedBodyPart(),
        ),
        ExtendedBodyPartType(
            "general-text-body-part",
            oids.id_et_general_text,
            GeneralTextData(),
            oids.id_ep_general_text,
            GeneralTextParameters(),
        ),
        ExtendedBodyPartType(
            "file-transfer-body-part",
            oids.id_et_file_transfer,
            FileTransferData(),
            oids.id_ep_file_transfer,
            FileTransferParameters(),
        ),
    )
}


# -- Helpers (typed: pyasn1 values are Any to mypy)


def _external(type_id: Any, value: Any, spec: Any = None) -> Any:
    """An EXTERNAL (or a tagged subtype given as *spec*) carrying *value* as
    its single-ASN1-type, identified by *type_id*."""
    ext = External() if spec is None else spec.clone()  # keeps an implicit tag
    ext["direct-reference"] = type_id
    ext["encoding"]["single-ASN1-type"] = ber.encode(value)
    return ext


def extended_body_part(
    data_id: Any, data: Any, parameters_id: Any = None, parameters: Any = None
) -> Any:
    """A BodyPart whose ``extended`` alternative carries *data* (and
    *parameters*), pyasn1 values identified by *data_id* (*parameters_id*)."""
    body_part = BodyPart()
    part = body_part["extended"]
    if parameters_id is not None:
        part["parameters"] = _external(parameters_id, parameters, part["parameters"])
    part["data"] = _external(data_id, data, part["data"])
    return body_part


@dataclass(frozen=True)
class DecodedExtendedBodyPart:
    """An extended body part read through the registry.

    ``kind`` is None for a type not in EXTENDED_BODY_PART_TYPES; then
    ``data`` and ``parameters`` are the encodings as sent (bytes)."""

    kind: ExtendedBodyPartType | None
    data_id: tuple[int, ...]
    data: Any
    parameters: Any


def _external_value(ext: Any) -> bytes:
    encoding = ext["encoding"]
    if encoding.getName() != "single-ASN1-type":
        raise ber.BERError(0, f"EXTERNAL with {encoding.getName()} encoding is not supported")
    return bytes(encoding["single-ASN1-type"])


def read_extended_body_part(part: Any) -> DecodedExtendedBodyPart:
    """Decode the data (and parameters) of an ExtendedBodyPart by its data
    identifier, with the bounded decoder; unknown types come back encoded."""
    data_ext = part["data"]
    if not data_ext["direct-reference"].isValue:
        raise ber.BERError(0, "extended body part data without a direct-reference")
    data_id = tuple(data_ext["direct-reference"])
    has_parameters = part["parameters"].isValue
    kind = EXTENDED_BODY_PART_TYPES.get(data_id)
    if kind is None:
        return DecodedExtendedBodyPart(
            None,
            data_id,
            _external_value(data_ext),
            _external_value(part["parameters"]) if has_parameters else None,
        )
    data = ber.decode(_external_value(data_ext), kind.data)
    parameters = None
    if has_parameters:
        if kind.parameters is None:
            raise ber.BERError(0, f"{kind.name} takes no parameters")
        if tuple(part["parameters"]["direct-reference"]) != tuple(kind.parameters_id):
            raise ber.BERError(0, f"{kind.name} with foreign parameters")
        parameters = ber.decode(_external_value(part["parameters"]), kind.parameters)
    return DecodedExtendedBodyPart(kind, data_id, data, parameters)


def message_body_part(ipm: Any, parameters: Any = None) -> Any:
    """Build a MessageBodyPart holding *ipm* (X.420 7.3.9)."""
    part = MessageBodyPart()
    part["parameters"] = MessageParameters() if parameters is None else parameters
    part["data"] = ber.encode(ipm)
    return part


def message_data(part: Any, **limits: int) -> Any:
    """The IPM inside a MessageBodyPart, decoded with the bounded decoder."""
    return ber.decode(bytes(part["data"]), IPM(), **limits)


def as_component(parent: Any, name: str, value: Any) -> Any:
    """*value* re-tagged to fit the component *name* of *parent*: e.g. an IPM
    as the ``returned-ipm [3]`` of NonReceiptFields or the ``ipm [0]`` of an
    InformationObject (pyasn1 refuses a value whose tags differ)."""
    slot = parent.componentType[name].asn1Object
    if value.tagSet == slot.tagSet:
        return value
    if len(value.tagSet) == len(slot.tagSet):  # IMPLICIT: the last tag replaced
        return value.subtype(implicitTag=slot.tagSet[-1], cloneValueFlag=True)
    if len(value.tagSet) + 1 == len(slot.tagSet):  # EXPLICIT: one tag added
        return value.subtype(explicitTag=slot.tagSet[-1], cloneValueFlag=True)
    raise ValueError(f"{type(value).__name__} does not fit {name} of {type(parent).__name__}")
