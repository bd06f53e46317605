"""The join token as a proxy sees it: ``tjt1.<payload>.<mac>``, payload readable, MAC opaque.

A proxy reads the identity it is entitled to from its token's payload (trust domain,
namespace, service account) to build its CSR; only the control plane, which holds the
key, can tell a genuine token (``tether.control.ca.tokens``).
"""

from __future__ import annotations

import base64

import msgspec

from tether.core.errors import TetherError
from tether.proxy.tls.spiffe import SpiffeId

PREFIX = "tjt1"


class InvalidToken(TetherError):
    """A join token that is malformed, forged, or expired."""


class TokenClaims(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a token grants: ``td``/``ns``/``sa`` is the identity, ``name`` the workload it was minted for."""

    td: str
    ns: str
    sa: str
    name: str = ""
    iat: int = 0
    exp: int = 0  # 0: no expiry

    @property
    def identity(self) -> SpiffeId:
        """Return the SPIFFE ID this token entitles its holder to."""
        return SpiffeId(trust_domain=self.td, namespace=self.ns, service_account=self.sa)


def b64(data: bytes) -> str:
    """Return unpadded base64url of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Return the bytes of unpadded base64url ``text``; raises ValueError."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def read_claims(token: str) -> TokenClaims:
    """Return the claims of ``token`` without checking its MAC (a proxy learning its identity).

    Raises InvalidToken when it is malformed.
    """
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidToken("not a Tether join token (expected tjt1.<payload>.<mac>)")
    try:
        return msgspec.json.decode(unb64(parts[1]), type=TokenClaims)
    except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidToken(f"join token payload does not decode: {exc}") from None
