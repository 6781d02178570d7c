"""X.411 MTS types shared by the P1 and P22 codecs, to and from the model.

Encoded information types (X.411 12.2.1.1.1.8): the built-in bits by name
(``"ia5-text"``...), extended types as dotted OIDs.  Non-basic parameters
(G3 and teletex capabilities) are not modelled: they are dropped on decode
and absent on encode, as a gateway converting to MIME has no use for them.
"""

from __future__ import annotations

from typing import Any

from pyasn1.type import univ

from gateway.x400.asn1 import mts as asn1_mts

__all__ = ["BUILT_IN_EITS", "eits_from_asn1", "eits_to_asn1", "present"]

#: X.411 BuiltInEncodedInformationTypes bit names, by bit number
BUILT_IN_EITS: dict[int, str] = {
    int(value): name for name, value in asn1_mts.BuiltInEncodedInformationTypes.namedValues.items()
}
_BITS = {name: number for number, name in BUILT_IN_EITS.items()}


def present(parent: Any, name: str) -> bool:
    """Whether the component *name* of *parent* was decoded or set: reading
    ``parent[name]`` would create an empty one.  A name the type does not
    have (a probe's deferred delivery time) is absent."""
    if name not in parent.componentType:
        return False
    value = parent.getComponentByName(name, default=None, instantiate=False)
    return value is not None and bool(value.isValue)


def eits_from_asn1(value: Any) -> tuple[str, ...]:
    """Names (and dotted OIDs) of an EncodedInformationTypes value."""
    names: list[str] = []
    bits = value["built-in-encoded-information-types"]
    for number, bit in enumerate(bits):
        if bit:
            names.append(BUILT_IN_EITS.get(number, f"bit-{number}"))
    extended = value["extended-encoded-information-types"]
    if extended.isValue:
        names.extend(str(oid) for oid in extended)
    return tuple(names)


def eits_to_asn1(names: tuple[str, ...], spec: Any = None) -> Any:
    """An EncodedInformationTypes naming *names*, filled into *spec* (a
    re-tagged one, e.g. the component of its parent) when given;
    a name that is not a built-in bit must be a dotted OID."""
    out = asn1_mts.EncodedInformationTypes() if spec is None else spec
    numbers = []
    extended = []
    for name in names:
        if name in _BITS:
            numbers.append(_BITS[name])
        elif name.startswith("bit-") and name[4:].isdigit():
            numbers.append(int(name[4:]))
        else:
            try:
                extended.append(univ.ObjectIdentifier(name))
            except Exception as exc:  # pyasn1 raises its own error types
                raise ValueError(f"encoded information type {name!r}: not a name or OID") from exc
    width = max(numbers, default=-1) + 1
    bits = tuple(1 if i in numbers else 0 for i in range(width))
    out["built-in-encoded-information-types"] = out["built-in-encoded-information-types"].clone(
        bits
    )
    for i, oid in enumerate(extended):
        out["extended-encoded-information-types"][i] = oid
    return out
