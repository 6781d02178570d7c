# IPMSObjectIdentifiers {joint-iso-itu-t mhs(6) ipms(1) modules(0)
#   object-identifiers(0) version-1999(1)}, ITU-T X.420 (06/1999)
#
# The subset of the module that the IPM codec needs: the categories, the
# extended body part types (id-et-*) and parameters (id-ep-*), the heading
# extensions (id-hex-*), the message content types (id-mct-*), the other
# notification types (id-on-*) and the recipient extensions (id-rex-*).
"""X.420 IPMSObjectIdentifiers (subset): object identifiers of the IPMS."""

# ruff: noqa: RUF005 -- "oid + (n,)" keeps a univ.ObjectIdentifier; "(*oid, n)" would not

from __future__ import annotations

from pyasn1.type import univ

id_ipms = univ.ObjectIdentifier((2, 6, 1))  # {joint-iso-itu-t mhs(6) ipms(1)}

id_mod = id_ipms + (0,)  # modules; not definitive
id_et = id_ipms + (4,)  # extended body part types
id_hex = id_ipms + (5,)  # heading extensions
id_mct = id_ipms + (10,)  # message content types
id_ep = id_ipms + (11,)  # extended body part parameters
id_on = id_ipms + (19,)  # other notification type extensions
id_rex = id_ipms + (20,)  # recipient extensions
id_et_ia5_text = id_et + (0,)
id_et_g3_facsimile = id_et + (2,)
id_et_g4_class1 = id_et + (3,)
id_et_teletex = id_et + (4,)
id_et_videotex = id_et + (5,)
id_et_encrypted = id_et + (6,)
id_et_message = id_et + (7,)
id_et_mixed_mode = id_et + (8,)
id_et_bilaterally_defined = id_et + (9,)
id_et_nationally_defined = id_et + (10,)
id_et_general_text = id_et + (11,)
id_et_file_transfer = id_et + (12,)
id_et_report = id_et + (14,)
id_et_notification = id_et + (15,)
id_et_voice = id_et + (16,)
id_et_content = id_et + (17,)  # This value is not used directly, only as a prefix
id_et_pkcs7 = id_et + (18,)
id_hex_incomplete_copy = id_hex + (0,)
id_hex_languages = id_hex + (1,)
id_hex_auto_submitted = id_hex + (2,)
id_hex_body_part_signatures = id_hex + (3,)
id_hex_ipm_security_label = id_hex + (4,)
id_hex_authorization_time = id_hex + (5,)
id_hex_circulation_list_recipients = id_hex + (6,)
id_hex_distribution_codes = id_hex + (7,)
id_hex_extended_subject = id_hex + (8,)
id_hex_information_category = id_hex + (9,)
id_hex_manual_handling_instructions = id_hex + (10,)
id_hex_originators_reference = id_hex + (11,)
id_hex_precedence_policy_id = id_hex + (12,)
id_mct_p2_1984 = id_mct + (0,)  # P2 1984
id_mct_p2_1988 = id_mct + (1,)  # P2 1988
id_ep_ia5_text = id_ep + (0,)
id_ep_g3_facsimile = id_ep + (2,)
id_ep_teletex = id_ep + (4,)
id_ep_videotex = id_ep + (5,)
id_ep_encrypted = id_ep + (6,)
id_ep_message = id_ep + (7,)
id_ep_general_text = id_ep + (11,)
id_ep_file_transfer = id_ep + (12,)
id_ep_notification = id_ep + (15,)
id_ep_voice = id_ep + (16,)
id_ep_content = id_ep + (17,)  # This value is not used directly, only as a prefix
id_on_absence_advice = id_on + (0,)
id_on_change_of_address_advice = id_on + (1,)
id_rex_circulation_list_indicator = id_rex + (0,)
id_rex_precedence = id_rex + (1,)
