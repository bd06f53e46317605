"""The inbound listener's front door: PeerAuthentication per connection.

``InboundGate`` is the protocol the inbound listener accepts connections with. Under
``DISABLE`` it hands the connection to ``ServerConnection`` at once (plaintext costs
nothing extra). Otherwise it peeks at the first byte without consuming it (``MSG_PEEK``
on a duplicate of the socket): a TLS ClientHello starts with 0x16 and gets a TLS
handshake (``loop.start_tls``) that requires and verifies the client's certificate;
anything else is plaintext, served under ``PERMISSIVE`` and refused under ``STRICT``.
Every refusal is logged with its reason and counted. The verified client principal
goes on the connection, and from it on each exchange (``ex.extra["peer_principal"]``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
from collections import Counter
from typing import TYPE_CHECKING, cast

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


class InboundGate(asyncio.Protocol):
    """Decides plaintext or mTLS for one accepted connection, then steps aside."""

    def __init__(self, listener: Listener, policy: InboundPolicy) -> None:
        self.listener = listener
        self.policy = policy
        self.transport: asyncio.Transport | None = None
        self.buffered: list[bytes] = []
        self.eof = False
        self.lost = False
        self._dup: socket.socket | None = None
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        policy = self.policy
        if policy.mode == DISABLE or (policy.context is None and policy.mode == PERMISSIVE):
            self._plain()
            return
        if policy.context is None:
            policy.reject(_peer(transport), "mTLS is STRICT and this proxy has no certificate yet", "no_certificate")
            transport.close()
            return
        self.transport.pause_reading()
        sock = transport.get_extra_info("socket")
        loop = asyncio.get_running_loop()
        self._dup = socket.socket(fileno=os.dup(sock.fileno()))
        self._dup.setblocking(False)
        loop.add_reader(self._dup.fileno(), self._readable)
        self._timer = loop.call_later(self.listener.header_timeout, self._too_slow)

    def data_received(self, data: bytes) -> None:
        # Only reached while a TLS handshake completes and before the connection is handed over.
        self.buffered.append(data)

    def eof_received(self) -> bool | None:
        self.eof = True
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._stop_peeking()

    # -- deciding ------------------------------------------------------------------------
    def _stop_peeking(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._dup is not None:
            asyncio.get_running_loop().remove_reader(self._dup.fileno())
            self._dup.close()
            self._dup = None

    def _too_slow(self) -> None:
        self._timer = None
        self._stop_peeking()
        if self.transport is not None:
            self.transport.close()

    def _readable(self) -> None:
        dup, transport = self._dup, self.transport
        assert dup is not None and transport is not None
        try:
            first = dup.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return
        except OSError:
            first = b""
        self._stop_peeking()
        if not first:
            transport.close()
        elif first[0] == TLS_HANDSHAKE:
            self.listener.tasks.spawn(f"tls:{_peer(transport)}", self._handshake(transport))
        elif self.policy.mode == STRICT:
            self.policy.reject(_peer(transport), "plaintext connection, but mTLS is STRICT", "plaintext")
            transport.close()
        else:
            self._plain()
            transport.resume_reading()

    def _plain(self) -> None:
        transport = self.transport
        assert transport is not None
        conn = ServerConnection(self.listener)
        transport.set_protocol(conn)
        conn.connection_made(transport)
        self.policy.accepted["plaintext"] += 1

    async def _handshake(self, transport: asyncio.Transport) -> None:
        policy, peer = self.policy, _peer(transport)
        context = policy.context
        if context is None:
            transport.close()
            return
        loop = asyncio.get_running_loop()
        try:
            tls = await loop.start_tls(transport, self, context, server_side=True,
                                       ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
            policy.reject(peer, _reason(exc), "handshake")
            transport.close()
            return
        if tls is None or self.lost:
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
