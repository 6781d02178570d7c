"""pyasn1 modules for X.400, one file per ITU-T ASN.1 module.

- ``upper_bounds``: MTSUpperBounds (X.411)
- ``mts``: MTSAbstractService (X.411), the subset the IPMS imports
- ``ipms_upper_bounds``: IPMSUpperBounds (X.420)
- ``ipms_object_identifiers``: IPMSObjectIdentifiers (X.420), a subset
- ``ipms_extended_body_part_types2``: IPMSExtendedBodyPartTypes2 (general text)
- ``ipms``: IPMSInformationObjects (X.420): IPM, IPN, body parts
- ``external``: the X.208 EXTERNAL type
- ``ber``: bounded BER decoding, DER encoding, ``BERError``
"""
