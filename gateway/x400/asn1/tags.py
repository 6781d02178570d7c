"""Tag helpers shared by the pyasn1 modules of this package.

The X.400 modules write ``[n]``, ``[n] EXPLICIT`` and ``[APPLICATION n]``
on almost every component; these three build the ``tag.Tag`` for
``.subtype(implicitTag=...)``, ``.subtype(explicitTag=...)`` and
``tagSet.tagImplicitly(...)``, the pyasn1-modules idiom."""

from __future__ import annotations

from pyasn1.type import tag

__all__ = ["application", "explicit", "implicit"]


def implicit(number: int, constructed: bool = False) -> tag.Tag:
    """``[number]`` (context class): simple unless ``constructed``."""
    fmt = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    return tag.Tag(tag.tagClassContext, fmt, number)


def explicit(number: int) -> tag.Tag:
    """``[number] EXPLICIT``: an explicit tag is always constructed."""
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, number)


def application(number: int, constructed: bool = False) -> tag.Tag:
    """``[APPLICATION number]``: simple unless ``constructed``."""
    fmt = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    return tag.Tag(tag.tagClassApplication, fmt, number)
