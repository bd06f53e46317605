"""Snapshot types for mutual TLS between sidecars (PeerAuthentication on the inbound side).

The trust bundle and each cluster's ``tls_mode`` live on ``Snapshot``/``Cluster``; what the
inbound listener accepts is an ``InboundTls``. Modes keep Istio's names: ``STRICT`` (mTLS
only), ``PERMISSIVE`` (mTLS or plaintext, told apart per connection), ``DISABLE`` (plaintext).
"""

from __future__ import annotations

import msgspec

STRICT = "STRICT"
PERMISSIVE = "PERMISSIVE"
DISABLE = "DISABLE"
MODES = (STRICT, PERMISSIVE, DISABLE)

# Cluster.tls_mode values ("" is Istio's auto mTLS: mTLS to mesh endpoints that accept it).
ISTIO_MUTUAL = "ISTIO_MUTUAL"
AUTO = ""


class Struct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Same settings as the base of ``snapshot`` (which imports this module, so it cannot be shared)."""


class InboundTls(Struct, frozen=True):
    """The effective PeerAuthentication of this workload: ``mode`` for its port, unless
    ``port_modes`` names the port (workload port number → mode); ``policy`` names the source."""

    mode: str = PERMISSIVE
    port_modes: dict[int, str] = {}
    policy: str = ""

    def mode_for(self, port: int | None) -> str:
        """Return the mode that applies to workload port ``port``."""
        if port is not None and port in self.port_modes:
            return self.port_modes[port]
        return self.mode
