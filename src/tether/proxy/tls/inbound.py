"""The inbound listener's front door: PeerAuthentication per connection.

``InboundGate`` is the protocol the inbound listener accepts connections with. Under
``DISABLE`` it hands the connection to ``ServerConnection`` at once (plaintext costs
nothing extra). Otherwise it looks at the first bytes: a TLS ClientHello starts with 0x16
and gets a TLS handshake that requires and verifies the client's certificate; anything
else is plaintext, served under ``PERMISSIVE`` and refused under ``STRICT``.

The bytes read to decide are already consumed, so ``loop.start_tls`` (which expects an
untouched stream) cannot be used: the gate builds the event loop's own SSL protocol
(uvloop's, or asyncio's) and feeds it those bytes, as ``start_tls`` would have.
Every refusal is logged with its reason and counted. The verified client principal
goes on the connection, and from it on each exchange (``ex.extra["peer_principal"]``).
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import logging
import ssl
from collections import Counter
from typing import TYPE_CHECKING, Any, cast

from tether.core.schema.tls import DISABLE, PERMISSIVE, STRICT
from tether.proxy.codec.server import ServerConnection
from tether.proxy.tls.contexts import verify_peer
from tether.proxy.tls.spiffe import BadIdentity

if TYPE_CHECKING:
    from tether.proxy.listener import Listener

log = logging.getLogger(__name__)

TLS_HANDSHAKE = 0x16
HANDSHAKE_TIMEOUT_S = 10.0


class InboundPolicy:
    """What the gate applies to new connections; the runtime updates it on every snapshot
    and certificate rotation (connections already open keep what they negotiated)."""

    def __init__(self) -> None:
        self.mode = PERMISSIVE
        self.context: ssl.SSLContext | None = None
        self.trust_domain: str | None = None
        self.rejected: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()

    def reject(self, peer: str, reason: str, kind: str) -> None:
        """Log and count a refused connection; ``kind`` is the counter's key."""
        self.rejected[kind] += 1
        log.warning("inbound connection from %s refused: %s", peer, reason)


def _peer(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if peer else "?"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"client certificate rejected: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "TLS handshake timed out"
    return f"TLS handshake failed: {exc!r}"


def _ssl_protocol_class(loop: asyncio.AbstractEventLoop) -> Any:
    try:
        import uvloop
        import uvloop.loop

        if isinstance(loop, uvloop.Loop):
            return getattr(uvloop.loop, "SSLProtocol")  # noqa: B009  untyped in uvloop's stubs; faster than asyncio's
    except (ImportError, AttributeError):  # pragma: no cover - uvloop is a dependency
        pass
    return asyncio.sslproto.SSLProtocol


class InboundGate(asyncio.Protocol):
    """Decides plaintext or mTLS for one accepted connection, then steps aside.

    While the TLS handshake runs, the gate is the SSL protocol's application protocol and
    only buffers what arrives (a client may send its request right behind its Finished).
    """

    def __init__(self, listener: Listener, policy: InboundPolicy) -> None:
        self.listener = listener
        self.policy = policy
        self.transport: asyncio.Transport | None = None
        self.deciding = True
        self.buffered: list[bytes] = []
        self.eof = False
        self.lost = False
        self.tls: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        policy = self.policy
        if self.transport is not None:
            # The SSL protocol hands over its application transport once the handshake is done.
            self.tls = cast(asyncio.Transport, transport)
            return
        self.transport = cast(asyncio.Transport, transport)
        if policy.mode == DISABLE or (policy.context is None and policy.mode == PERMISSIVE):
            self._plain(b"")
            return
        if policy.context is None:
            policy.reject(_peer(transport), "mTLS is STRICT and this proxy has no certificate yet", "no_certificate")
            transport.close()
            return
        self._timer = asyncio.get_running_loop().call_later(self.listener.header_timeout, self._too_slow)

    def data_received(self, data: bytes) -> None:
        if not self.deciding:
            self.buffered.append(data)
            return
        self.deciding = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        transport = self.transport
        assert transport is not None
        if data[0] == TLS_HANDSHAKE:
            self._start_tls(transport, data)
        elif self.policy.mode == STRICT:
            self.policy.reject(_peer(transport), "plaintext connection, but mTLS is STRICT", "plaintext")
            transport.close()
        else:
            self._plain(data)

    def eof_received(self) -> bool | None:
        self.eof = True
        if self.deciding and self.transport is not None:
            self.transport.close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- deciding ------------------------------------------------------------------------
    def _too_slow(self) -> None:
        self._timer = None
        if self.transport is not None:
            self.transport.close()

    def _plain(self, first: bytes) -> None:
        transport = self.transport
        assert transport is not None
        conn = ServerConnection(self.listener)
        transport.set_protocol(conn)
        conn.connection_made(transport)
        self.policy.accepted["plaintext"] += 1
        if first:
            conn.data_received(first)

    def _start_tls(self, transport: asyncio.Transport, first: bytes) -> None:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        proto = _ssl_protocol_class(loop)(loop, self, self.policy.context, waiter, server_side=True,
                                          ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
        transport.set_protocol(proto)
        proto.connection_made(transport)
        view = memoryview(first)
        while view:
            buf = proto.get_buffer(len(view))
            n = min(len(buf), len(view))
            buf[:n] = view[:n]
            proto.buffer_updated(n)
            view = view[n:]
        self.listener.tasks.spawn(f"tls:{_peer(transport)}", self._handshake(transport, waiter))

    async def _handshake(self, transport: asyncio.Transport, waiter: asyncio.Future[None]) -> None:
        policy, peer = self.policy, _peer(transport)
        try:
            await waiter
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
            policy.reject(peer, _reason(exc), "handshake")
            transport.close()
            return
        tls = self.tls
        if tls is None or self.lost or tls.is_closing():
            transport.close()
            return
        try:
            ident = verify_peer(tls.get_extra_info("ssl_object"), None, policy.trust_domain)
        except BadIdentity as exc:
            policy.reject(peer, str(exc), "identity")
            tls.close()
            return
        conn = ServerConnection(self.listener)
        conn.peer_principal = ident.principal
        tls.set_protocol(conn)
        conn.connection_made(tls)
        policy.accepted["mutual_tls"] += 1
        for data in self.buffered:
            conn.data_received(data)
        self.buffered.clear()
        if self.eof and not conn.eof_received():
            tls.close()
