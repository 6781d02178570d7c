"""Sample X.400 values built field by field with pyasn1, for the tests.

The O/R names follow the real exchange in P1-WIRE.md (ADMD a single space,
an IPM identifier carrying an encoded RFC 822 Message-ID)."""

from __future__ import annotations

from typing import Any

from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import univ
from pyasn1_modules import rfc5280

from gateway.x400.asn1 import ipms, mts
from gateway.x400.asn1 import ipms_object_identifiers as oids
from gateway.x400.asn1.ipms_extended_body_part_types2 import (
    GeneralTextData,
    GeneralTextParameters,
)


def or_name(surname: str, given: str | None = None, *, directory: bool = False) -> Any:
    name = mts.ORName()
    bsa = name["built-in-standard-attributes"]
    bsa["country-name"]["iso-3166-alpha2-code"] = "GB"
    bsa["administration-domain-name"]["printable"] = " "
    bsa["private-domain-name"]["printable"] = "Lab"
    bsa["organization-name"] = "Isode"
    bsa["organizational-unit-names"].append("Sales")
    bsa["personal-name"]["surname"] = surname
    if given is not None:
        bsa["personal-name"]["given-name"] = given
    if directory:
        atv = rfc5280.AttributeTypeAndValue()
        atv["type"] = rfc5280.id_at_name
        cn = rfc5280.X520name()
        cn["printableString"] = surname
        atv["value"] = der_encoder.encode(cn)
        rdn = rfc5280.RelativeDistinguishedName()
        rdn.append(atv)
        name["directory-name"]["rdnSequence"].append(rdn)
    return name


def descriptor(spec: Any, surname: str, given: str | None = None, **kw: Any) -> Any:
    d = spec.clone()
    d["formal-name"] = or_name(surname, given, directory=kw.get("directory", False))
    if "free" in kw:
        d["free-form-name"] = kw["free"]
    if "phone" in kw:
        d["telephone-number"] = kw["phone"]
    return d


def ipm_identifier(spec: Any, local: str, user: str | None = None) -> Any:
    ident = spec.clone()
    if user is not None:
        ident["user"] = or_name(user)
    ident["user-relative-identifier"] = local
    return ident


def recipient(spec: Any, surname: str, *, requests: str | None = None) -> Any:
    r = spec.clone()
    r["recipient"]["formal-name"] = or_name(surname)
    if requests is not None:
        r["notification-requests"] = requests  # e.g. "'110'B"
    r["reply-requested"] = True
    ext = ipms.IPMSExtension()
    ext["type"] = oids.id_rex_precedence
    ext["value"] = der_encoder.encode(univ.Integer(28))
    r["recipient-extensions"].append(ext)
    return r


def _component(parent: Any, name: str) -> Any:
    """The (tagged) schema of *parent*'s component *name*, as a fresh value."""
    return parent.componentType[name].asn1Object.clone()


def heading() -> Any:
    h = ipms.Heading()
    h["this-IPM"] = ipm_identifier(_component(h, "this-IPM"), "(q)abc.123(q)(a)lab.test", "Smith")
    h["originator"] = descriptor(
        _component(h, "originator"),
        "Smith",
        "John",
        free="John Smith",
        phone="+44 20 1234",
        directory=True,
    )
    h["authorizing-users"].append(descriptor(ipms.AuthorizingUsersSubfield(), "Boss"))
    h["primary-recipients"].append(
        recipient(ipms.PrimaryRecipientsSubfield(), "Jones", requests="'11'B")
    )
    h["primary-recipients"].append(recipient(ipms.PrimaryRecipientsSubfield(), "Brown"))
    h["copy-recipients"].append(recipient(ipms.CopyRecipientsSubfield(), "Green"))
    h["blind-copy-recipients"].append(recipient(ipms.BlindCopyRecipientsSubfield(), "Black"))
    h["replied-to-IPM"] = ipm_identifier(_component(h, "replied-to-IPM"), "earlier.1")
    h["obsoleted-IPMs"].append(ipm_identifier(ipms.ObsoletedIPMsSubfield(), "old.1", "Smith"))
    h["related-IPMs"].append(ipm_identifier(ipms.RelatedIPMsSubfield(), "rel.1"))
    h["related-IPMs"].append(ipm_identifier(ipms.RelatedIPMsSubfield(), "rel.2"))
    h["subject"] = "Quarterly figures, r\xe9sum\xe9"
    h["expiry-time"] = "261231235959Z"
    h["reply-time"] = "2612011200Z"
    h["reply-recipients"].append(descriptor(ipms.ReplyRecipientsSubfield(), "Smith", "J"))
    h["importance"] = "high"
    h["sensitivity"] = "company-confidential"
    h["auto-forwarded"] = True
    ext = ipms.IPMSExtension()
    ext["type"] = oids.id_hex_incomplete_copy  # VALUE NULL: the default, omitted
    h["extensions"].append(ext)
    ext = ipms.IPMSExtension()
    ext["type"] = oids.id_hex_auto_submitted
    ext["value"] = der_encoder.encode(univ.Enumerated(1))  # auto-generated
    h["extensions"].append(ext)
    return h


def ia5_part(text: str) -> Any:
    part = ipms.BodyPart()
    part["basic"]["ia5-text"]["parameters"]["repertoire"] = "ia5"
    part["basic"]["ia5-text"]["data"] = text
    return part


def general_text_part(text: bytes, charsets: tuple[int, ...] = (1, 6, 100)) -> Any:
    params = GeneralTextParameters()
    for c in charsets:
        params.append(c)
    data = GeneralTextData(text)
    return ipms.extended_body_part(oids.id_et_general_text, data, oids.id_ep_general_text, params)


def bilateral_part(data: bytes) -> Any:
    part = ipms.BodyPart()
    part["basic"]["bilaterally-defined"] = data
    return part


def full_ipm() -> Any:
    """An IPM with every Heading field and three body parts (IA5 text,
    general text as an extended body part, bilaterally defined)."""
    ipm = ipms.IPM()
    ipm["heading"] = heading()
    ipm["body"].append(ia5_part("Hello,\r\nthe figures are attached.\r\n"))
    ipm["body"].append(
        general_text_part(b"\x1b-A Gr\xfc\xdfe aus K\xf6ln\r\n")  # ISO 2022 ESC - A: Latin-1
    )
    ipm["body"].append(bilateral_part(b"%PDF-1.4\n\x00\x01\x02 binary"))
    return ipm


def simple_ipm(local: str = "inner.1") -> Any:
    ipm = ipms.IPM()
    ipm["heading"]["this-IPM"] = ipm_identifier(ipms.ThisIPMField(), local, "Smith")
    ipm["heading"]["subject"] = "inner"
    ipm["body"].append(ia5_part("inner text"))
    return ipm
