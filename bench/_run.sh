# Sourced by the benchmarks' wrappers (bench/smtp_ingest.sh, pop3_load.sh,
# imap_load.sh) as `source bench/_run.sh HELPER.py "$@"`: runs the Python
# helper from the repository's root with .venv's interpreter. The helper
# itself checks the peer's programs and root (bench/common.py, check_setup).
# exec: signals reach the helper, whose cleanups stop the servers.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
    echo "$(basename "$0" .sh): no .venv; run 'make test' first" >&2
    exit 1
fi
exec .venv/bin/python "bench/$1" "${@:2}"
