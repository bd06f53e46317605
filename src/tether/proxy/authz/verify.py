"""JWT verification, pure: key sets (JWKS) parsed once, tokens checked against one issuer.

Only asymmetric algorithms are accepted (RS256/384/512, ES256/384, EdDSA with Ed25519): a
token saying ``none`` or ``HS*`` is refused before any key is looked at, so a public key can
never be used as an HMAC secret. Failures carry Envoy's jwt_authn messages, which the proxy
returns as the 401 body.

``cryptography`` (about 10 MB resident) is imported by the first key set or signature that
needs it, so a proxy whose config has no JWT provider never loads it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

CLOCK_SKEW_S = 60  # Envoy's default clock_skew_seconds

BAD_FORMAT = "Jwt is not in the form of Header.Payload.Signature"
BAD_ALG = "Jwt header [alg] is not supported"
EXPIRED = "Jwt is expired"
NOT_YET_VALID = "Jwt not yet valid"
VERIFICATION_FAILS = "Jwt verification fails"
UNKNOWN_ISSUER = "Jwt issuer is not configured"
AUDIENCE = "Audiences in Jwt are not allowed"
NO_KEY = "Jwks doesn't have key to match kid or alg from Jwt"

_HASH_BITS = {"RS256": 256, "RS384": 384, "RS512": 512, "ES256": 256, "ES384": 384}  # SHA-2 size per alg
_CURVES = {"ES256": ("P-256", 32), "ES384": ("P-384", 48)}
_EC_CURVE_NAMES = frozenset({"P-256", "P-384"})
SUPPORTED_ALGS = frozenset({*_HASH_BITS, "EdDSA"})


class JwtError(Exception):
    """A token that must be refused (401). ``unknown_key``: no key of the set fits its kid/alg,
    which a fresher key set might fix."""

    def __init__(self, message: str, unknown_key: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unknown_key = unknown_key


@dataclass(frozen=True, slots=True)
class Jwk:
    """One usable public key of a key set."""

    kid: str
    kty: str
    alg: str
    crv: str
    key: PublicKey


def b64url_decode(text: str) -> bytes:
    """Return the bytes of unpadded base64url ``text``; raises ValueError if it is not that."""
    if any(c in text for c in "+/= \t\r\n"):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(jwk: dict[str, Any], name: str) -> int:
    return int.from_bytes(b64url_decode(str(jwk[name])), "big")


def _public_key(jwk: dict[str, Any]) -> PublicKey | None:
    kty = jwk.get("kty")
    if kty == "RSA":
        from cryptography.hazmat.primitives.asymmetric import rsa

        return rsa.RSAPublicNumbers(_int(jwk, "e"), _int(jwk, "n")).public_key()
    if kty == "EC" and jwk.get("crv") in _EC_CURVE_NAMES:
        from cryptography.hazmat.primitives.asymmetric import ec

        curve = ec.SECP256R1() if jwk["crv"] == "P-256" else ec.SECP384R1()
        return ec.EllipticCurvePublicNumbers(_int(jwk, "x"), _int(jwk, "y"), curve).public_key()
    if kty == "OKP" and jwk.get("crv") == "Ed25519":
        from cryptography.hazmat.primitives.asymmetric import ed25519

        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk["x"])))
    return None  # symmetric ("oct") and unknown key types are never used


def parse_jwks(text: str) -> tuple[Jwk, ...]:
    """Return the usable public keys of the JWKS ``text`` ("" is an empty set); keys that are
    symmetric, not for signing, or malformed are skipped. Raises ValueError if ``text`` is
    not a JSON object with a ``keys`` list."""
    if not text.strip():
        return ()
    doc = json.loads(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError('a JWKS is a JSON object with a "keys" list')
    out = []
    for jwk in doc["keys"]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        try:
            key = _public_key(jwk)
        except (KeyError, ValueError, TypeError, binascii.Error):
            continue
        if key is not None:
            out.append(Jwk(kid=str(jwk.get("kid", "")), kty=str(jwk["kty"]), alg=str(jwk.get("alg", "")),
                           crv=str(jwk.get("crv", "")), key=key))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Token:
    """A token split and decoded, not yet trusted."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes
    payload_segment: str

    @property
    def issuer(self) -> str:
        """Return the (unverified) ``iss`` claim, "" when absent."""
        iss = self.claims.get("iss")
        return iss if isinstance(iss, str) else ""


