"""``mailgateway track <queue-id|Message-ID>``: every recorded event of a message."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from gateway.bus.history import find_message
from gateway.cli import main as cli

if TYPE_CHECKING:
    from gateway.config import Settings

_SKIP = frozenset({"qid", "ev", "t"})
# What sender authentication records (gateway.authn.inbound.Report.event,
# gateway.authn.policy.Verdict.event).
_CHECKS = ("spf", "dkim", "arc", "dmarc", "dnsbl", "dnswl", "action", "rule", "reason")
_FORMAT = "%Y-%m-%d %H:%M:%S"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "track", help="print the history of a message by queue id or Message-ID"
    )
    parser.add_argument("key", help="a queue id or a Message-ID (with or without <>)")
    parser.set_defaults(func=run)


def format_event(event: dict[str, Any]) -> str:
    when = time.strftime(_FORMAT, time.gmtime(float(event.get("t", 0))))
    ev = event.get("ev", "?")
    if ev == "accepted":
        rcpts = ", ".join(r["address"] for r in event.get("recipients", []))
        origin = event.get("origin", {})
        src = " ".join(f"{k}={v}" for k, v in origin.items())
        detail = (
            f"from=<{event.get('sender', '')}> to={rcpts} size={event.get('size')} "
            f"message-id={event.get('message_id') or '-'} {src}"
        )
    elif ev == "refused":  # at the end of data, by sender authentication
        rcpts = ", ".join(r["address"] for r in event.get("recipients", []))
        detail = (
            f"from=<{event.get('sender', '')}> to={rcpts} "
            f"message-id={event.get('message_id') or '-'} "
            f"{event.get('code')} {event.get('status')} {event.get('text')}"
        )
        rest = {k: v for k, v in event.items() if k in _CHECKS}
        detail += "".join(f"\n{'':34}{k}={v}" for k, v in rest.items())
    elif ev == "authn":
        detail = "".join(
            f"\n{'':34}{k}={v}" if i else f"{k}={v}"
            for i, (k, v) in enumerate((k, v) for k, v in event.items() if k not in _SKIP)
        )
    elif "code" in event:
        detail = f"to=<{event.get('to', '#' + str(event.get('rcpt')))}> " + (
            f"{event['code']} {event['status']} {event['text']}"
        )
        if event.get("detail"):
            detail += f" ({event['detail']})"
        if event.get("tls"):
            detail += f" tls={event['tls']}"
        if "next" in event:
            detail += f"; next attempt {time.strftime(_FORMAT, time.gmtime(event['next']))} UTC"
    else:
        detail = " ".join(f"{k}={v}" for k, v in event.items() if k not in _SKIP)
    return f"{when} UTC  {ev:<9}  {detail}".rstrip()


def run(args: argparse.Namespace, settings: Settings) -> int:
    found = find_message(settings.queue_dir / "history", args.key)
    if not found:
        print(f"mailgateway: no message {args.key} in the history", file=sys.stderr)
        return cli.EX_DATAERR
    for qid, events in found.items():
        print(f"Queue-ID {qid}")
        for event in events:
            print("  " + format_event(event))
    return cli.EX_OK
