"""Peer metadata exchange: who is calling, for the destination side's ``source_*`` labels.

The outbound side stamps ``x-tether-peer: workload;namespace;app;version``; the
inbound side reads it into ``ex.peer`` and removes it before the app sees it. (Istio
does the same with ``x-envoy-peer-metadata``.) Over mTLS the principal comes from the
certificate instead of this header.
"""

from __future__ import annotations

from tether.core.identity import ProxyNode
from tether.proxy.chain import Filter
from tether.proxy.exchange import Exchange

HEADER = b"x-tether-peer"


def encode_peer(node: ProxyNode) -> bytes:
    """Return the header value describing ``node``."""
    return f"{node.name};{node.namespace};{node.app};{node.version}".encode()


def decode_peer(value: bytes) -> tuple[str, str, str, str] | None:
    """Return ``(workload, namespace, app, version)`` from a header value, or None if malformed."""
    parts = value.decode("latin-1").split(";")
    if len(parts) != 4 or not all(parts):
        return None
    return parts[0], parts[1], parts[2], parts[3]


class StampPeer(Filter):
    """Outbound: tells the destination sidecar who calls."""

    name = "peer_metadata"

    def __init__(self, node: ProxyNode) -> None:
        self.value = encode_peer(node)

    def on_request(self, ex: Exchange) -> None:
        ex.headers.put(HEADER, self.value)


class ReadPeer(Filter):
    """Inbound: learns who calls, and hides the header from the app."""

    name = "peer_metadata"

    def on_request(self, ex: Exchange) -> None:
        value = ex.headers.get(HEADER)
        if value is not None:
            ex.peer = decode_peer(value)
            ex.headers.remove(HEADER)
