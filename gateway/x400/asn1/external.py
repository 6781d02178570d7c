# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# EXTERNAL, ITU-T X.208 (1988) clause 33 / X.690 8.18: the universal type the
# 1988 X.400 modules use for externally defined values (X.420 1988
# externally-defined body parts, the ACSE and presentation user data).  The
# 1994+ "INSTANCE OF TYPE-IDENTIFIER" (X.681 C.10) has the same tag and
# encodes as an EXTERNAL with a direct-reference and a single-ASN1-type, so
# this one type decodes both.
"""X.208 EXTERNAL (the 1988 definition, which every X.400 peer sends)."""

from __future__ import annotations

from pyasn1.type import namedtype, tag, univ, useful

from gateway.x400.asn1.tags import explicit, implicit

__all__ = ["External"]


class External(univ.Sequence):
    pass


External.tagSet = univ.Sequence.tagSet.tagImplicitly(
    tag.Tag(tag.tagClassUniversal, tag.tagFormatConstructed, 8)
)
External.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType("direct-reference", univ.ObjectIdentifier()),
    namedtype.OptionalNamedType("indirect-reference", univ.Integer()),
    namedtype.OptionalNamedType("data-value-descriptor", useful.ObjectDescriptor()),
    namedtype.NamedType(
        "encoding",
        univ.Choice(
            componentType=namedtype.NamedTypes(
                # X.208: "[0] ANY" -- a tagged ANY is always explicitly tagged
                namedtype.NamedType(
                    "single-ASN1-type",
                    univ.Any().subtype(explicitTag=explicit(0)),
                ),
                namedtype.NamedType(
                    "octet-aligned",
                    univ.OctetString().subtype(implicitTag=implicit(1)),
                ),
                namedtype.NamedType(
                    "arbitrary",
                    univ.BitString().subtype(implicitTag=implicit(2)),
                ),
            )
        ),
    ),
)
