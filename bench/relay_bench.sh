#!/usr/bin/env bash
# Relay benchmark (issue 6): Postfix's smtp-source, 20 sessions x 5,000
# messages of 4 KiB to a remote address, submitted to the gateway and to a
# private Postfix, both relaying to one smtp-sink (smarthost/relayhost
# [127.0.0.1]:PORT, no TLS, no DNS), started here, alternating, 3 rounds;
# prints end-to-end msgs/s (smtp-source's start until the sink has received
# every message), the medians and the ratio gateway/Postfix. Loopback only;
# everything it starts is stopped and its temporary directories removed, also
# on Ctrl-C.
#
#   bash bench/relay_bench.sh [--rounds N] [--count M] [--reuse] [--postfix-only]
#                             [--gateway-relay-config 'TOML lines for [relay]']
#
# Needs root (the private Postfix), Debian's postfix package (see .ci/run) and
# .venv (make test). Compare figures only within one run.
set -euo pipefail
source "$(dirname "$0")/_run.sh" relay_bench.py "$@"
