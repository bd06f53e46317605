"""JWT verification: algorithms, keys, time, issuer, audiences, and the attacks it refuses."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from typing import Any

import pytest

from tether.proxy.authz import verify as v
from tether.proxy.authz.signing import b64url, jwks, new_key, public_jwk, sign, unsigned

ISS = "https://idp.example"
NOW = 1_800_000_000.0
RSA = new_key("RS256")
EC = new_key("ES256")
ED = new_key("EdDSA")
KEYS = v.parse_jwks(jwks(public_jwk(RSA, "r1"), public_jwk(EC, "e1"), public_jwk(ED, "d1")))


def claims(**extra: Any) -> dict[str, Any]:
    return {"iss": ISS, "sub": "alice", "exp": NOW + 600, **extra}


def check(token: str, audiences: tuple[str, ...] = (), keys: tuple[v.Jwk, ...] = KEYS) -> v.Verified:
    return v.verify(v.parse_token(token), ISS, audiences, keys, NOW)


@pytest.mark.parametrize(("key", "alg", "kid"), [(RSA, "RS256", "r1"), (EC, "ES256", "e1"), (ED, "EdDSA", "d1")])
def test_each_algorithm_verifies(key: Any, alg: str, kid: str) -> None:
    out = check(sign(claims(azp="web", aud=["a", "b"]), key, alg, kid))
    assert (out.principal, out.presenter, out.audiences) == (f"{ISS}/alice", "web", ("a", "b"))


def test_without_kid_every_fitting_key_is_tried() -> None:
    assert check(sign(claims(), EC, "ES256")).subject == "alice"


@pytest.mark.parametrize(("extra", "message"), [
    ({"exp": NOW - 61}, v.EXPIRED),
    ({"nbf": NOW + 61}, v.NOT_YET_VALID),
    ({"iss": "https://evil.example"}, v.UNKNOWN_ISSUER),
    ({"exp": "soon"}, v.BAD_FORMAT),
])
def test_claims_refused(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(v.JwtError) as err:
        check(sign(claims(**extra), RSA, "RS256", "r1"))
    assert err.value.message == message


def test_clock_skew_is_tolerated() -> None:
    assert check(sign(claims(exp=NOW - 30, nbf=NOW + 30), RSA, "RS256", "r1")).subject == "alice"


def test_audiences() -> None:
    token = sign(claims(aud="order-api"), RSA, "RS256", "r1")
    assert check(token, ("order-api", "other")).audiences == ("order-api",)
    with pytest.raises(v.JwtError, match="Audiences in Jwt are not allowed"):
        check(token, ("billing",))
    with pytest.raises(v.JwtError, match="Audiences"):
        check(sign(claims(), RSA, "RS256", "r1"), ("order-api",))


def test_tampered_payload_fails_verification() -> None:
    head, _, sig = sign(claims(), RSA, "RS256", "r1").split(".")
    forged = b64url(json.dumps(claims(sub="root")).encode())
    with pytest.raises(v.JwtError) as err:
        check(f"{head}.{forged}.{sig}")
    assert (err.value.message, err.value.unknown_key) == (v.VERIFICATION_FAILS, False)


def test_key_of_another_signer_fails() -> None:
    with pytest.raises(v.JwtError, match="Jwt verification fails"):
        check(sign(claims(), new_key("RS256"), "RS256", "r1"))


def test_unknown_kid_is_flagged() -> None:
    with pytest.raises(v.JwtError) as err:
        check(sign(claims(), RSA, "RS256", "rotated"))
    assert (err.value.message, err.value.unknown_key) == (v.NO_KEY, True)


def test_alg_none_is_refused() -> None:
    with pytest.raises(v.JwtError, match=r"\[alg\] is not supported"):
        check(unsigned(claims()))


def test_hmac_with_the_public_key_is_refused() -> None:
    # The classic confusion: sign HS256 with the RSA public key's bytes as the secret.
    secret = json.dumps(public_jwk(RSA, "r1")).encode()
    head = b64url(json.dumps({"alg": "HS256", "kid": "r1"}).encode())
    body = b64url(json.dumps(claims()).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    with pytest.raises(v.JwtError, match=r"\[alg\] is not supported"):
        check(f"{head}.{body}.{b64url(mac)}")


def test_alg_must_fit_the_key() -> None:
    # An RS256 header pointing at the EC key's kid finds no key.
    with pytest.raises(v.JwtError, match="doesn't have key"):
        check(sign(claims(), RSA, "RS256", "e1"))


def test_es256_signature_of_wrong_length_fails() -> None:
    head, body, _ = sign(claims(), EC, "ES256", "e1").split(".")
    with pytest.raises(v.JwtError, match="verification fails"):
        check(f"{head}.{body}.{b64url(b'x' * 70)}")


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!.e30.", "e30.W10.", "e30.e30.a+b"])
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(v.JwtError, match=r"Header\.Payload\.Signature"):
        v.parse_token(token)


def test_jwks_skips_symmetric_foreign_and_broken_keys() -> None:
    text = json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}, {"kty": "RSA", "kid": "x", "n": "!!", "e": "AQAB"},
                                {**public_jwk(RSA, "enc"), "use": "enc"}, "junk", public_jwk(ED, "ok")]})
    assert [k.kid for k in v.parse_jwks(text)] == ["ok"]
    assert v.parse_jwks("") == ()
    with pytest.raises(ValueError, match="keys"):
        v.parse_jwks("[]")


def test_jwk_alg_restricts_use() -> None:
    keys = v.parse_jwks(jwks({**public_jwk(RSA, "r1"), "alg": "RS512"}))
    with pytest.raises(v.JwtError, match="doesn't have key"):
        check(sign(claims(), RSA, "RS256", "r1"), keys=keys)


def test_cryptography_is_imported_by_the_first_key_set_only() -> None:
    code = f"""
import sys
from tether.proxy.authz import verify as v
def loaded(): return any(m.partition(".")[0] == "cryptography" for m in sys.modules)
assert v.parse_jwks("") == () and v.parse_jwks('{{"keys": [{{"kty": "oct", "k": "c2VjcmV0"}}]}}') == ()
for bad in ({sign(claims(), EC, "ES256", "e1")!r}, {unsigned(claims())!r}):
    try:
        v.verify(v.parse_token(bad), "iss", (), (), 0.0)
    except v.JwtError:
        pass
assert not loaded()
assert len(v.parse_jwks({jwks(public_jwk(EC, "e1"))!r})) == 1 and loaded()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
