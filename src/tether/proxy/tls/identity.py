"""The proxy's workload certificate: key and CSR from a child process (``keygen``), CSR to the
control plane, rotation.

``IdentityManager.run`` asks for a certificate at start, then again at 70 % of each
certificate's lifetime (with a little jitter, so proxies started together do not renew
together). A failed request is retried with a jittered backoff, never later than the
current certificate's expiry allows. Each new certificate goes to ``MeshTls`` for new
connections; open connections keep theirs. The certificate's identity and expiry come
from the control plane's answer (``spiffe_id``, ``expires``): the proxy never parses X.509.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from tether.client.aio import Control, ControlError
from tether.core.backoff import Backoff
from tether.core.clock import Clock
from tether.proxy.tls import keygen
from tether.proxy.tls.contexts import Credentials
from tether.proxy.tls.jointoken import read_claims
from tether.proxy.tls.keygen import KeygenFailed
from tether.proxy.tls.spiffe import BadIdentity, SpiffeId, make_id, parse_id

log = logging.getLogger(__name__)

RENEW_AT = 0.7  # share of the lifetime after which a certificate is renewed
JITTER = 0.05  # +- share of the lifetime
SIGN_PATH = "/v1/ca/sign"


def renew_delay(not_after: float, received_at: float, rng: random.Random) -> float:
    """Return the seconds to wait before renewing a certificate valid until ``not_after``, received at
    ``received_at``: 70 % (+-5 %) of the lifetime left then. (Counting from receipt rather than from
    ``notBefore``, which the CA backdates for clock skew, keeps short lifetimes renewing on time.)"""
    life = max(0.0, not_after - received_at)
    return life * (RENEW_AT + rng.uniform(-JITTER, JITTER))


def identity_of_token(token: str) -> SpiffeId:
    """Return the identity ``token`` grants (read from its payload); raises InvalidToken or BadIdentity."""
    claims = read_claims(token)
    return make_id(claims.td, claims.ns, claims.sa)


async def request_certificate(control: Control, token: str, ident: SpiffeId) -> Credentials:
    """Return fresh credentials (a new key) for ``ident`` signed by the control plane ``control``
    (``token`` in the body and as the Bearer credential).

    Raises KeygenFailed when no key could be made, OSError/TimeoutError when the control plane
    is unreachable, ControlError when it refuses, BadIdentity when the answer does not name
    ``ident``, ValueError when it is malformed.
    """
    made = await keygen.generate(ident)
    body = {"token": token, "csr": made.csr_pem}
    answer = await control.with_token(token).request_json("POST", SIGN_PATH, body)
    return credentials_of(answer, made.key_pem, ident)


class Signed(msgspec.Struct, frozen=True):
    """The fields of a ``/v1/ca/sign`` answer the proxy uses (docs/security.md)."""

    certificate: str
    trust_bundle: tuple[str, ...]
    spiffe_id: str
    expires: float


def credentials_of(answer: Any, key_pem: bytes, ident: SpiffeId) -> Credentials:
    """Return the credentials in a ``/v1/ca/sign`` answer for ``key_pem``, asked for ``ident``.

    Raises BadIdentity when the answer names another identity or holds no certificate,
    msgspec.ValidationError (a ValueError) when a field is missing or malformed.
    """
    signed = msgspec.convert(answer, type=Signed)
    got = parse_id(signed.spiffe_id)
    if got != ident:
        raise BadIdentity(f"the control plane issued {got.uri}, expected {ident.uri}")
    if not signed.certificate.startswith("-----BEGIN CERTIFICATE-----"):
        raise BadIdentity("the control plane's answer holds no PEM certificate")
    return Credentials(chain_pem=signed.certificate, key_pem=key_pem, bundle=signed.trust_bundle, identity=got,
                       not_after=signed.expires)


class IdentityManager:
    """Keeps ``install`` supplied with a valid certificate for the token's identity."""

    def __init__(self, control: Control, token: str, install: Callable[[Credentials], None], clock: Clock,
                 rng: random.Random) -> None:
        self.control = control
        self.token = token
        self.identity = identity_of_token(token)
        self.install = install
        self.clock = clock
        self.rng = rng
        self.ready = asyncio.Event()
        self.current: Credentials | None = None
        self.renewals = 0
        self.failures = 0

    async def renew(self) -> Credentials:
        """Ask for a certificate now and install it; raises what ``request_certificate`` raises."""
        creds = await request_certificate(self.control, self.token, self.identity)
        self.install(creds)
        self.current = creds
        self.renewals += 1
        self.ready.set()
        log.info("workload certificate for %s valid until %s", self.identity.uri,
                 datetime.fromtimestamp(creds.not_after, UTC).isoformat())
        return creds

    async def run(self) -> None:
        """Renew forever (until cancelled), retrying failures with backoff."""
        backoff = Backoff(0.1, 5.0, self.rng)
        while True:
            try:
                creds = await self.renew()
            except asyncio.CancelledError:
                raise
            except ControlError as exc:
                self.failures += 1
                level = logging.ERROR if exc.status in (401, 403) else logging.WARNING
                log.log(level, "certificate for %s refused by the control plane: %s", self.identity.uri, exc)
                await asyncio.sleep(self._retry_delay(backoff))
                continue
            except (OSError, TimeoutError, BadIdentity, KeygenFailed, ValueError) as exc:
                self.failures += 1
                log.warning("could not get a certificate for %s: %s", self.identity.uri, exc)
                await asyncio.sleep(self._retry_delay(backoff))
                continue
            backoff.reset()
            await asyncio.sleep(renew_delay(creds.not_after, self.clock.wall(), self.rng))

    def _retry_delay(self, backoff: Backoff) -> float:
        delay = backoff.next_delay()
        if self.current is not None:
            # Never sleep past the expiry of the certificate in use.
            delay = min(delay, max(0.05, (self.current.not_after - self.clock.wall()) / 4))
        return delay
