"""``mailgateway dkim keygen DOMAIN SELECTOR``: a new DKIM signing key.

Writes the private key (PKCS#8 PEM, mode 0600) to
``DIR/DOMAIN.SELECTOR.pem`` and prints, on standard output, the TXT record
to publish (RFC 6376 3.6.1, 3.6.2.1) as one zone-file line::

    sel._domainkey.example.org. IN TXT "v=DKIM1; k=ed25519; p=..."

A long record (RSA) is split into quoted strings of at most 255 octets,
which DNS joins back. An existing key file is never replaced (exit 73,
EX_CANTCREAT). Ed25519 (RFC 8463) is the default; ``--algorithm rsa`` gives
a 2048-bit RSA key (RFC 8301 3.2), which every verifier understands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.authn.keys import (
    ALGORITHMS,
    KeyFileError,
    dns_record,
    generate_key,
    key_file_name,
    write_private_key,
)
from gateway.cli.errors import error
from gateway.cli.main import EX_CANTCREAT, EX_OK, EX_USAGE

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``dkim`` command and its subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dkim", help="DKIM signing keys", description=__doc__
    )
    sub = parser.add_subparsers(dest="dkim_command", required=True, metavar="<subcommand>")
    keygen = sub.add_parser(
        "keygen",
        help="make a signing key and print its DNS record",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    keygen.add_argument("domain", help="the signing domain (d=), e.g. example.org")
    keygen.add_argument("selector", help="the selector (s=), e.g. 2025a")
    keygen.add_argument(
        "--algorithm", choices=ALGORITHMS, default="ed25519", help="default: ed25519"
    )
    keygen.add_argument(
        "--dir", type=Path, default=Path("."), help="where to write the key (default: .)"
    )
    keygen.set_defaults(func=dkim_keygen)


def dkim_keygen(args: argparse.Namespace, settings: Settings) -> int:
    domain = str(args.domain).rstrip(".").lower()
    selector = str(args.selector)
    try:
        domain.encode("ascii")
        selector.encode("ascii")
    except UnicodeEncodeError:
        error("the domain and the selector must be ASCII (an IDN domain in its xn-- form)")
        return EX_USAGE
    if not domain or not selector or any(c in selector for c in " ;/\\"):
        error(f"not a usable domain and selector: {args.domain!r} {args.selector!r}")
        return EX_USAGE
    pem, public = generate_key(args.algorithm)
    path = Path(args.dir) / key_file_name(domain, selector)
    try:
        write_private_key(path, pem)
    except KeyFileError as e:
        error(str(e))
        return EX_CANTCREAT
    record = dns_record(domain, selector, public, args.algorithm)
    print(f"mailgateway: wrote the {args.algorithm} private key to {path}", file=sys.stderr)
    print(f"mailgateway: publish this TXT record at {record.name}:", file=sys.stderr)
    print(record.zone_line())
    return EX_OK
