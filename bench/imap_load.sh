#!/usr/bin/env bash
# IMAP load benchmark: 8 client processes x 10 sessions, each LOGIN SELECT
# FETCH-1:*-ENVELOPE, 20 UID FETCH BODY.PEEK[], 5 UID STORE +/-FLAGS pairs,
# 3 SEARCHes, a short IDLE and LOGOUT on a 1,000-message Maildir (mixed sizes,
# realistic headers, some multiparts with attachments; one user and mailbox
# copy per client process), against the gateway and against a private
# Dovecot, both reading identical copies, started here, alternating, 3
# rounds; prints ops/s, p50/p99 latency, the medians and the ratio
# gateway/Dovecot. Then the resident memory of each server with 1,000
# concurrent sessions in IDLE (and before). Loopback only; everything it
# starts is stopped and its temporary directories removed, also on Ctrl-C.
#
#   bash bench/imap_load.sh [--rounds N] [--clients C] [--sessions S]
#                           [--messages M] [--idle-sessions N] [--skip-load]
#                           [--dovecot-only] [--keep]
#                           [--gateway-imap-config 'TOML lines for [imap]']
#
# Without the gateway's IMAP server, only Dovecot runs (exit status 2).
# Needs root (the private Dovecot), Debian's dovecot-core and dovecot-imapd,
# and .venv (make test). Compare figures only within one run.
set -euo pipefail
source "$(dirname "$0")/_run.sh" imap_load.py "$@"
