"""``mailgateway queue list|show|retry|hold|release|delete``.

With the daemon running, requests go over its control socket, so the
daemon's own state changes; with it stopped, the command takes the spool
lock and works on the journal directly. Either way every change is an event
in the message's history.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from gateway.bus import history, journal
from gateway.bus.bus import ADMIN_OPERATIONS, admin_event, summary
from gateway.bus.spool import Spool, SpoolLocked
from gateway.bus.state import apply_event
from gateway.cli import main as cli
from gateway.cli.control_client import ControlRequestFailed, DaemonUnavailable, request

if TYPE_CHECKING:
    from gateway.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("queue", help="inspect and manage the mail queue")
    sub = parser.add_subparsers(dest="queue_command", required=True, metavar="<action>")
    sub.add_parser("list", help="list queued messages").set_defaults(func=run)
    show = sub.add_parser("show", help="show one message's envelope and recipient states")
    show.add_argument("qid")
    show.set_defaults(func=run)
    for op, text in (
        ("retry", "try deferred recipients now"),
        ("hold", "hold a message (no delivery until released)"),
        ("release", "release a held message"),
        ("delete", "delete a message without notifying anyone"),
    ):
        action = sub.add_parser(op, help=text)
        action.add_argument("qids", nargs="+", metavar="qid")
        action.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return _run(args, settings)
    except ControlRequestFailed as e:
        print(f"mailgateway: {e}", file=sys.stderr)
        return cli.EX_TEMPFAIL if e.temporary else cli.EX_DATAERR


def _run(args: argparse.Namespace, settings: Settings) -> int:
    op: str = args.queue_command
    try:
        if op == "list":
            print_list(request(settings.control_socket, {"op": "list"}))
        elif op == "show":
            print_show(request(settings.control_socket, {"op": "show", "qid": args.qid}))
        else:
            for qid in args.qids:
                request(settings.control_socket, {"op": op, "qid": qid})
                print(f"{qid}: {op} done")
        return cli.EX_OK
    except DaemonUnavailable:
        pass
    return _offline(args, settings)


def _offline(args: argparse.Namespace, settings: Settings) -> int:
    spool = Spool(settings.queue_dir, settings.queue.segment_size)
    try:
        spool.lock()
    except SpoolLocked:
        print(
            "mailgateway: the daemon holds the queue but its control socket "
            f"{settings.control_socket} does not answer",
            file=sys.stderr,
        )
        return cli.EX_TEMPFAIL
    try:
        messages = spool.recover().messages
        op = args.queue_command
        if op == "list":
            print_list([summary(m) for m in sorted(messages.values(), key=lambda m: m.qid)])
            return cli.EX_OK
        qids = [args.qid] if op == "show" else args.qids
        missing = [q for q in qids if q not in messages]
        if missing:
            print(f"mailgateway: no message {', '.join(missing)} in the queue", file=sys.stderr)
            return cli.EX_DATAERR
        if op == "show":
            print_show(messages[args.qid].state.to_json())
            return cli.EX_OK
        assert op in ADMIN_OPERATIONS
        now = time.time()
        events = [{"qid": q, "t": now, **admin_event(op)} for q in qids]
        _, history_error = spool.commit(
            [journal.event_record(e) for e in events], [history.encode(e) for e in events], now
        )
        if history_error is not None:
            print(f"mailgateway: warning: history not written: {history_error}", file=sys.stderr)
        for event in events:
            apply_event(messages[event["qid"]].state, event)
            print(f"{event['qid']}: {op} done (daemon stopped; takes effect at its next start)")
        return cli.EX_OK
    finally:
        spool.close()


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def print_list(messages: list[dict[str, Any]]) -> None:
    if not messages:
        print("Mail queue is empty")
        return
    for m in messages:
        held = " (held)" if m["held"] else ""
        print(f"{m['qid']}  {m['size']:>8}  {_when(m['accepted_at'])}  <{m['sender']}>{held}")
        for r in m["recipients"]:
            print(f"    {r['address']}  [{r['status']}]")
    print(f"-- {len(messages)} message(s)")


def print_show(state: dict[str, Any]) -> None:
    envelope = state["envelope"]
    print(f"Queue-ID: {state['qid']}")
    print(f"Arrival: {_when(state['accepted_at'])}")
    print(f"Message-ID: {state.get('message_id') or '-'}")
    print(f"Size: {state['size']}")
    print(f"Sender: <{envelope['sender']}>")
    print(f"Origin: {json.dumps(envelope.get('origin', {}))}")
    for key in ("envid", "ret", "body"):
        if key in envelope:
            print(f"{key.upper()}: {envelope[key]}")
    print(f"Held: {'yes' if state['held'] else 'no'}")
    for i, r in enumerate(state["recipients"]):
        line = f"Recipient {i}: {r['address']} [{r['status']}] attempts={r['attempts']}"
        if "parent" in r:
            line += f" via alias #{r['parent']}"
        if "next_attempt" in r:
            line += f" next={_when(r['next_attempt'])}"
        if "last" in r:
            last = r["last"]
            line += f" last={last['code']} {last['status']} {last['text']}"
        print(line)
