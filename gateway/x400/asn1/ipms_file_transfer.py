# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# IPMSFileTransferBodyPartType {joint-iso-itu-t mhs(6) ipms(1) modules(0)
#   file-transfer-body-part-type(9)}, ITU-T X.420 (06/1999) 7.4.12,
#   DEFINITIONS IMPLICIT TAGS
#
# The file transfer body part (FTBP): FileTransferParameters (id-ep-file-
# transfer) and FileTransferData (id-et-file-transfer).  What the gateway
# needs is the file's name (file-attributes pathname, or the pathname of a
# related stored file) and its octets (the EXTERNALs of FileTransferData).
#
# Simplifications, each for a stated reason:
# - The ISO 8571-4 (FTAM) attribute types this module imports are written
#   out where they are small CHOICEs (Date-and-Time-Attribute,
#   Object-Size-Attribute, Object-Availability-Attribute) or plain types
#   (Pathname ::= SEQUENCE OF GraphicString, Permitted-Actions-Attribute);
#   the rest are kept encoded (univ.Any), because modelling them would pull
#   in ISO 8571 and ACSE modules for fields a mail gateway never acts on:
#   access-control [15] (needs ACSE AP-title/AE-qualifier and FTAM
#   Concurrency-Access), legal-qualifications [16], private-use [17] and
#   attribute-extensions [22] (implicitly tagged, so its contents octets).
# - The open types (DOCUMENT-PARAMETER.&Type, COMPRESSION-ALGORITHM.&Type)
#   are kept encoded.
# - "DEFAULT" components are OPTIONAL: an absent contents-type means the
#   default FTAM-3 unstructured binary document type; an absent relationship
#   means explicit-relationship unspecified.
# - ExtensionsField (IPMSInformationObjects) is restated here, with the same
#   encoding (SET OF SEQUENCE { type OID, value ANY DEFAULT NULL }), rather
#   than imported: ipms.py's body part registry imports this module.
"""X.420 IPMSFileTransferBodyPartType: the file transfer body part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyasn1.type import char, namedtype, namedval, univ, useful

from gateway.x400.asn1 import ber
from gateway.x400.asn1.external import External
from gateway.x400.asn1.mts import AbsentWhenEmpty, ORName, TaggedAny
from gateway.x400.asn1.tags import explicit, implicit

#: {iso standard 8571 document-type(5) unstructured-text(1)}: FTAM-1
FTAM_1 = univ.ObjectIdentifier((1, 0, 8571, 5, 1))
#: {iso standard 8571 document-type(5) unstructured-binary(3)}: FTAM-3, the
#: default contents-type
FTAM_3 = univ.ObjectIdentifier((1, 0, 8571, 5, 3))
#: {iso standard 8571 abstract-syntax(2) unstructured-binary(4)}: the abstract
#: syntax of FTAM-3 data values (OCTET STRINGs), named in the data EXTERNALs
FTAM_UNSTRUCTURED_BINARY = univ.ObjectIdentifier((1, 0, 8571, 2, 4))


# -- FTAM (ISO 8571-4) attribute types used here


class Pathname(univ.SequenceOf):
    """ISO 8571-4 Pathname ::= SEQUENCE OF GraphicString."""


Pathname.componentType = char.GraphicString()


class Permitted_Actions_Attribute(univ.BitString):  # the ASN.1 name, hyphens made underscores
    pass


Permitted_Actions_Attribute.namedValues = namedval.NamedValues(
    ("read", 0),
    ("insert", 1),
    ("replace", 2),
    ("extend", 3),
    ("erase", 4),
    ("read-attribute", 5),
    ("change-attribute", 6),
    ("delete-Object", 7),
    ("traversal", 8),
    ("reverse-traversal", 9),
    ("random-order", 10),
)


def _no_value_or(name: str, spec: Any) -> namedtype.NamedTypes:
    """The FTAM pattern CHOICE { no-value-available [0] IMPLICIT NULL,
    actual-values [1] IMPLICIT ... }."""
    return namedtype.NamedTypes(
        namedtype.NamedType("no-value-available", univ.Null().subtype(implicitTag=implicit(0))),
        namedtype.NamedType(name, spec),
    )


class Date_and_Time_Attribute(univ.Choice):  # the ASN.1 name, hyphens made underscores
    pass


Date_and_Time_Attribute.componentType = _no_value_or(
    "actual-values", useful.GeneralizedTime().subtype(implicitTag=implicit(1))
)


class Object_Size_Attribute(univ.Choice):  # the ASN.1 name, hyphens made underscores
    pass


Object_Size_Attribute.componentType = _no_value_or(
    "actual-values", univ.Integer().subtype(implicitTag=implicit(1))
)


class Object_Availability_Attribute(univ.Choice):  # the ASN.1 name, hyphens made underscores
    pass


# actual-values: immediate-availability (FALSE), deferred-availability (TRUE)
Object_Availability_Attribute.componentType = _no_value_or(
    "actual-values", univ.Boolean().subtype(implicitTag=implicit(1))
)


# -- This module's own types


class Pathname_Attribute(univ.Choice):  # the ASN.1 name, hyphens made underscores
    pass


Pathname_Attribute.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "incomplete-pathname", Pathname().subtype(implicitTag=implicit(0, constructed=True))
    ),
    namedtype.NamedType(
        "complete-pathname", Pathname().subtype(implicitTag=implicit(23, constructed=True))
    ),
)


class Account_Attribute(univ.Choice):  # the ASN.1 name, hyphens made underscores
    pass


Account_Attribute.componentType = _no_value_or("actual-values", char.GraphicString())


class User_Identity_Attribute(univ.Choice):  # the ASN.1 name, hyphens made underscores
    pass


User_Identity_Attribute.componentType = _no_value_or("actual-values", char.GraphicString())


class FileAttributes(AbsentWhenEmpty, univ.Sequence):
    pass


# CHOICE types tagged here ([1]..[17] below, except the BIT STRING [1] and
# the SEQUENCE OF [22]) get explicit tags in this IMPLICIT TAGS module.
FileAttributes.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType("pathname", Pathname_Attribute()),
    namedtype.OptionalNamedType(
        "permitted-actions", Permitted_Actions_Attribute().subtype(implicitTag=implicit(1))
    ),
    namedtype.OptionalNamedType(
        "storage-account", Account_Attribute().subtype(explicitTag=explicit(3))
    ),
    namedtype.OptionalNamedType(
        "date-and-time-of-creation", Date_and_Time_Attribute().subtype(explicitTag=explicit(4))
    ),
    namedtype.OptionalNamedType(
        "date-and-time-of-last-modification",
        Date_and_Time_Attribute().subtype(explicitTag=explicit(5)),
    ),
    namedtype.OptionalNamedType(
        "date-and-time-of-last-read-access",
        Date_and_Time_Attribute().subtype(explicitTag=explicit(6)),
    ),
    namedtype.OptionalNamedType(
        "date-and-time-of-last-attribute-modification",
        Date_and_Time_Attribute().subtype(explicitTag=explicit(7)),
    ),
    namedtype.OptionalNamedType(
        "identity-of-creator", User_Identity_Attribute().subtype(explicitTag=explicit(8))
    ),
    namedtype.OptionalNamedType(
        "identity-of-last-modifier", User_Identity_Attribute().subtype(explicitTag=explicit(9))
    ),
    namedtype.OptionalNamedType(
        "identity-of-last-reader", User_Identity_Attribute().subtype(explicitTag=explicit(10))
    ),
    namedtype.OptionalNamedType(
        "identity-of-last-attribute-modifier",
        User_Identity_Attribute().subtype(explicitTag=explicit(11)),
    ),
    namedtype.OptionalNamedType(
        "object-availability", Object_Availability_Attribute().subtype(explicitTag=explicit(12))
    ),
    namedtype.OptionalNamedType(
        "object-size", Object_Size_Attribute().subtype(explicitTag=explicit(13))
    ),
    namedtype.OptionalNamedType(
        "future-object-size", Object_Size_Attribute().subtype(explicitTag=explicit(14))
    ),
    # opaque, see the header
    namedtype.OptionalNamedType("access-control", TaggedAny().subtype(explicitTag=explicit(15))),
    namedtype.OptionalNamedType(
        "legal-qualifications", TaggedAny().subtype(explicitTag=explicit(16))
    ),
    namedtype.OptionalNamedType("private-use", TaggedAny().subtype(explicitTag=explicit(17))),
    namedtype.OptionalNamedType(
        "attribute-extensions", TaggedAny().subtype(implicitTag=implicit(22, constructed=True))
    ),
)


class MessageReference(univ.Set):
    pass


MessageReference.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "user", ORName().subtype(implicitTag=implicit(0, constructed=True))
    ),
    namedtype.NamedType(
        "user-relative-identifier", char.PrintableString().subtype(implicitTag=implicit(1))
    ),
)


class CrossReference(univ.Sequence):
    pass


CrossReference.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "application-cross-reference", univ.OctetString().subtype(implicitTag=implicit(0))
    ),
    namedtype.OptionalNamedType(
        "message-reference", MessageReference().subtype(implicitTag=implicit(1, constructed=True))
    ),
    namedtype.OptionalNamedType(
        "body-part-reference", univ.Integer().subtype(implicitTag=implicit(2))
    ),
)


class PathnameandVersion(univ.Sequence):
    pass


PathnameandVersion.componentType = namedtype.NamedTypes(
    namedtype.NamedType("pathname", Pathname_Attribute().subtype(explicitTag=explicit(0))),
    namedtype.OptionalNamedType(
        "file-version", char.GraphicString().subtype(implicitTag=implicit(1))
    ),
)


class FileIdentifier(univ.Choice):
    pass


FileIdentifier.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "pathname-and-version",
        PathnameandVersion().subtype(implicitTag=implicit(0, constructed=True)),
    ),
    namedtype.NamedType(
        "cross-reference", CrossReference().subtype(implicitTag=implicit(1, constructed=True))
    ),
)


class ExplicitRelationship(univ.Integer):
    pass


ExplicitRelationship.namedValues = namedval.NamedValues(
    ("unspecified", 0), ("new-file", 1), ("replacement", 2), ("extension", 3)
)


class Relationship(univ.Choice):
    pass


Relationship.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "explicit-relationship", ExplicitRelationship().subtype(implicitTag=implicit(0))
    ),
    namedtype.NamedType(
        "descriptive-relationship", char.GraphicString().subtype(implicitTag=implicit(1))
    ),
)


class RelatedStoredFile(univ.SetOf):
    pass


RelatedStoredFile.componentType = univ.Sequence(
    componentType=namedtype.NamedTypes(
        namedtype.NamedType("file-identifier", FileIdentifier()),
        # "DEFAULT explicit-relationship:unspecified" modelled as OPTIONAL
        namedtype.OptionalNamedType("relationship", Relationship()),
    )
)


class Contents_Type_Attribute(univ.Choice):  # the ASN.1 name, hyphens made underscores
    pass


Contents_Type_Attribute.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "document-type",
        univ.Sequence(
            componentType=namedtype.NamedTypes(
                namedtype.NamedType("document-type-name", univ.ObjectIdentifier()),
                # DOCUMENT-PARAMETER.&Type: an open type, so [0] is explicit
                namedtype.OptionalNamedType(
                    "parameter", TaggedAny().subtype(explicitTag=explicit(0))
                ),
            )
        ).subtype(implicitTag=implicit(0, constructed=True)),
    ),
    namedtype.NamedType(
        "constraint-set-and-abstract-syntax",
        univ.Sequence(
            componentType=namedtype.NamedTypes(
                namedtype.NamedType("constraint-set-name", univ.ObjectIdentifier()),
                namedtype.NamedType("abstract-syntax-name", univ.ObjectIdentifier()),
            )
        ).subtype(implicitTag=implicit(1, constructed=True)),
    ),
)


class ContentsTypeParameter(Contents_Type_Attribute):
    pass


class GeneralIdentifier(univ.Choice):
    pass


GeneralIdentifier.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "registered-identifier", univ.ObjectIdentifier().subtype(implicitTag=implicit(0))
    ),
    namedtype.NamedType(
        "descriptive-identifier",
        univ.SequenceOf(componentType=char.GraphicString()).subtype(
            implicitTag=implicit(1, constructed=True)
        ),
    ),
)


class EnvironmentParameter(AbsentWhenEmpty, univ.Sequence):
    pass


EnvironmentParameter.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "application-reference", GeneralIdentifier().subtype(explicitTag=explicit(0))
    ),
    namedtype.OptionalNamedType("machine", GeneralIdentifier().subtype(explicitTag=explicit(1))),
    namedtype.OptionalNamedType(
        "operating-system", univ.ObjectIdentifier().subtype(implicitTag=implicit(2))
    ),
    namedtype.OptionalNamedType(
        "user-visible-string",
        univ.SequenceOf(componentType=char.GraphicString()).subtype(
            implicitTag=implicit(3, constructed=True)
        ),
    ),
)


class CompressionParameter(univ.Sequence):
    pass


CompressionParameter.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "compression-algorithm-id", univ.ObjectIdentifier().subtype(implicitTag=implicit(0))
    ),
    namedtype.NamedType(
        "compression-algorithm-param", TaggedAny().subtype(explicitTag=explicit(1))
    ),
)


class _IPMSExtension(univ.Sequence):
    pass


_IPMSExtension.componentType = namedtype.NamedTypes(
    namedtype.NamedType("type", univ.ObjectIdentifier()),
    namedtype.DefaultedNamedType("value", univ.Any(b"\x05\x00")),
)


class ExtensionsField(univ.SetOf):
    """X.420 ExtensionsField, restated (see the header)."""


ExtensionsField.componentType = _IPMSExtension()


class FileTransferParameters(univ.Sequence):
    pass


FileTransferParameters.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType(
        "related-stored-file",
        RelatedStoredFile().subtype(implicitTag=implicit(0, constructed=True)),
    ),
    # a CHOICE: [1] is explicit; "DEFAULT document-type: FTAM-3" as OPTIONAL
    namedtype.OptionalNamedType(
        "contents-type", ContentsTypeParameter().subtype(explicitTag=explicit(1))
    ),
    namedtype.OptionalNamedType(
        "environment", EnvironmentParameter().subtype(implicitTag=implicit(2, constructed=True))
    ),
    namedtype.OptionalNamedType(
        "compression", CompressionParameter().subtype(implicitTag=implicit(3, constructed=True))
    ),
    namedtype.OptionalNamedType(
        "file-attributes", FileAttributes().subtype(implicitTag=implicit(4, constructed=True))
    ),
    namedtype.OptionalNamedType(
        "extensions", ExtensionsField().subtype(implicitTag=implicit(5, constructed=True))
    ),
)


class FileTransferData(univ.SequenceOf):
    """SEQUENCE OF EXTERNAL: the file contents as data values whose rules
    the contents-type implies."""


FileTransferData.componentType = External()


# -- Helpers (typed: pyasn1 values are Any to mypy)


def file_transfer(
    name: str, contents: bytes, *, pathname: tuple[str, ...] = ()
) -> tuple[Any, Any]:
    """(FileTransferParameters, FileTransferData) for an FTAM-3 (unstructured
    binary) file called *name*, in the directories *pathname*: the name is the
    last element of the file-attributes incomplete-pathname, and the octets
    are one EXTERNAL of the FTAM unstructured binary abstract syntax in the
    octet-aligned encoding, the file's octets as they are (the EMA MAWG FTBP
    profile's form; Wireshark's FTBP dissector, like most peers, reads it
    without an FTAM data dissector).  Both encodings are read."""
    parameters = FileTransferParameters()
    path = parameters["file-attributes"]["pathname"]["incomplete-pathname"]
    for element in (*pathname, name):
        path.append(element)
    data = FileTransferData()
    ext = External()
    ext["direct-reference"] = FTAM_UNSTRUCTURED_BINARY
    ext["encoding"]["octet-aligned"] = contents
    data.append(ext)
    return parameters, data


class _DataValue(univ.Choice):
    """The string types FTAM data values come as: OCTET STRING (FTAM-3) and
    the character strings of FTAM-1 and FTAM-2."""


_DataValue.componentType = namedtype.NamedTypes(
    namedtype.NamedType("octets", univ.OctetString()),
    namedtype.NamedType("graphic", char.GraphicString()),
    namedtype.NamedType("general", char.GeneralString()),
    namedtype.NamedType("ia5", char.IA5String()),
    namedtype.NamedType("visible", char.VisibleString()),
)


@dataclass(frozen=True)
class FileTransfer:
    """What a file transfer body part carries, read by :func:`read_file_transfer`."""

    pathname: tuple[str, ...]  # empty when no pathname was sent
    document_type: tuple[int, ...]  # FTAM_3 when contents-type is absent
    contents: bytes

    @property
    def name(self) -> str | None:
        """The file name: the last element of the pathname."""
        return self.pathname[-1] if self.pathname else None


def _pathname(parameters: Any) -> tuple[str, ...]:
    """The pathname from file-attributes, else from the first related
    stored file that names one."""
    attributes = parameters["file-attributes"]
    if attributes.isValue and attributes["pathname"].isValue:
        choice = attributes["pathname"]
        return tuple(str(element) for element in choice[choice.getName()])
    related = parameters["related-stored-file"]
    if related.isValue:
        for entry in related:
            identifier = entry["file-identifier"]
            if identifier.getName() == "pathname-and-version":
                choice = identifier["pathname-and-version"]["pathname"]
                return tuple(str(element) for element in choice[choice.getName()])
    return ()


def _data_value(ext: Any, **limits: int) -> bytes:
    encoding = ext["encoding"]
    kind = encoding.getName()
    if kind == "octet-aligned":
        return bytes(encoding["octet-aligned"])
    if kind == "single-ASN1-type":
        value = ber.decode(bytes(encoding["single-ASN1-type"]), _DataValue(), **limits)
        return bytes(value.getComponent().asOctets())
    raise ber.BERError(0, f"file transfer data as {kind} is not supported")


def read_file_transfer(parameters: Any, data: Any, **limits: int) -> FileTransfer:
    """The pathname, document type and octets of a file transfer body part
    (*parameters* may be None).  The data values are concatenated, as FTAM
    unstructured files are."""
    pathname: tuple[str, ...] = ()
    document_type = tuple(FTAM_3)
    if parameters is not None:
        pathname = _pathname(parameters)
        contents_type = parameters["contents-type"]
        if contents_type.isValue and contents_type.getName() == "document-type":
            document_type = tuple(contents_type["document-type"]["document-type-name"])
    contents = b"".join(_data_value(ext, **limits) for ext in data)
    return FileTransfer(pathname, document_type, contents)
