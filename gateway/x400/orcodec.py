"""O/R addresses and names between the model and their X.411 ASN.1 form.

:func:`or_address_to_asn1` / :func:`or_address_from_asn1` convert
:class:`~gateway.x400.orname.ORAddress` to and from the X.411 ORAddress
(``pyasn1_modules.rfc5280.ORAddress``, which copies it): built-in standard
attributes, built-in domain-defined attributes and the extension attributes
(X.411 18.5: common name, the postal ones, extended network address, terminal
type).  :func:`or_name_to_asn1` / :func:`or_name_from_asn1` do the same for
ORName, whose directory name is kept as RFC 4514 text (``CN=x,O=y``; a value
that is not a PrintableString is written in the ``OID=#hex`` form, so the
text always encodes back to the same octets).

Teletex attributes (extension types 2 to 6) are read when their value is
plain PrintableString text and used where no printable form is present;
anything else in them is refused with :class:`ORAddressError` naming the
attribute, as :mod:`gateway.x400.orname` does for teletex std-or text.
"""

from __future__ import annotations

from typing import Any

from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, univ
from pyasn1_modules import rfc5280

from gateway.x400.asn1 import ber
from gateway.x400.asn1 import mts as asn1_mts
from gateway.x400.model import ORName
from gateway.x400.orname import ORAddress, ORAddressError, is_printable

__all__ = [
    "directory_name_from_asn1",
    "directory_name_to_asn1",
    "fill_or_address",
    "or_address_from_asn1",
    "or_address_to_asn1",
    "or_name_from_asn1",
    "or_name_to_asn1",
]

# X.411 extension-attribute types (ExtensionAttributeType) of the PDSParameter
# family, by std-or key (RFC 2156 4.1.1).
_PDS_PARAMETERS = {
    "PD-OFFICE": 10,
    "PD-OFFICE-NUM": 11,
    "PD-EXT-ADDRESS": 12,
    "PD-PN": 13,
    "PD-O": 14,
    "PD-EXT-DELIVERY": 15,
    "PD-STREET": 17,
    "PD-BOX": 18,
    "PD-RESTANTE": 19,
    "PD-UNIQUE": 20,
    "PD-LOCAL": 21,
}
_PDS_KEYS = {number: key for key, number in _PDS_PARAMETERS.items()}
_COMMON_NAME, _TELETEX_CN, _TELETEX_O, _TELETEX_PN, _TELETEX_OU, _TELETEX_DDA = 1, 2, 3, 4, 5, 6
_PDS_NAME, _PD_COUNTRY, _POSTAL_CODE, _UNFORMATTED = 7, 8, 9, 16
_NETWORK_ADDRESS, _TERMINAL_TYPE = 22, 23

# RFC 4514 short names of the directory attribute types most often seen.
_DN_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
}
_DN_OIDS = {name: oid for oid, name in _DN_NAMES.items()}


def _choice_numeric_or_printable(spec: Any, value: str, numeric: str, printable: str) -> Any:
    """X.411 CountryName, AdministrationDomainName, PrivateDomainName,
    PostalCode...: NumericString when the value is all digits (RFC 2156
    4.1.1), else PrintableString."""
    holder = spec.clone()
    holder[numeric if value.isdigit() else printable] = value
    return holder


def _extension(number: int, value: Any) -> Any:
    attr = rfc5280.ExtensionAttribute()
    attr["extension-attribute-type"] = number
    attr["extension-attribute-value"] = ber.encode(value)
    return attr


def or_address_to_asn1(addr: ORAddress) -> Any:
    """The X.411 ORAddress of *addr* (a ``rfc5280.ORAddress`` value)."""
    return fill_or_address(rfc5280.ORAddress(), addr)


