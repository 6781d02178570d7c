#!/usr/bin/env bash
# SMTP ingest benchmark (issue 3): Postfix's smtp-source, 20 sessions x 5,000
# messages of 4 KiB, one message per connection and reusing connections (-d),
# against the gateway and against a private Postfix, both delivering to
# Maildir, started here, alternating, 3 rounds; prints msgs/s, the medians and
# the ratio gateway/Postfix. Loopback only; everything it starts is stopped and
# its temporary directories removed, also on Ctrl-C.
#
#   bash bench/smtp_ingest.sh [--rounds N] [--count M] [--postfix-only]
#                             [--gateway-smtp-config 'TOML lines for [smtp]']
#                             [--gateway-delivery-config 'TOML lines for [delivery]']
#
# Needs root (the private Postfix), Debian's postfix package (see .ci/run) and
# .venv (make test). Compare figures only within one run.
set -euo pipefail
source "$(dirname "$0")/_run.sh" smtp_ingest_helper.py "$@"
