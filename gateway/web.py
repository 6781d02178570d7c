"""The admin HTTP listener: health, metrics and the queue as JSON."""

from __future__ import annotations

import json

from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from gateway.bus.bus import MessageBus, summary


class _Leaf(Resource):
    isLeaf = True

    def __init__(self, bus: MessageBus) -> None:
        super().__init__()
        self.bus = bus


class Health(_Leaf):
    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        if not self.bus.accepting:
            request.setResponseCode(503)
            return b"not accepting mail\n"
        return b"ok\n"


class Metrics(_Leaf):
    """Prometheus text exposition format (version 0.0.4)."""

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")
        lines = [
            "# HELP mailgateway_queue_messages Messages in the queue.",
            "# TYPE mailgateway_queue_messages gauge",
            f"mailgateway_queue_messages {len(self.bus.messages)}",
        ]
        for name, value in self.bus.stats.items():
            lines += [
                f"# TYPE mailgateway_{name}_total counter",
                f"mailgateway_{name}_total {value}",
            ]
        return ("\n".join(lines) + "\n").encode()


class Queue(_Leaf):
    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        messages = sorted(self.bus.messages.values(), key=lambda m: m.qid)
        return json.dumps([summary(m) for m in messages]).encode()


def admin_site(bus: MessageBus) -> Site:
    root = Resource()
    root.putChild(b"healthz", Health(bus))
    root.putChild(b"metrics", Metrics(bus))
    root.putChild(b"queue", Queue(bus))
    return Site(root)
