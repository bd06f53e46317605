"""Issuing tokens and publishing key sets, for tests, examples and local identity providers.

The proxy never signs anything; this is the other side of ``verify``, kept next to it so both
agree on encodings (base64url without padding, ES* signatures as raw ``r || s``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"RS256": hashes.SHA256, "ES256": hashes.SHA256,
                                                  "ES384": hashes.SHA384}


def b64url(data: bytes) -> str:
    """Return ``data`` as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8 or 1, "big"))


def new_key(alg: str) -> PrivateKey:
    """Return a fresh private key for ``alg`` (RS256, ES256, ES384 or EdDSA)."""
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported algorithm {alg!r}")


def public_jwk(key: PrivateKey, kid: str) -> dict[str, Any]:
    """Return the public JWK of ``key`` with key id ``kid``."""
    pub = key.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        nums = pub.public_numbers()
        return {"kty": "RSA", "kid": kid, "use": "sig", "n": _uint(nums.n), "e": _uint(nums.e)}
    if isinstance(pub, ec.EllipticCurvePublicKey):
        nums_ec = pub.public_numbers()
        size = (pub.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[pub.curve.name]
        return {"kty": "EC", "kid": kid, "crv": crv, "x": b64url(nums_ec.x.to_bytes(size, "big")),
                "y": b64url(nums_ec.y.to_bytes(size, "big"))}
    raw = pub.public_bytes_raw()
    return {"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64url(raw)}


def jwks(*keys: dict[str, Any]) -> str:
    """Return the JSON Web Key Set text holding ``keys``."""
    return json.dumps({"keys": list(keys)})


def sign(claims: dict[str, Any], key: PrivateKey, alg: str, kid: str | None = None,
         header: dict[str, Any] | None = None) -> str:
    """Return the compact JWT of ``claims`` signed by ``key`` with ``alg``."""
    head: dict[str, Any] = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid is not None else {}), **(header or {})}
    signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(claims).encode())}".encode()
    if isinstance(key, rsa.RSAPrivateKey):
        sig = key.sign(signing_input, padding.PKCS1v15(), _HASHES[alg]())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(_HASHES[alg]())))
        size = (key.curve.key_size + 7) // 8
        sig = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        sig = key.sign(signing_input)
    return f"{signing_input.decode()}.{b64url(sig)}"


def unsigned(claims: dict[str, Any], header: dict[str, Any] | None = None, signature: bytes = b"") -> str:
    """Return a token with ``header`` (default ``alg: none``) and the given raw signature."""
    head = header if header is not None else {"alg": "none", "typ": "JWT"}
    return f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(claims).encode())}.{b64url(signature)}"
