# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its classes are subclassed as the
# pyasn1-modules idiom prescribes.)
#
# Reliable-Transfer-APDU {joint-iso-itu-t reliable-transfer(3) apdus(0)},
#   ITU-T X.228 (1988), DEFINITIONS ::= (explicit tagging by default)
#
# The RTSE APDUs that carry P1 (X.419 MTSTransferProtocol repeats
# RTSE-apdus with the MTA bind in the open data and TYPE-IDENTIFIER.&Type
# for RTAB's user data; both encode as here).
#
# Deliberate deviations from the ASN.1, each for a stated reason:
# - OPEN.&Type (the RTSE user data in ConnectionData.open, RTORJ and RTAB)
#   is an ANY kept as its encoding; the RTSE user (P1) decodes it.  Tagged,
#   it is explicitly tagged (X.680 31.2.7 c): ``a0 LL <value>``.
# - The open alternative "encoded as [0] IMPLICIT NULL in the case of
#   absence of RTSE user data" (``80 00``) is not modelled: a P1 bind always
#   carries its MTABindArgument.
# - Named-number INTEGERs carry no value constraint: a peer's unknown
#   reason is kept and judged by the caller.
"""X.228 Reliable-Transfer-APDU: RTORQ, RTOAC, RTORJ, RTTP, RTTR, RTAB."""

from __future__ import annotations

from pyasn1.type import char, namedtype, namedval, univ, useful

from gateway.x400.asn1.tags import explicit, implicit

__all__ = [
    "AbortReason",
    "AdditionalReferenceInformation",
    "CallingSSuserReference",
    "CommonReference",
    "ConnectionData",
    "RTABapdu",
    "RTOACapdu",
    "RTORJapdu",
    "RTORQapdu",
    "RTSE_apdus",
    "RTTPapdu",
    "RTTRapdu",
    "RefuseReason",
    "SessionConnectionIdentifier",
    "rTSE_abstract_syntax",
    "rTSE_id",
]

#: rTSE-abstract-syntax {joint-iso-itu-t reliable-transfer(3) abstract-syntax(2)}
rTSE_abstract_syntax = univ.ObjectIdentifier("2.3.2")
#: the ID of the rTSE CONTRACT {joint-iso-itu-t reliable-transfer(3) aseID(1)}
rTSE_id = univ.ObjectIdentifier("2.3.1")


class RefuseReason(univ.Integer):
    pass


RefuseReason.namedValues = namedval.NamedValues(
    ("rtsBusy", 0),
    ("cannotRecover", 1),
    ("validationFailure", 2),
    ("unacceptableDialogueMode", 3),
)


class AbortReason(univ.Integer):
    pass


AbortReason.namedValues = namedval.NamedValues(
    ("localSystemProblem", 0),
    ("invalidParameter", 1),
    ("unrecognizedActivity", 2),
    ("temporaryProblem", 3),
    ("protocolError", 4),
    ("permanentProblem", 5),
    ("userError", 6),
    ("transferCompleted", 7),
)


class CallingSSuserReference(univ.Choice):
    pass


CallingSSuserReference.componentType = namedtype.NamedTypes(
    namedtype.NamedType("t61String", char.TeletexString()),  # solely in X.410-1984
    namedtype.NamedType("octetString", univ.OctetString()),  # solely in normal mode
)


class CommonReference(useful.UTCTime):
    pass


class AdditionalReferenceInformation(char.TeletexString):
    pass


class SessionConnectionIdentifier(univ.Sequence):
    pass


SessionConnectionIdentifier.componentType = namedtype.NamedTypes(
    namedtype.NamedType("callingSSuserReference", CallingSSuserReference()),
    namedtype.NamedType("commonReference", CommonReference()),
    namedtype.OptionalNamedType(
        "additionalReferenceInformation",
        AdditionalReferenceInformation().subtype(implicitTag=implicit(0)),
    ),
)


