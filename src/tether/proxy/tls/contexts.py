"""TLS contexts of a sidecar: one for accepting (inbound), one for connecting (outbound).

Both present the workload's certificate, require the peer's, and verify it against the
mesh's trust bundle; the SPIFFE ID in it is checked by the caller (``verify_peer``), not
by host name. TLS 1.3 is preferred, 1.2 the minimum. ``ssl`` loads a certificate and key
only from a path, so the key goes through an anonymous in-memory file (``memfd``), never
through the file system.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import ssl
from dataclasses import dataclass

from tether.proxy.tls.spiffe import BadIdentity, SpiffeId, id_of_peercert


@dataclass(frozen=True)
class Credentials:
    """A workload's certificate chain (leaf first), its key (PKCS#8 PEM), the roots it trusts,
    and what the CA said it issued: the leaf's SPIFFE ID and the end of its validity (Unix time)."""

    chain_pem: str
    key_pem: bytes = dataclasses.field(repr=False)
    bundle: tuple[str, ...]
    identity: SpiffeId
    not_after: float

    def with_bundle(self, bundle: tuple[str, ...]) -> Credentials:
        """Return these credentials trusting ``bundle`` instead."""
        return dataclasses.replace(self, bundle=bundle)


def load_chain(ctx: ssl.SSLContext, chain_pem: str, key_pem: bytes) -> None:
    """Load ``chain_pem`` and ``key_pem`` into ``ctx`` without writing the key to the file system.

    Raises ssl.SSLError when they do not parse or do not belong together.
    """
    data = chain_pem.encode() + key_pem
    memfd = getattr(os, "memfd_create", None)
    if memfd is not None:
        fd = memfd("tether-svid", 0)
        try:
            os.write(fd, data)
            ctx.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    import tempfile  # pragma: no cover - non-Linux fallback (a 0700 dir); its shutil import costs memory

    with tempfile.TemporaryDirectory() as tmp:  # pragma: no cover
        path = os.path.join(tmp, "svid.pem")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(data)
        ctx.load_cert_chain(path)


def _base(purpose: ssl.Purpose, creds: Credentials) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if purpose is ssl.Purpose.CLIENT_AUTH else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False  # the peer is checked by SPIFFE ID, not by host name
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata="".join(creds.bundle))
    load_chain(ctx, creds.chain_pem, creds.key_pem)
    with contextlib.suppress(ssl.SSLError, ValueError):
        ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def server_context(creds: Credentials) -> ssl.SSLContext:
    """Return the inbound context: our certificate, client certificates required and verified."""
    ctx = _base(ssl.Purpose.CLIENT_AUTH, creds)
    ctx.num_tickets = 2  # TLS 1.3 session tickets, so clients that can resume skip the full handshake
    return ctx


def client_context(creds: Credentials) -> ssl.SSLContext:
    """Return the outbound context: our certificate, the server's verified against the bundle."""
    return _base(ssl.Purpose.SERVER_AUTH, creds)


def verify_peer(ssl_object: ssl.SSLObject | ssl.SSLSocket | None, expected: str | None,
                trust_domain: str | None = None) -> SpiffeId:
    """Return the SPIFFE ID of the (already chain-verified) peer.

    ``expected`` is a principal (``td/ns/N/sa/S``) or SPIFFE URI the peer must have; with
    ``trust_domain`` the peer must belong to it. Raises BadIdentity with the reason otherwise.
    """
    ident = id_of_peercert(ssl_object.getpeercert() if ssl_object is not None else None)
    if expected and ident.principal != expected.removeprefix("spiffe://"):
        raise BadIdentity(f"peer is {ident.uri}, expected spiffe://{expected.removeprefix('spiffe://')}")
    if trust_domain and ident.trust_domain != trust_domain:
        raise BadIdentity(f"peer {ident.uri} is outside trust domain {trust_domain}")
    return ident
