"""pyasn1 modules for X.400, one file per ITU-T ASN.1 module.

- ``upper_bounds``: MTSUpperBounds (X.411)
- ``mts``: MTSAbstractService (X.411): identifiers, O/R names, EITs, reports'
  codes, credentials, the standard extensions (registry ``MTS_EXTENSIONS``)
- ``mta``: MTAAbstractService (X.411) and X.419's ``MTS_APDU``: P1 bind,
  message, probe and report transfer envelopes, trace; registry ``EXTENSIONS``
- ``ipms_upper_bounds``: IPMSUpperBounds (X.420)
- ``ipms_object_identifiers``: IPMSObjectIdentifiers (X.420), a subset
- ``ipms_extended_body_part_types2``: IPMSExtendedBodyPartTypes2 (general text)
- ``ipms``: IPMSInformationObjects (X.420): IPM, IPN, body parts
- ``ipms_heading_extensions``: IPMSHeadingExtensions (X.420) and the MIXER
  extensions of RFC 2156 (rfc-822-field-list, dsn-header-list, dsn-field-list)
- ``ipms_file_transfer``: IPMSFileTransferBodyPartType (X.420), FTAM simplified
- ``external``: the X.208 EXTERNAL type
- ``ber``: bounded BER decoding, DER encoding, ``BERError``
- ``tags``: the ``[n]``, ``[n] EXPLICIT`` and ``[APPLICATION n]`` tag helpers
"""