def parse_token(token: str) -> Token:
    """Return ``token`` decoded; raises JwtError if it is not three base64url JSON parts."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError(BAD_FORMAT)
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise JwtError(BAD_FORMAT) from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError(BAD_FORMAT)
    return Token(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature, parts[1])


def _fits(jwk: Jwk, alg: str) -> bool:
    if jwk.alg and jwk.alg != alg:
        return False
    if alg == "EdDSA":
        return jwk.kty == "OKP"
    if alg in _CURVES:
        return jwk.kty == "EC" and jwk.crv == _CURVES[alg][0]
    return jwk.kty == "RSA"


def _hash(alg: str) -> hashes.HashAlgorithm:
    from cryptography.hazmat.primitives import hashes

    bits = _HASH_BITS[alg]
    return hashes.SHA256() if bits == 256 else hashes.SHA384() if bits == 384 else hashes.SHA512()


def _signature_ok(jwk: Jwk, alg: str, token: Token) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    data, sig, key = token.signing_input, token.signature, jwk.key
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            size = _CURVES[alg][1]
            if len(sig) != 2 * size:
                return False
            der = encode_dss_signature(int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big"))
            key.verify(der, data, ec.ECDSA(_hash(alg)))
        else:
            key.verify(sig, data, padding.PKCS1v15(), _hash(alg))
    except InvalidSignature:
        return False
    return True


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JwtError(BAD_FORMAT)
    return float(value)


@dataclass(frozen=True, slots=True)
class Verified:
    """A token that passed: its claims and what authorization reads from them."""

    issuer: str
    subject: str
    claims: dict[str, Any] = field(default_factory=dict)
    audiences: tuple[str, ...] = ()
    presenter: str = ""
    payload_segment: str = ""

    @property
    def principal(self) -> str:
        """Return Istio's request principal ``<iss>/<sub>``."""
        return f"{self.issuer}/{self.subject}"


def verify(token: Token, issuer: str, audiences: tuple[str, ...], keys: tuple[Jwk, ...], now: float,
           skew: float = CLOCK_SKEW_S) -> Verified:
    """Return ``token`` verified for ``issuer`` at ``now`` (epoch seconds).

    Raises JwtError: bad algorithm, no fitting key (``unknown_key``), bad signature, wrong
    issuer, expired or not yet valid (beyond ``skew``), or none of ``audiences`` (when set).
    """
    alg = token.header.get("alg")
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGS:
        raise JwtError(BAD_ALG)
    kid = token.header.get("kid")
    candidates = [k for k in keys if _fits(k, alg) and (not isinstance(kid, str) or k.kid == kid)]
    if not candidates:
        raise JwtError(NO_KEY, unknown_key=True)
    if not any(_signature_ok(k, alg, token) for k in candidates):
        raise JwtError(VERIFICATION_FAILS)
    if token.issuer != issuer:
        raise JwtError(UNKNOWN_ISSUER)
    exp, nbf = _number(token.claims, "exp"), _number(token.claims, "nbf")
    if exp is not None and now > exp + skew:
        raise JwtError(EXPIRED)
    if nbf is not None and now + skew < nbf:
        raise JwtError(NOT_YET_VALID)
    aud = token.claims.get("aud")
    token_auds = (aud,) if isinstance(aud, str) else tuple(a for a in aud if isinstance(a, str)) \
        if isinstance(aud, list) else ()
    if audiences and not set(audiences) & set(token_auds):
        raise JwtError(AUDIENCE)
    sub, azp = token.claims.get("sub"), token.claims.get("azp")
    return Verified(issuer=issuer, subject=sub if isinstance(sub, str) else "", claims=token.claims,
                    audiences=token_auds, presenter=azp if isinstance(azp, str) else "",
                    payload_segment=token.payload_segment)
