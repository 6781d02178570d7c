# MTSUpperBounds {joint-iso-itu-t mhs(6) mts(3) modules(0) upper-bounds(3)
#   version-1999(1)}, ITU-T X.411 (06/1999)
#
# Upper bounds of the Message Transfer System, one module constant per
# ASN.1 value (hyphens become underscores), as pyasn1-modules does.
"""X.411 MTSUpperBounds: the upper bounds of the MTS abstract service."""

from __future__ import annotations

ub_additional_info = 1024
ub_bilateral_info = 1024
ub_bit_options = 16
ub_built_in_content_type = 32767
ub_built_in_encoded_information_types = 32
ub_certificates = 64
ub_common_name_length = 64
ub_content_correlator_length = 512
ub_content_id_length = 16
ub_content_length = 2147483647  # the largest integer in 32 bits
ub_content_types = 1024
ub_country_name_alpha_length = 2
ub_country_name_numeric_length = 3
ub_diagnostic_codes = 32767
ub_deliverable_class = 256
ub_dl_expansions = 512
ub_domain_defined_attributes = 4
ub_domain_defined_attribute_type_length = 8
ub_domain_defined_attribute_value_length = 128
ub_domain_name_length = 16
ub_encoded_information_types = 1024
ub_extension_attributes = 256
ub_extension_types = 256
ub_e163_4_number_length = 15
ub_e163_4_sub_address_length = 40
ub_generation_qualifier_length = 3
ub_given_name_length = 16
ub_initials_length = 5
ub_integer_options = 256
ub_labels_and_redirections = 256
ub_local_id_length = 32
ub_mta_name_length = 32
ub_mts_user_types = 256
ub_numeric_user_id_length = 32
ub_organization_name_length = 64
ub_organizational_unit_name_length = 32
ub_organizational_units = 4
ub_orig_and_dl_expansions = 513  # ub-dl-expansions plus one
ub_password_length = 62
ub_pds_name_length = 16
ub_pds_parameter_length = 30
ub_pds_physical_address_lines = 6
ub_postal_code_length = 16
ub_privacy_mark_length = 128
ub_queue_size = 2147483647  # the largest integer in 32 bits
ub_reason_codes = 32767
ub_recipient_number_for_advice_length = 32
ub_recipients = 32767
ub_redirection_classes = 256
ub_redirections = 512
ub_restrictions = 1024
ub_security_categories = 64
ub_security_labels = 256
ub_security_problems = 256
ub_supplementary_info_length = 256
ub_surname_length = 40
ub_teletex_private_use_length = 128
ub_terminal_id_length = 24
ub_transfers = 512
ub_tsap_id_length = 16
ub_unformatted_address_length = 180
ub_universal_generation_qualifier_length = 16
ub_universal_given_name_length = 40
ub_universal_initials_length = 16
ub_universal_surname_length = 64
ub_x121_address_length = 16
