"""O/R addresses as values and as RFC 2156 ``std-or`` text.

:class:`ORAddress` is an X.411 ORAddress held as plain strings, checked on
construction against the X.411 upper bounds (``MTSUpperBounds``).
:func:`parse_std_or` reads the RFC 2156 4.1.3 ``std-or-address-input`` form
(``/`` or ``;`` separated, keys case-independent, input-only alternative
keys); :func:`format_std_or` writes the ``std-or-address`` output form in one
canonical order (RFC 2156 4.3.3: most significant on the right).

Also here: the ASCII <-> PrintableString encoding of RFC 2156 3.4
(:func:`ps_encode`, :func:`ps_decode`), used for the ``RFC-822``
domain-defined attribute, and the personal name form ``Given.I.Surname`` of
RFC 2156 4.1.2 (:func:`format_encoded_pn`, :func:`parse_encoded_pn`).

Not supported (refused with :class:`ORAddressError`): teletex values
(``*`` and ``{ddd}``, RFC 2156 3.3.4), ``NET-PSAP``, ``PD-A1``..``PD-A6``
and ``ISDN``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

from gateway.x400.asn1 import upper_bounds as ub

__all__ = [
    "EXTRA_KEYS",
    "ORAddress",
    "ORAddressError",
    "format_encoded_pn",
    "format_std_or",
    "is_printable",
    "parse_encoded_pn",
    "parse_std_or",
    "ps_decode",
    "ps_encode",
]


class ORAddressError(ValueError):
    """An O/R address (or its text form) is not acceptable.

    ``attribute`` is the std-or key of the offending attribute (``"S"``,
    ``"DD.cap"``, ``"OU"`` ...) or ``None`` when the text as a whole is bad;
    ``reason`` says why.
    """

    def __init__(self, attribute: str | None, reason: str) -> None:
        self.attribute = attribute
        self.reason = reason
        where = f"attribute {attribute}: " if attribute is not None else ""
        super().__init__(f"bad O/R address: {where}{reason}")


# RFC 2156 3.3.3: ps-restricted-char and ps-char (PrintableString).
PS_RESTRICTED = frozenset(string.ascii_letters + string.digits + " '+,-./:=?")
PS_CHARS = PS_RESTRICTED | {"(", ")"}
NUMERIC_CHARS = frozenset(string.digits + " ")  # RFC 2156 3.3.2


def is_printable(text: str) -> bool:
    """True if every character of ``text`` is a PrintableString character."""
    return all(c in PS_CHARS for c in text)


# --- RFC 2156 3.4: ASCII encoded in PrintableString -------------------------

_PS_LETTER_ESCAPES = {"@": "a", "%": "p", "!": "b", '"': "q", "_": "u", "(": "l", ")": "r"}
_PS_LETTER_UNESCAPES = {v: k for k, v in _PS_LETTER_ESCAPES.items()}
_PS_ESCAPE = re.compile(r"\(([A-Za-z]|[0-9]{3})\)")


def ps_encode(text: str) -> str:
    """Encode ASCII ``text`` as ``ps-encoded`` PrintableString (RFC 2156 3.4).

    ps-restricted-char is copied, ``@ % ! " _ ( )`` become ``(a) (p) (b) (q)
    (u) (l) (r)``, any other ASCII character ``(nnn)`` in decimal.
    """
    out: list[str] = []
    for c in text:
        if c in PS_RESTRICTED:
            out.append(c)
        elif c in _PS_LETTER_ESCAPES:
            out.append(f"({_PS_LETTER_ESCAPES[c]})")
        elif ord(c) < 128:
            out.append(f"({ord(c):03d})")
        else:
            raise ORAddressError(None, f"character {c!r} is not ASCII and cannot be ps-encoded")
    return "".join(out)


def ps_decode(text: str, *, strict: bool = True) -> str:
    """Decode a ``ps-encoded`` PrintableString to ASCII (RFC 2156 3.4).

    Letter escapes are matched case-independently (``(A)`` -> ``@``).  A
    string that is not ``ps-encoded`` (a lone ``(``, ``(200)``, a character
    outside PrintableString) raises :class:`ORAddressError` when ``strict``;
    otherwise it is passed through unaltered, as RFC 2156 3.4 allows.
    """
    out: list[str] = []
    pos = 0
    while pos < len(text):
        c = text[pos]
        if c in PS_RESTRICTED:
            out.append(c)
            pos += 1
            continue
        m = _PS_ESCAPE.match(text, pos)
        if c == "(" and m is not None:
            code = m.group(1)
            if code.isdigit():
                if int(code) > 127:  # 3DIGIT "shall have range 0-127"
                    break
                out.append(chr(int(code)))
                pos = m.end()
                continue
            if code.lower() in _PS_LETTER_UNESCAPES:
                out.append(_PS_LETTER_UNESCAPES[code.lower()])
                pos = m.end()
                continue
        break
    else:
        return "".join(out)
    if strict:
        raise ORAddressError(None, f"{text!r} is not ps-encoded (RFC 2156 3.4) at offset {pos}")
    return text


# --- the value type ---------------------------------------------------------

# Keys of the 1988 extension attributes held in ORAddress.extra, in the
# canonical output order, each with (upper bound, numeric?) -- RFC 2156 4.1.1
# key table, bounds from X.411 MTSUpperBounds.
EXTRA_KEYS: dict[str, tuple[int, bool]] = {
    "PD-SERVICE": (ub.ub_pds_name_length, False),
    "PD-C": (ub.ub_country_name_numeric_length, False),
    "PD-CODE": (ub.ub_postal_code_length, False),
    "PD-OFFICE": (ub.ub_pds_parameter_length, False),
    "PD-OFFICE-NUM": (ub.ub_pds_parameter_length, False),
    "PD-EXT-ADDRESS": (ub.ub_pds_parameter_length, False),
    "PD-PN": (ub.ub_pds_parameter_length, False),
    "PD-O": (ub.ub_pds_parameter_length, False),
    "PD-EXT-DELIVERY": (ub.ub_pds_parameter_length, False),
    "PD-ADDRESS": (ub.ub_pds_parameter_length, False),  # per line, see below
    "PD-STREET": (ub.ub_pds_parameter_length, False),
    "PD-BOX": (ub.ub_pds_parameter_length, False),
    "PD-RESTANTE": (ub.ub_pds_parameter_length, False),
    "PD-UNIQUE": (ub.ub_pds_parameter_length, False),
    "PD-LOCAL": (ub.ub_pds_parameter_length, False),
    "NET-NUM": (ub.ub_e163_4_number_length, True),
    "NET-SUB": (ub.ub_e163_4_sub_address_length, True),
}

# X.411 TerminalType named values, printed as labelled-integer (RFC 2156 3.3.6).
TERMINAL_TYPES = {3: "tlx", 4: "ttx", 5: "g3fax", 6: "g4fax", 7: "ia5", 8: "vtx"}


def _check_string(
    key: str, value: str, upper: int, *, numeric: bool = False, empty_ok: bool = False
) -> None:
    if value == "" and not empty_ok:
        raise ORAddressError(key, "empty value is not allowed")
    if len(value) > upper:
        raise ORAddressError(key, f"too long ({len(value)} > {upper} characters, X.411)")
    allowed = NUMERIC_CHARS if numeric else PS_CHARS
    bad = sorted({c for c in value if c not in allowed})
    if bad:
        kind = "NumericString" if numeric else "PrintableString"
        raise ORAddressError(key, f"not {kind}: {''.join(bad)!r}")


@dataclass(frozen=True)
class ORAddress:
    """An X.411 ORAddress, mnemonic or otherwise, as printable strings.

    ``org_units`` and ``dda`` are in X.411 SEQUENCE order: the first one is
    the most significant (RFC 2156 4.3.3).  ``dda`` holds (type, value)
    pairs of domain-defined attributes; an RFC 822 address carried for the
    Internet is ``("RFC-822", ps_encode(address))``; the MIXER types
    ``RFC-822`` and ``RFC822C1``..``C3`` are normalised to that spelling.  ``extra`` holds the
    other 1988 attributes (``PD-*``, ``NET-NUM``, ``NET-SUB``) as (key,
    value) pairs keyed by their RFC 2156 std-or key, kept in
    :data:`EXTRA_KEYS` order; ``PD-ADDRESS`` lines are joined with ``|``.

    If a country is given without an ADMD, the ADMD is a single space (RFC
    2156 4.1.3).  An empty ADMD is kept as empty: it is the only attribute
    that may be zero-length.
    """

    country: str | None = None
    admd: str | None = None
    prmd: str | None = None
    organisation: str | None = None
    org_units: tuple[str, ...] = ()
    surname: str | None = None
    given_name: str | None = None
    initials: str | None = None
    generation_qualifier: str | None = None
    common_name: str | None = None
    dda: tuple[tuple[str, str], ...] = ()
    x121: str | None = None
    terminal_id: str | None = None
    numeric_user_id: str | None = None
    terminal_type: int | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.country is not None and self.admd is None:
            object.__setattr__(self, "admd", " ")  # RFC 2156 4.1.3
        object.__setattr__(self, "org_units", tuple(self.org_units))
        object.__setattr__(self, "dda", tuple((_dd_type(t), v) for t, v in self.dda))
        order = list(EXTRA_KEYS)
        for key, _ in self.extra:
            if key not in EXTRA_KEYS:
                raise ORAddressError(key, "unknown attribute")
        object.__setattr__(
            self, "extra", tuple(sorted(self.extra, key=lambda kv: order.index(kv[0])))
        )
        self._validate()

    def _validate(self) -> None:
        # X.411 CountryName: ISO 3166 alpha-2 or X.121 DCC (3 digits).
        if self.country is not None and not re.fullmatch(r"[A-Za-z]{2}|[0-9]{3}", self.country):
            raise ORAddressError("C", "must be 2 letters (ISO 3166) or 3 digits (X.121)")
        if self.admd is not None:
            _check_string("ADMD", self.admd, ub.ub_domain_name_length, empty_ok=True)
        for key, value, upper in (
            ("PRMD", self.prmd, ub.ub_domain_name_length),
            ("O", self.organisation, ub.ub_organization_name_length),
            ("S", self.surname, ub.ub_surname_length),
            ("G", self.given_name, ub.ub_given_name_length),
            ("I", self.initials, ub.ub_initials_length),
            ("GQ", self.generation_qualifier, ub.ub_generation_qualifier_length),
            ("CN", self.common_name, ub.ub_common_name_length),
            ("T-ID", self.terminal_id, ub.ub_terminal_id_length),
        ):
            if value is not None:
                _check_string(key, value, upper)
        for key, value, upper in (
            ("X121", self.x121, ub.ub_x121_address_length),
            ("UA-ID", self.numeric_user_id, ub.ub_numeric_user_id_length),
        ):
            if value is not None:
                _check_string(key, value, upper, numeric=True)
        if len(self.org_units) > ub.ub_organizational_units:
            raise ORAddressError(
                "OU", f"more than {ub.ub_organizational_units} organizational units"
            )
        for ou in self.org_units:
            _check_string("OU", ou, ub.ub_organizational_unit_name_length)
        if self.surname is None and (
            self.given_name is not None
            or self.initials is not None
            or self.generation_qualifier is not None
        ):
            raise ORAddressError("S", "a personal name needs a surname (X.411 PersonalName)")
        if len(self.dda) > ub.ub_domain_defined_attributes:
            raise ORAddressError(
                "DD", f"more than {ub.ub_domain_defined_attributes} domain-defined attributes"
            )
        for dtype, dvalue in self.dda:
            key = _dd_key(dtype)
            _check_string(key, dtype, ub.ub_domain_defined_attribute_type_length)
            _check_string(key, dvalue, ub.ub_domain_defined_attribute_value_length)
        if self.terminal_type is not None and not (
            0 <= self.terminal_type <= ub.ub_integer_options
        ):
            raise ORAddressError("T-TY", f"terminal type out of range 0..{ub.ub_integer_options}")
        seen: set[str] = set()
        for key, value in self.extra:
            if key in seen:
                raise ORAddressError(key, "repeated attribute")
            seen.add(key)
            upper, numeric = EXTRA_KEYS[key]
            if key == "PD-ADDRESS":
                lines = value.split("|")
                if len(lines) > ub.ub_pds_physical_address_lines:
                    raise ORAddressError(
                        key, f"more than {ub.ub_pds_physical_address_lines} lines"
                    )
                for line in lines:
                    _check_string(key, line, upper)
            else:
                _check_string(key, value, upper, numeric=numeric)

    @property
    def is_mnemonic(self) -> bool:
        """True if only attributes of the mnemonic form are present (X.402 18.5).

        RFC 2156 4.3.5 step 5 puts every attribute of any other address on
        the left-hand side of the RFC 822 address.
        """
        return (
            self.x121 is None
            and self.terminal_id is None
            and self.numeric_user_id is None
            and self.terminal_type is None
            and not self.extra
        )

    @property
    def is_valid_x400(self) -> bool:
        """True if this can stand as a complete X.400 address (RFC 2156 4.3.4 step 6).

        An approximation of X.402 18.5: country and ADMD, plus something
        naming the user within the management domain.
        """
        if self.country is None or self.admd is None:
            return False
        return bool(
            self.organisation
            or self.org_units
            or self.surname
            or self.common_name
            or self.dda
            or self.numeric_user_id
            or self.x121
            or self.terminal_id
            or self.extra
        )


# The DDA types of RFC 2156 4.3.2, written "rfc-822" as well as "RFC-822" in
# its examples: held in this spelling whatever the case they arrive in.
_MIXER_DD_TYPES = {t.upper(): t for t in ("RFC-822", "RFC822C1", "RFC822C2", "RFC822C3")}


def _dd_type(dtype: str) -> str:
    return _MIXER_DD_TYPES.get(dtype.upper(), dtype)


def _dd_key(dtype: str) -> str:
    return "RFC-822" if dtype == "RFC-822" else f"DD.{dtype}"


# --- std-or text ---------------------------------------------------------------

# RFC 2156 4.1.1 alternative keywords (input only), mapped to the generated key.
_ALIASES = {
    "A": "ADMD",
    "P": "PRMD",
    "Q": "GQ",
    "X.121": "X121",
    "N-ID": "UA-ID",
    "PD-OFFICE NUMBER": "PD-OFFICE-NUM",
    "PD-OFN": "PD-OFFICE-NUM",
    "PD-EA": "PD-EXT-ADDRESS",
    "PD-ED": "PD-EXT-DELIVERY",
    "PD-OF": "PD-OFFICE",
    "PD-S": "PD-STREET",
    "PD-U": "PD-UNIQUE",
    "PD-L": "PD-LOCAL",
    "PD-R": "PD-RESTANTE",
    "PD-B": "PD-BOX",
    "PD-PC": "PD-CODE",
    "PD-SN": "PD-SERVICE",
    "E.164": "NET-NUM",
    "PD-A": "PD-ADDRESS",
}
_SIMPLE_KEYS = {
    "C", "ADMD", "PRMD", "O", "S", "G", "I", "GQ", "CN", "X121", "T-ID", "UA-ID", "T-TY", "PN",
}  # fmt: skip
_UNSUPPORTED = {"NET-PSAP", "PSAP", "ISDN"} | {f"PD-A{n}" for n in range(1, 7)}
_DD_KEYS = {"DD", "DDA", "DD1", "DD2", "DD3", "DD4"}
_OU_KEYS = {"OU", "OU1", "OU2", "OU3", "OU4"}
_LABELLED_INTEGER = re.compile(r"([A-Za-z0-9-]*)\(([0-9]+)\)")


def _split_pairs(text: str) -> list[tuple[str, str, str]]:
    """Split std-or-address-input into (raw key, key, value) with ``$`` undone."""
    if text[:1] in "/;":
        text = text[1:]
    if text and text[-1] in "/;" and not (len(text) > 1 and text[-2] == "$"):
        text = text[:-1]
    if not text:
        raise ORAddressError(None, "no attributes")
    pairs: list[tuple[str, str, str]] = []
    key: list[str] | None = None
    cur: list[str] = []
    pos = 0

    def finish() -> None:
        if key is None:
            raise ORAddressError(None, f"component {''.join(cur)!r} has no '='")
        raw = "".join(key)
        pairs.append((raw, raw.strip(), "".join(cur)))

    while pos < len(text):
        c = text[pos]
        if c == "$":
            if pos + 1 >= len(text) or text[pos + 1] not in PS_CHARS:
                name = "".join(key).strip() if key is not None else "".join(cur).strip()
                raise ORAddressError(
                    name or None, "'$' must quote a PrintableString character (RFC 2156 4.1.3)"
                )
            cur.append(text[pos + 1])
            pos += 2
            continue
        if c in "/;":
            finish()
            key, cur = None, []
        elif c == "=" and key is None:
            key, cur = cur, []
        elif c == "=":
            raise ORAddressError("".join(key or []).strip(), "unquoted '=' in value")
        elif c in "*{}":
            where = "".join(key).strip() if key is not None else None
            raise ORAddressError(where, "teletex values ('*', '{ddd}') are not supported")
        else:
            cur.append(c)
        pos += 1
    finish()
    return pairs


def parse_std_or(text: str) -> ORAddress:
    """Parse RFC 2156 4.1.3 ``std-or-address-input`` into an :class:`ORAddress`.

    Accepts ``/`` and ``;`` separators (mixed), optional leading and trailing
    separator, case-independent keys, the input-only alternatives of 4.1.1
    (``A``, ``P``, ``Q``, ``DDA``, ``OU1``..``OU4``, ``DD1``..``DD4``, ``PN``,
    ``DD:type``...) and ``$`` quoting.  Raises :class:`ORAddressError` (and
    nothing else) for any text that is not a valid O/R address.
    """
    single: dict[str, str] = {}
    ous: list[str] = []
    ous_numbered: dict[int, str] = {}
    dds: list[tuple[str, str]] = []
    dds_numbered: dict[int, tuple[str, str]] = {}
    extra: dict[str, str] = {}
    for raw, key_text, value in _split_pairs(text):
        key = key_text.upper()
        key = _ALIASES.get(key, key)
        if key in _UNSUPPORTED:
            raise ORAddressError(key_text, "attribute is not supported")
        if key == "RFC-822":
            dds.append(("RFC-822", value))
            continue
        if key in _SIMPLE_KEYS or key in EXTRA_KEYS:
            target = extra if key in EXTRA_KEYS else single
            if key in target:
                raise ORAddressError(key_text, "repeated attribute")
            target[key] = value
            continue
        if key in _OU_KEYS:
            if key == "OU":
                ous.append(value)
            else:
                n = int(key[2])
                if n in ous_numbered:
                    raise ORAddressError(key_text, "repeated attribute")
                ous_numbered[n] = value
            continue
        # The DD type is a value: only blanks before the key are dropped.
        m = re.fullmatch(r"([^.:]*)[.:](.*)", raw.lstrip(), re.DOTALL)
        if m is not None and m.group(1).upper() in _DD_KEYS:
            dkey, dtype = m.group(1).upper(), m.group(2)
            if dkey in ("DD", "DDA"):
                dds.append((dtype, value))
            else:
                n = int(dkey[2])
                if n in dds_numbered:
                    raise ORAddressError(key_text, "repeated attribute")
                dds_numbered[n] = (dtype, value)
            continue
        raise ORAddressError(key_text, "unknown attribute key")
    if ous and ous_numbered:
        raise ORAddressError("OU", "OU and OU1..OU4 must not be mixed (RFC 2156 4.1.1)")
    if dds_numbered and (dds and any(t != "RFC-822" for t, _ in dds)):
        raise ORAddressError("DD", "DD and DD1..DD4 must not be mixed (RFC 2156 4.1.1)")
    # std-or lists the most significant OU / DDA rightmost (RFC 2156 4.3.3).
    org_units = tuple(reversed(ous)) or tuple(v for _, v in sorted(ous_numbered.items()))
    dda = tuple(v for _, v in sorted(dds_numbered.items())) + tuple(reversed(dds))
    if "PN" in single:
        if any(k in single for k in ("S", "G", "I", "GQ")):
            raise ORAddressError("PN", "PN must not be combined with S, G, I or GQ")
        pn = parse_encoded_pn(single.pop("PN"))
        if pn is None:
            raise ORAddressError("PN", "not an encoded personal name (RFC 2156 4.1.2)")
        single.update({k: v for k, v in zip(("G", "I", "S"), pn, strict=True) if v is not None})
    terminal_type = None
    if "T-TY" in single:
        terminal_type = _parse_terminal_type(single["T-TY"])
    return ORAddress(
        country=single.get("C"),
        admd=single.get("ADMD"),
        prmd=single.get("PRMD"),
        organisation=single.get("O"),
        org_units=org_units,
        surname=single.get("S"),
        given_name=single.get("G"),
        initials=single.get("I"),
        generation_qualifier=single.get("GQ"),
        common_name=single.get("CN"),
        dda=dda,
        x121=single.get("X121"),
        terminal_id=single.get("T-ID"),
        numeric_user_id=single.get("UA-ID"),
        terminal_type=terminal_type,
        extra=tuple(extra.items()),
    )


def _parse_terminal_type(value: str) -> int:
    # labelled-integer = [ key-string ] "(" numericstring ")"  (RFC 2156 3.3.6);
    # a bare name or number is accepted too.
    m = _LABELLED_INTEGER.fullmatch(value)
    if m is not None:
        number = int(m.group(2))
    elif value.isdigit() and value.isascii():
        number = int(value)
    else:
        names = {v: k for k, v in TERMINAL_TYPES.items()}
        if value.lower() not in names:
            raise ORAddressError("T-TY", f"not a terminal type: {value!r}")
        number = names[value.lower()]
    if number > ub.ub_integer_options:
        raise ORAddressError("T-TY", f"terminal type out of range 0..{ub.ub_integer_options}")
    return number


def _quote(value: str) -> str:
    # std-pair: "/" and "=" are the delimiters, quoted with "$" (RFC 2156 4.1.3).
    return value.replace("/", "$/").replace("=", "$=")


def _ordered_pairs(addr: ORAddress) -> list[tuple[str, str]]:
    """(key, value) pairs in output order, least significant first."""
    pairs: list[tuple[str, str]] = [(_dd_key(t), v) for t, v in reversed(addr.dda)]
    for key, value in (
        ("G", addr.given_name),
        ("I", addr.initials),
        ("S", addr.surname),
        ("GQ", addr.generation_qualifier),
        ("CN", addr.common_name),
        ("X121", addr.x121),
        ("T-ID", addr.terminal_id),
        ("UA-ID", addr.numeric_user_id),
    ):
        if value is not None:
            pairs.append((key, value))
    if addr.terminal_type is not None:
        name = TERMINAL_TYPES.get(addr.terminal_type, "")
        pairs.append(("T-TY", f"{name}({addr.terminal_type})"))
    pairs.extend(addr.extra)
    pairs.extend(("OU", ou) for ou in reversed(addr.org_units))
    for key, value in (
        ("O", addr.organisation),
        ("PRMD", addr.prmd),
        ("ADMD", addr.admd),
        ("C", addr.country),
    ):
        if value is not None:
            pairs.append((key, value))
    return pairs


def format_std_or(addr: ORAddress) -> str:
    """The RFC 2156 4.1.3 ``std-or-address`` text of ``addr``.

    Order (RFC 2156 4.3.3, most significant rightmost): domain-defined
    attributes, G, I, S, GQ, CN, the non-mnemonic attributes, OUs, O, PRMD,
    ADMD, C.  The ``RFC-822`` DDA uses its short key.  Keys are always the
    generated (upper case) form.
    """
    pairs = _ordered_pairs(addr)
    if not pairs:
        raise ORAddressError(None, "an O/R address needs at least one attribute")
    out = []
    for key, value in pairs:
        if key.startswith("DD."):
            key = "DD." + _quote(key[3:])
        out.append(f"/{key}={_quote(value)}")
    return "".join(out) + "/"


# --- RFC 2156 4.1.2: personal name as Given.I.Surname -----------------------


def format_encoded_pn(addr: ORAddress) -> str | None:
    """``Given.I.Surname`` for the personal name of ``addr``, if 4.1.2 allows.

    Returns ``None`` when the name does not meet the five restrictions of
    RFC 2156 4.1.2 (so that the mapping stays reversible) or ``addr`` has no
    surname.  Only the personal name is looked at.
    """
    if addr.surname is None or addr.generation_qualifier is not None:
        return None
    return _pn_text(addr.given_name, addr.initials, addr.surname)


def _pn_text(g: str | None, i: str | None, s: str) -> str | None:
    if i is not None and not (i.isalpha() and i.isascii()):
        return None
    if g is not None and ("." in g or len(g) < 2):
        return None
    if "." in s[:2] or (g is None and i is None and "." in s):
        return None
    parts = ([g] if g is not None else []) + list(i or "") + [s]
    return ".".join(parts)


def parse_encoded_pn(text: str) -> tuple[str | None, str | None, str] | None:
    """Parse ``encoded-pn`` (RFC 2156 4.1.2) into (given, initials, surname).

    ``encoded-pn = [ given "." ] *( initial "." ) surname``.  Returns
    ``None`` if ``text`` is not of that form, not PrintableString, or would
    not be generated again from the name it gives (the 4.1.2 restrictions),
    so that a name accepted here maps back byte for byte.
    """
    if not text or not is_printable(text):
        return None
    tokens = text.split(".")
    given: str | None = None
    pos = 0
    if len(tokens) > 1 and len(tokens[0]) >= 2:
        given = tokens[0]
        pos = 1
    initials = ""
    while pos < len(tokens) - 1 and len(tokens[pos]) == 1 and tokens[pos].isalpha():
        initials += tokens[pos]
        pos += 1
    surname = ".".join(tokens[pos:])
    if not surname or "" in tokens[: pos + 1] or "." in surname[:2]:
        return None
    if _pn_text(given, initials or None, surname) != text:
        return None
    return given, initials or None, surname