def fill_or_address(out: Any, addr: ORAddress) -> Any:
    """Set the ORAddress components of *out* (an ORAddress or an ORName)."""
    std = out["built-in-standard-attributes"]
    if addr.country is not None:
        std["country-name"] = _choice_numeric_or_printable(
            std["country-name"], addr.country, "x121-dcc-code", "iso-3166-alpha2-code"
        )
    if addr.admd is not None:
        std["administration-domain-name"] = _choice_numeric_or_printable(
            std["administration-domain-name"], addr.admd, "numeric", "printable"
        )
    if addr.x121 is not None:
        std["network-address"] = addr.x121
    if addr.terminal_id is not None:
        std["terminal-identifier"] = addr.terminal_id
    if addr.prmd is not None:
        std["private-domain-name"] = _choice_numeric_or_printable(
            std["private-domain-name"], addr.prmd, "numeric", "printable"
        )
    if addr.organisation is not None:
        std["organization-name"] = addr.organisation
    if addr.numeric_user_id is not None:
        std["numeric-user-identifier"] = addr.numeric_user_id
    if addr.surname is not None:
        pn = std["personal-name"]
        pn["surname"] = addr.surname
        for name, value in (
            ("given-name", addr.given_name),
            ("initials", addr.initials),
            ("generation-qualifier", addr.generation_qualifier),
        ):
            if value is not None:
                pn[name] = value
    for i, unit in enumerate(addr.org_units):
        std["organizational-unit-names"][i] = unit
    for i, (dtype, dvalue) in enumerate(addr.dda):
        dda = out["built-in-domain-defined-attributes"][i]
        dda["type"] = dtype
        dda["value"] = dvalue
    extensions = _extension_attributes(addr)
    for i, attr in enumerate(extensions):
        out["extension-attributes"][i] = attr
    return out


def _extension_attributes(addr: ORAddress) -> list[Any]:
    found: list[Any] = []
    if addr.common_name is not None:
        found.append(_extension(_COMMON_NAME, rfc5280.CommonName(addr.common_name)))
    extra = dict(addr.extra)
    if "PD-SERVICE" in extra:
        found.append(_extension(_PDS_NAME, rfc5280.PDSName(extra["PD-SERVICE"])))
    if "PD-C" in extra:
        country = _choice_numeric_or_printable(
            rfc5280.PhysicalDeliveryCountryName(),
            extra["PD-C"],
            "x121-dcc-code",
            "iso-3166-alpha2-code",
        )
        found.append(_extension(_PD_COUNTRY, country))
    if "PD-CODE" in extra:
        code = _choice_numeric_or_printable(
            rfc5280.PostalCode(), extra["PD-CODE"], "numeric-code", "printable-code"
        )
        found.append(_extension(_POSTAL_CODE, code))
    for key, number in _PDS_PARAMETERS.items():
        if key in extra:
            param = rfc5280.oraddressExtensionAttributeMap[univ.Integer(number)].clone()
            param["printable-string"] = extra[key]
            found.append(_extension(number, param))
    if "PD-ADDRESS" in extra:
        postal = rfc5280.UnformattedPostalAddress()
        for i, line in enumerate(extra["PD-ADDRESS"].split("|")):
            postal["printable-address"][i] = line
        found.append(_extension(_UNFORMATTED, postal))
    if "NET-NUM" in extra:
        net = rfc5280.ExtendedNetworkAddress()
        e163 = net["e163-4-address"]
        e163["number"] = extra["NET-NUM"]
        if "NET-SUB" in extra:
            e163["sub-address"] = extra["NET-SUB"]
        found.append(_extension(_NETWORK_ADDRESS, net))
    if addr.terminal_type is not None:
        found.append(_extension(_TERMINAL_TYPE, rfc5280.TerminalType(addr.terminal_type)))
    return found


def _text(value: Any) -> str:
    if isinstance(value, univ.Choice):
        value = value.getComponent()
    return str(value)


def _teletex(value: Any, key: str) -> str:
    """A teletex attribute's value, accepted only when it is printable."""
    raw = bytes(value.asOctets()) if hasattr(value, "asOctets") else str(value).encode("latin-1")
    text = raw.decode("latin-1")
    if not is_printable(text):
        raise ORAddressError(key, "teletex characters outside PrintableString are not supported")
    return text


