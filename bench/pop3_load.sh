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
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    echo "pop3_load: no .venv; run 'make test' first" >&2
    exit 1
fi
for tool in /usr/sbin/dovecot /usr/lib/dovecot/pop3 /usr/lib/dovecot/pop3-login; do
    if [ ! -x "$tool" ]; then
        echo "pop3_load: $tool missing; install Debian's dovecot-core and dovecot-pop3d" >&2
        exit 1
    fi
done
if [ "$(id -u)" != 0 ]; then
    echo "pop3_load: must run as root (it starts a private Dovecot)" >&2
    exit 1
fi

# exec: signals reach the helper, whose finally-blocks stop both servers.
exec .venv/bin/python bench/pop3_load.py "$@"
