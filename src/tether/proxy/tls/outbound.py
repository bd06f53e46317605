"""Outbound mTLS: which upstream connections use TLS, and the check of the server's identity.

The decision is Istio's: a cluster whose DestinationRule says ``ISTIO_MUTUAL`` uses mTLS,
``DISABLE`` plaintext; without a setting (auto mTLS) an endpoint gets mTLS when it is a
mesh workload (it has a principal) that does not disable it, and this proxy has a
certificate. Pools are per endpoint, so the decision is per ``address:port``: should two
clusters disagree about one endpoint, mTLS wins (a simplification; Envoy decides per cluster).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from tether.core.schema.snapshot import Snapshot
from tether.core.schema.tls import ISTIO_MUTUAL
from tether.proxy.errors import UpstreamConnectFailure
from tether.proxy.tls.contexts import verify_peer
from tether.proxy.tls.spiffe import BadIdentity

if TYPE_CHECKING:
    from tether.proxy.codec.client import ClientConnection
    from tether.proxy.upstream.pool import EndpointPool

log = logging.getLogger(__name__)

ANY_PEER = "*"  # ISTIO_MUTUAL to an endpoint without a known principal: any identity of the trust domain


class UpstreamIdentity:
    """mTLS towards endpoints that must prove ``expected`` (a principal, or ``*``)."""

    def __init__(self, contexts: Callable[[], ssl.SSLContext | None], expected: str,
                 trust_domain: Callable[[], str | None]) -> None:
        self.key = expected
        self.expected = expected
        self._context = contexts
        self._trust_domain = trust_domain
        self.failures = 0

    def context(self, pool: EndpointPool) -> ssl.SSLContext:
        """Return the current client context; raises UpstreamConnectFailure without a certificate."""
        ctx = self._context()
        if ctx is None:
            self.failures += 1
            log.warning("mTLS to %s:%d impossible: this proxy has no workload certificate (join token?)",
                        pool.address, pool.port)
            raise UpstreamConnectFailure()
        return ctx

    def failed(self, pool: EndpointPool, exc: BaseException) -> None:
        """Log a failed TLS connection with its reason (certificate verification, refusal...)."""
        self.failures += 1
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = f"server certificate rejected: {exc.verify_message}"
        elif isinstance(exc, ssl.SSLError):
            reason = f"TLS handshake failed: {exc.reason or exc}"
        else:
            reason = repr(exc)
        log.warning("mTLS connection to %s:%d failed: %s", pool.address, pool.port, reason)

    def verify(self, pool: EndpointPool, conn: ClientConnection) -> None:
        """Check the server's SPIFFE ID; closes ``conn`` and raises UpstreamConnectFailure on a mismatch."""
        transport = conn.transport
        expected = None if self.expected == ANY_PEER else self.expected
        try:
            verify_peer(transport.get_extra_info("ssl_object") if transport else None, expected,
                        self._trust_domain())
        except BadIdentity as exc:
            self.failures += 1
            log.warning("mTLS connection to %s:%d refused: %s", pool.address, pool.port, exc)
            conn.close()
            raise UpstreamConnectFailure() from None


def tls_plan(snapshot: Snapshot, have_identity: bool) -> dict[tuple[str, int], str]:
    """Return ``{(address, port): expected principal or "*"}`` for every endpoint to reach over mTLS."""
    plan: dict[tuple[str, int], str] = {}
    for cluster in snapshot.clusters:
        mode = cluster.tls_mode
        if mode not in ("", ISTIO_MUTUAL):
            continue
        for ep in cluster.endpoints:
            if mode == ISTIO_MUTUAL or (have_identity and ep.principal and not ep.plaintext):
                plan[(ep.address, ep.port)] = ep.principal or ANY_PEER
    return plan
