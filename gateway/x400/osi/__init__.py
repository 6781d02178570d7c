"""The OSI upper layers that carry X.400 P1 (1988 normal mode) over TCP.

Wire format only -- bytes in, bytes out, no I/O -- one module per layer,
bottom up:

- ``tpkt``: RFC 1006 packets on a TCP stream
- ``cotp``: X.224 class 0 transport TPDUs (CR, CC, DT, DR, ER)
- ``session``: X.225 SPDUs (CN, AC, DT, activities, sync points, release)
- ``presentation``: X.226 normal-mode PPDUs (CP, CPA, P-DATA user data),
  on the pyasn1 types of ``gateway.x400.asn1.presentation``

ACSE and RTSE APDUs are plain ASN.1 values: ``gateway.x400.asn1.acse`` and
``gateway.x400.asn1.rtse``.  Every decoder raises a subclass of
:class:`~gateway.x400.osi.errors.OSIError` (a ValueError) for bytes it
refuses, and never reads past explicit length limits.
"""