def _decode_extension(attr: Any) -> tuple[int, Any]:
    number = int(attr["extension-attribute-type"])
    spec = rfc5280.oraddressExtensionAttributeMap.get(univ.Integer(number))
    raw = bytes(attr["extension-attribute-value"])
    if spec is None:
        raise ORAddressError(None, f"unknown extension attribute type {number}")
    try:
        value, rest = ber_decoder.decode(raw, asn1Spec=spec)
    except PyAsn1Error as exc:
        raise ORAddressError(None, f"extension attribute {number}: does not decode") from exc
    if rest:
        raise ORAddressError(None, f"extension attribute {number}: trailing octets")
    return number, value


def or_address_from_asn1(value: Any) -> ORAddress:
    """The model of an X.411 ORAddress (or the address part of an ORName).

    Raises :class:`ORAddressError` naming the attribute it cannot carry."""
    std = value["built-in-standard-attributes"]

    def get(name: str) -> str | None:
        part = std[name]
        return _text(part) if part.isValue else None

    fields: dict[str, Any] = {
        "country": get("country-name"),
        "admd": get("administration-domain-name"),
        "prmd": get("private-domain-name"),
        "organisation": get("organization-name"),
        "x121": get("network-address"),
        "terminal_id": get("terminal-identifier"),
        "numeric_user_id": get("numeric-user-identifier"),
    }
    pn = std["personal-name"]
    if pn.isValue:
        fields["surname"] = str(pn["surname"])
        for name, attr in (
            ("given-name", "given_name"),
            ("initials", "initials"),
            ("generation-qualifier", "generation_qualifier"),
        ):
            if pn[name].isValue:
                fields[attr] = str(pn[name])
    units = std["organizational-unit-names"]
    fields["org_units"] = tuple(str(u) for u in units) if units.isValue else ()
    dda = value["built-in-domain-defined-attributes"]
    fields["dda"] = tuple((str(d["type"]), str(d["value"])) for d in dda) if dda.isValue else ()
    extra: dict[str, str] = {}
    teletex: dict[int, Any] = {}
    attrs = value["extension-attributes"]
    for attr in attrs if attrs.isValue else ():
        number, ext = _decode_extension(attr)
        if number == _COMMON_NAME:
            fields["common_name"] = str(ext)
        elif number in (_TELETEX_CN, _TELETEX_O, _TELETEX_PN, _TELETEX_OU, _TELETEX_DDA):
            teletex[number] = ext
        elif number == _PDS_NAME:
            extra["PD-SERVICE"] = str(ext)
        elif number == _PD_COUNTRY:
            extra["PD-C"] = _text(ext)
        elif number == _POSTAL_CODE:
            extra["PD-CODE"] = _text(ext)
        elif number in _PDS_KEYS:
            key = _PDS_KEYS[number]
            if ext["printable-string"].isValue:
                extra[key] = str(ext["printable-string"])
            else:
                extra[key] = _teletex(ext["teletex-string"], key)
        elif number == _UNFORMATTED:
            if not ext["printable-address"].isValue:
                raise ORAddressError("PD-ADDRESS", "only the printable form is supported")
            extra["PD-ADDRESS"] = "|".join(str(line) for line in ext["printable-address"])
        elif number == _NETWORK_ADDRESS:
            if ext.getName() != "e163-4-address":
                raise ORAddressError("NET-PSAP", "presentation addresses are not supported")
            extra["NET-NUM"] = str(ext["e163-4-address"]["number"])
            if ext["e163-4-address"]["sub-address"].isValue:
                extra["NET-SUB"] = str(ext["e163-4-address"]["sub-address"])
        elif number == _TERMINAL_TYPE:
            fields["terminal_type"] = int(ext)
    _use_teletex(fields, teletex)
    fields["extra"] = tuple(extra.items())
    return ORAddress(**fields)


