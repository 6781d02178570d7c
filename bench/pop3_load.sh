#!/usr/bin/env bash
# POP3 load benchmark: 4 client processes x 5 sessions, each USER PASS STAT
# UIDL RETR-all QUIT on a 1,000-message Maildir (mixed sizes, no DELE; one
# user and mailbox copy per client process, as a server may lock a maildrop),
# against the gateway and against a private Dovecot, both reading identical
# copies of the mailbox, started here, alternating, 3 rounds; prints ops/s,
# the medians and the ratio gateway/Dovecot. Every session checks STAT, UIDL
# and the retrieved sizes. Loopback only; everything it starts is stopped
# and its temporary directories removed, also on Ctrl-C.
#
#   bash bench/pop3_load.sh [--rounds N] [--clients C] [--sessions S]
#                           [--messages M] [--dovecot-only] [--shared-mailbox]
#                           [--gateway-pop3-config 'TOML lines for [pop3]']
#
# Without the gateway's POP3 server, only Dovecot runs (exit status 2).
# Needs root (the private Dovecot), Debian's dovecot-core and dovecot-pop3d,
# and .venv (make test). Compare figures only within one run.
set -euo pipefail
source "$(dirname "$0")/_run.sh" pop3_load.py "$@"
