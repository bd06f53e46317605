"""Join tokens: what entitles a proxy to a certificate for one workload identity.

A token is ``tjt1.<payload>.<mac>``: the payload (base64url JSON: trust domain, namespace,
service account, workload name, issue time, optional expiry) and an HMAC-SHA256 over it
with a key kept in ``<data>/ca/join.key`` (mode 0600). Nothing is stored per token, so
tokens survive a control-plane restart; rotating the key revokes every token at once.
The payload is not secret (a proxy reads its own identity from it), only unforgeable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

import msgspec

from tether.control.ca.authority import write_private
from tether.core.errors import TetherError
from tether.proxy.tls.spiffe import SpiffeId, make_id

PREFIX = "tjt1"
KEY_FILE = "join.key"


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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def read_claims(token: str) -> TokenClaims:
    """Return the claims of ``token`` without checking its MAC (a proxy learning its identity).

    Raises InvalidToken when it is malformed.
    """
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidToken("not a Tether join token (expected tjt1.<payload>.<mac>)")
    try:
        return msgspec.json.decode(_unb64(parts[1]), type=TokenClaims)
    except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidToken(f"join token payload does not decode: {exc}") from None


class JoinTokens:
    """Mints and verifies join tokens with one secret key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def in_dir(cls, ca_dir: str) -> JoinTokens:
        """Return the minter whose key is ``<ca_dir>/join.key``, creating the key (0600) if absent."""
        path = os.path.join(ca_dir, KEY_FILE)
        os.makedirs(ca_dir, exist_ok=True)
        try:
            with open(path, "rb") as f:
                key = f.read().strip()
        except FileNotFoundError:
            key = b""
        if len(key) < 32:
            key = secrets.token_hex(32).encode()
            write_private(path, key)
        return cls(key)

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, f"{PREFIX}.{payload}".encode(), hashlib.sha256).digest())

    def mint(self, trust_domain: str, namespace: str, service_account: str, *, name: str = "",
             now: float, ttl_s: float | None = None) -> str:
        """Return a token for ``spiffe://td/ns/<namespace>/sa/<service_account>``.

        Raises BadIdentity when a part is malformed.
        """
        make_id(trust_domain, namespace, service_account)
        claims = TokenClaims(td=trust_domain, ns=namespace, sa=service_account, name=name, iat=int(now),
                             exp=int(now + ttl_s) if ttl_s else 0)
        payload = _b64(msgspec.json.encode(claims))
        return f"{PREFIX}.{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float) -> TokenClaims:
        """Return the claims of a genuine, unexpired ``token``; raises InvalidToken otherwise."""
        claims = read_claims(token)
        _, payload, mac = token.strip().split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidToken("join token signature does not verify (minted by another control plane?)")
        if claims.exp and now >= claims.exp:
            raise InvalidToken("join token has expired; create a new one with `tether token create`")
        return claims