class ConnectionData(univ.Choice):
    pass


ConnectionData.componentType = namedtype.NamedTypes(
    # RTSE user data: for P1 the ROS bind-invoke [16] MTABindArgument (X.419)
    namedtype.NamedType("open", univ.Any().subtype(explicitTag=explicit(0))),
    namedtype.NamedType(
        "recover",
        SessionConnectionIdentifier().subtype(implicitTag=implicit(1, constructed=True)),
    ),
)


class _DialogueMode(univ.Integer):
    pass


_DialogueMode.namedValues = namedval.NamedValues(("monologue", 0), ("twa", 1))


class RTORQapdu(univ.Set):
    pass


RTORQapdu.componentType = namedtype.NamedTypes(
    namedtype.DefaultedNamedType(
        "checkpointSize", univ.Integer(0).subtype(implicitTag=implicit(0))
    ),
    namedtype.DefaultedNamedType("windowSize", univ.Integer(3).subtype(implicitTag=implicit(1))),
    namedtype.DefaultedNamedType(
        "dialogueMode", _DialogueMode(0).subtype(implicitTag=implicit(2))
    ),
    namedtype.NamedType("connectionDataRQ", ConnectionData().subtype(explicitTag=explicit(3))),
    # solely in X.410-1984 mode
    namedtype.OptionalNamedType(
        "applicationProtocol", univ.Integer().subtype(implicitTag=implicit(4))
    ),
)


class RTOACapdu(univ.Set):
    pass


RTOACapdu.componentType = namedtype.NamedTypes(
    namedtype.DefaultedNamedType(
        "checkpointSize", univ.Integer(0).subtype(implicitTag=implicit(0))
    ),
    namedtype.DefaultedNamedType("windowSize", univ.Integer(3).subtype(implicitTag=implicit(1))),
    namedtype.NamedType("connectionDataAC", ConnectionData().subtype(explicitTag=explicit(2))),
)


class RTORJapdu(univ.Set):
    pass


RTORJapdu.componentType = namedtype.NamedTypes(
    # only in X.410-1984 mode
    namedtype.OptionalNamedType("refuseReason", RefuseReason().subtype(implicitTag=implicit(0))),
    # RTSE user data, only in normal mode
    namedtype.OptionalNamedType("userDataRJ", univ.Any().subtype(explicitTag=explicit(1))),
)


class RTTPapdu(univ.Integer):  # priority
    pass


class RTTRapdu(univ.OctetString):
    pass


class RTABapdu(univ.Set):
    pass


RTABapdu.componentType = namedtype.NamedTypes(
    namedtype.OptionalNamedType("abortReason", AbortReason().subtype(implicitTag=implicit(0))),
    # 8 bits maximum, only if abortReason is invalidParameter
    namedtype.OptionalNamedType(
        "reflectedParameter", univ.BitString().subtype(implicitTag=implicit(1))
    ),
    # only in normal mode and if abortReason is userError
    namedtype.OptionalNamedType("userdataAB", univ.Any().subtype(explicitTag=explicit(2))),
)


class RTSE_apdus(univ.Choice):
    pass


RTSE_apdus.componentType = namedtype.NamedTypes(
    namedtype.NamedType(
        "rtorq-apdu", RTORQapdu().subtype(implicitTag=implicit(16, constructed=True))
    ),
    namedtype.NamedType(
        "rtoac-apdu", RTOACapdu().subtype(implicitTag=implicit(17, constructed=True))
    ),
    namedtype.NamedType(
        "rtorj-apdu", RTORJapdu().subtype(implicitTag=implicit(18, constructed=True))
    ),
    namedtype.NamedType("rttp-apdu", RTTPapdu()),
    namedtype.NamedType("rttr-apdu", RTTRapdu()),
    namedtype.NamedType(
        "rtab-apdu", RTABapdu().subtype(implicitTag=implicit(22, constructed=True))
    ),
)
