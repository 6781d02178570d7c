# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# IPMSExtendedBodyPartTypes2 {iso standard mhs(10021) ipms(7) modules(0)
#   extended-body-part-types-2(1)}, ITU-T X.420 (06/1999),
#   DEFINITIONS IMPLICIT TAGS
#
# The general-text body part: an extended body part whose parameters
# (id-ep-general-text) list the character sets by their ISO 2375 registration
# numbers and whose data (id-et-general-text) is a GeneralString.  The
# information object general-text-body-part is an entry of the registry in
# gateway.x400.asn1.ipms (EXTENDED_BODY_PART_TYPES).
"""X.420 IPMSExtendedBodyPartTypes2: the general-text body part."""

from __future__ import annotations

from pyasn1.type import char, constraint, univ


class CharacterSetRegistration(univ.Integer):
    pass


CharacterSetRegistration.subtypeSpec = constraint.ValueRangeConstraint(1, 32767)


class GeneralTextParameters(univ.SetOf):
    pass


GeneralTextParameters.componentType = CharacterSetRegistration()


class GeneralTextData(char.GeneralString):
    pass
