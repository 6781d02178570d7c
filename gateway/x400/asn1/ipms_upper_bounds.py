# IPMSUpperBounds {joint-iso-itu-t mhs(6) ipms(1) modules(0) upper-bounds(10)
#   version-1999(1)}, ITU-T X.420 (06/1999)
#
# Upper bounds of the Interpersonal Messaging System, one module constant per
# ASN.1 value (hyphens become underscores), as pyasn1-modules does.
"""X.420 IPMSUpperBounds: the upper bounds of the IPM information objects."""

from __future__ import annotations

ub_alpha_code_length = 16
ub_auto_forward_comment = 256
ub_circulation_list_members = 256
ub_distribution_codes = 16
ub_extended_subject_length = 256
ub_free_form_name = 64
ub_information_categories = 16
ub_information_category_length = 64
ub_ipm_identifier_suffix = 2
ub_local_ipm_identifier = 64
ub_manual_handling_instruction_length = 128
ub_manual_handling_instructions = 16
ub_originators_reference_length = 64
ub_precedence = 127
ub_subject_field = 128
ub_telephone_number = 32