def _use_teletex(fields: dict[str, Any], teletex: dict[int, Any]) -> None:
    """X.411 18.5: teletex forms stand in where no printable form exists."""
    if _TELETEX_CN in teletex and fields.get("common_name") is None:
        fields["common_name"] = _teletex(teletex[_TELETEX_CN], "CN")
    if _TELETEX_O in teletex and fields["organisation"] is None:
        fields["organisation"] = _teletex(teletex[_TELETEX_O], "O")
    if _TELETEX_OU in teletex and not fields["org_units"]:
        fields["org_units"] = tuple(_teletex(u, "OU") for u in teletex[_TELETEX_OU])
    if _TELETEX_PN in teletex and fields.get("surname") is None:
        pn = teletex[_TELETEX_PN]
        fields["surname"] = _teletex(pn["surname"], "S")
        for name, attr, key in (
            ("given-name", "given_name", "G"),
            ("initials", "initials", "I"),
            ("generation-qualifier", "generation_qualifier", "GQ"),
        ):
            if pn[name].isValue:
                fields[attr] = _teletex(pn[name], key)
    if _TELETEX_DDA in teletex and not fields["dda"]:
        fields["dda"] = tuple(
            (_teletex(d["type"], "DD"), _teletex(d["value"], "DD")) for d in teletex[_TELETEX_DDA]
        )


# -- Directory names (X.501 Name) as RFC 4514 text


def _escape_dn(value: str) -> str:
    out = []
    for i, c in enumerate(value):
        if c in ',+"\\<>;=' or (c == "#" and i == 0) or (c == " " and i in (0, len(value) - 1)):
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def directory_name_to_text(name: Any) -> str:
    """RFC 4514 text of an X.501 Name: most significant RDN last."""
    rdns = []
    for rdn in name["rdnSequence"]:
        avas = []
        for ava in rdn:
            oid = str(ava["type"])
            raw = bytes(ava["value"])
            short = _DN_NAMES.get(oid)
            if short is not None and raw[:1] == b"\x13":  # PrintableString
                text, _ = ber_decoder.decode(raw, asn1Spec=char.PrintableString())
                avas.append(f"{short}={_escape_dn(str(text))}")
            else:
                avas.append(f"{oid}=#{raw.hex()}")
        rdns.append("+".join(avas))
    return ",".join(reversed(rdns))


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    parts.append("".join(current))
    return parts


def directory_name_to_asn1(text: str, name: Any = None) -> Any:
    """The X.501 Name written by :func:`directory_name_to_text` (filled
    into *name*, e.g. a re-tagged component, when given)."""
    name = rfc5280.Name() if name is None else name
    seq = name["rdnSequence"]
    for i, rdn_text in enumerate(reversed(_split_unescaped(text, ","))):
        for j, ava_text in enumerate(_split_unescaped(rdn_text, "+")):
            key, sep, value = ava_text.partition("=")
            if not sep:
                raise ORAddressError("directory-name", f"{ava_text!r} is not type=value")
            ava = seq[i][j]  # created in place: pyasn1 refuses foreign RDN values
            if value.startswith("#"):
                try:
                    ava["type"] = univ.ObjectIdentifier(key)
                    ava["value"] = bytes.fromhex(value[1:])
                except (ValueError, PyAsn1Error):
                    raise ORAddressError("directory-name", f"bad {ava_text!r}") from None
            else:
                oid = _DN_OIDS.get(key.upper())
                plain = value.replace("\\", "")
                if oid is None or not is_printable(plain):
                    raise ORAddressError("directory-name", f"cannot encode {ava_text!r}")
                ava["type"] = univ.ObjectIdentifier(oid)
                ava["value"] = ber.encode(char.PrintableString(plain))
    return name


def directory_name_from_asn1(name: Any) -> str:
    return directory_name_to_text(name)


def or_name_to_asn1(name: ORName, spec: Any = None) -> Any:
    """The X.411 ORName of *name*, filled into *spec* (a re-tagged ORName,
    e.g. the component of its parent) when given."""
    # a given spec (e.g. a component of its parent) is filled in place
    out = fill_or_address(asn1_mts.ORName() if spec is None else spec, name.address)
    if name.directory_name is not None:
        directory_name_to_asn1(name.directory_name, out["directory-name"])
    return out


def or_name_from_asn1(value: Any) -> ORName:
    address = or_address_from_asn1(value)
    text = None
    if "directory-name" in value.componentType:  # an ORAddress has none
        dn = value["directory-name"]
        text = directory_name_to_text(dn) if dn.isValue else None
    return ORName(address, text)
