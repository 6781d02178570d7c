"""``mailgateway x400 ...``: look at X.400 values and the MIXER mapping.

- ``x400 map ADDRESS``: an O/R address (std-or text) or an RFC 822 address,
  mapped both ways (RFC 2156 4.3.4, 4.3.5), with the table lines that
  matched and whether the mapping comes back to where it started.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.cli import main as cli
from gateway.x400.context import Gateway
from gateway.x400.mapping import (
    MappingError,
    MappingTables,
    TableError,
    format_dmn_or_address,
    hierarchy_of,
)
from gateway.x400.orname import ORAddressError, format_std_or, parse_std_or

if TYPE_CHECKING:
    from gateway.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("x400", help="X.400: decode, translate, map addresses")
    sub = parser.add_subparsers(dest="x400_command", required=True, metavar="<x400-command>")
    mapper = sub.add_parser(
        "map", help="map an O/R address or an RFC 822 address both ways (RFC 2156 4.3)"
    )
    mapper.add_argument("address", help="std-or text (/S=.../C=GB/) or local@domain")
    mapper.set_defaults(func=run_map)


def gateway(settings: Settings) -> Gateway:
    return Gateway.from_settings(settings, datetime.now(UTC))


def _or_matches(tables: MappingTables, text: str) -> list[str]:
    addr = parse_std_or(text)
    lines = []
    for table in (tables.or_to_domain, tables.or_to_gateway):
        hit = table.match(addr)
        if hit is not None:
            levels, domain, line = hit
            prefix = format_dmn_or_address(hierarchy_of(addr)[:levels])
            lines.append(f"{table.source} line {line}: {prefix} -> {domain}")
    return lines


def _domain_matches(tables: MappingTables, address: str) -> list[str]:
    domain = address.rpartition("@")[2]
    lines = []
    for table in (tables.domain_to_or, tables.domain_to_gateway):
        hit = table.lookup(domain) if domain else None
        if hit is not None:
            entry = hit[1]
            prefix = format_dmn_or_address(entry.prefix, entry.dda)
            lines.append(f"{table.source} line {entry.line}: {entry.domain} -> {prefix}")
    return lines


def run_map(args: argparse.Namespace, settings: Settings) -> int:
    try:
        gw = gateway(settings)
    except (TableError, ORAddressError, OSError) as e:
        print(f"mailgateway: x400 tables: {e}", file=sys.stderr)
        return cli.EX_CONFIG
    text: str = args.address
    try:
        if "@" in text:
            addr = gw.to_or(text)
            back = gw.to_rfc822(addr)
            print(f"RFC 822:      {text}")
            print(f"O/R address:  {format_std_or(addr)}")
            matched = _domain_matches(gw.tables, text)
            original = text
        else:
            addr = parse_std_or(text)
            mapped = gw.to_rfc822(addr)
            back = format_std_or(gw.to_or(mapped))
            print(f"O/R address:  {format_std_or(addr)}")
            print(f"RFC 822:      {mapped}")
            matched = _or_matches(gw.tables, text)
            original = format_std_or(addr)
    except (ORAddressError, MappingError) as e:
        print(f"mailgateway: {e}", file=sys.stderr)
        return cli.EX_DATAERR
    for line in matched or ["no table line (algorithmic mapping, or the gateway's own domain)"]:
        print(f"  matched:    {line}")
    same = back == original if "@" not in text else back.casefold() == original.casefold()
    print(f"mapped back:  {back}" + ("  (same)" if same else "  (differs)"))
    return cli.EX_OK
