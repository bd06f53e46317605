"""Inbound JWT authentication (RequestAuthentication): verify a token if the request has one.

The token is looked for where each provider says (default ``Authorization: Bearer <token>``
and the ``access_token`` query parameter). No token: the request goes on unauthenticated
(an AuthorizationPolicy may still require ``requestPrincipals``). A token that does not
verify: ``401`` with Envoy's reason as the body and ``www-authenticate: Bearer ...
error="invalid_token"``. A verified token sets the request principal ``<iss>/<sub>`` for
authorization, is removed from its header unless ``forwardOriginalToken``, and may copy
claims (``outputClaimToHeaders``) or the payload (``outputPayloadToHeader``) to headers;
those headers are always removed from what the client sent, so they cannot be forged.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from tether.client.aio import Control, ControlError, control_endpoint
from tether.core.clock import SYSTEM_CLOCK, Clock
from tether.core.schema.security import JwtHeaderLocation, JwtProvider
from tether.core.schema.snapshot import Snapshot
from tether.core.tasks import TaskGroup
from tether.proxy.authz.engine import RequestAuth
from tether.proxy.authz.verify import UNKNOWN_ISSUER, Jwk, JwtError, Verified, parse_jwks, parse_token, verify
from tether.proxy.chain import Filter, Handler
from tether.proxy.codec.http1 import Headers
from tether.proxy.exchange import Exchange, Response
from tether.proxy.filters.authz import REQUEST_AUTH, extras
from tether.proxy.routing import RoutingTable

log = logging.getLogger(__name__)

DEFAULT_HEADER = JwtHeaderLocation(name="authorization", prefix="Bearer ")
DEFAULT_PARAM = "access_token"

UnknownKeyHook = Callable[[str, str], None]  # (issuer, jwks_uri)


@dataclass(frozen=True, slots=True)
class _Provider:
    spec: JwtProvider
    keys: tuple[Jwk, ...]
    headers: tuple[JwtHeaderLocation, ...]
    params: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Found:
    """A token and where it was: ``("header", name)``, ``("param", name)`` or ``("cookie", name)``."""

    token: str
    where: str
    name: str


def _compile(p: JwtProvider) -> _Provider:
    try:
        keys = parse_jwks(p.jwks)
    except ValueError as exc:
        log.error("JWKS of issuer %s is unusable, its tokens will be refused: %s", p.issuer, exc)
        keys = ()
    default = not (p.from_headers or p.from_params or p.from_cookies)
    headers = (DEFAULT_HEADER,) if default else tuple(
        JwtHeaderLocation(name=h.name.lower(), prefix=h.prefix) for h in p.from_headers)
    return _Provider(p, keys, headers, (DEFAULT_PARAM,) if default else p.from_params)


def _cookies(headers: Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in headers.get_all(b"cookie"):
        for part in value.decode("latin-1").split(";"):
            name, sep, val = part.strip().partition("=")
            if sep:
                out.setdefault(name, val)
    return out


def find_token(ex: Exchange, providers: tuple[_Provider, ...]) -> Found | None:
    """Return the first token in the places ``providers`` name, in their order, or None."""
    query = dict(parse_qsl(ex.path.decode("latin-1").partition("?")[2], keep_blank_values=True))
    cookies: dict[str, str] | None = None
    for p in providers:
        for h in p.headers:
            raw = ex.headers.get(h.name.encode("latin-1"))
            if raw is None:
                continue
            value = raw.decode("latin-1")
            if h.prefix and not value.lower().startswith(h.prefix.lower()):
                continue
            token = value[len(h.prefix):].strip()
            if token:
                return Found(token, "header", h.name)
        for name in p.params:
            if query.get(name):
                return Found(query[name], "param", name)
        if p.spec.from_cookies:
            cookies = _cookies(ex.headers) if cookies is None else cookies
            for name in p.spec.from_cookies:
                if cookies.get(name):
                    return Found(cookies[name], "cookie", name)
    return None


def _claim_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def unauthorized(ex: Exchange, message: str) -> Response:
    """Return Envoy's 401 for a token that does not verify, with ``message`` as the body."""
    realm = f"http://{(ex.headers.get(b'host') or b'').decode('latin-1')}{ex.path.decode('latin-1').partition('?')[0]}"
    body = message.encode()
    headers = Headers([
        (b"www-authenticate", f'Bearer realm="{realm}", error="invalid_token"'.encode("latin-1")),
        (b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode()),
    ])
    extras(ex)["response_code_details"] = "jwt_authn_access_denied{" + message.replace(" ", "_") + "}"
    return Response(401, headers, body)


class JwtStats:
    """Counters: tokens verified, refused, refused for an unknown key; requests without token."""

    def __init__(self) -> None:
        self.verified = 0
        self.refused = 0
        self.unknown_key = 0
        self.missing = 0


class JwtAuthn(Filter):
    """Verifies the request's JWT against the snapshot's providers; answers 401 on failure.

    ``on_unknown_key(issuer, jwks_uri)`` is called when a token names a key the set lacks,
    so the control plane can be asked to refresh that JWKS (it rate-limits the fetches).
    """

    name = "jwt"

    def __init__(self, table: Callable[[], RoutingTable | None], clock: Clock = SYSTEM_CLOCK,
                 on_unknown_key: UnknownKeyHook | None = None) -> None:
        self.table = table
        self.clock = clock
        self.on_unknown_key = on_unknown_key
        self.stats = JwtStats()
        self._snapshot: Snapshot | None = None
        self._providers: tuple[_Provider, ...] = ()
        self._output_headers: tuple[bytes, ...] = ()

    def providers(self) -> tuple[_Provider, ...]:
        """Return the compiled providers of the current snapshot (compiled on first use)."""
        table = self.table()
        snapshot = table.snapshot if table is not None else None
        if snapshot is not self._snapshot:
            config = snapshot.request_authn if snapshot is not None else None
            self._providers = tuple(_compile(p) for p in config.providers) if config is not None else ()
            self._output_headers = tuple(sorted({
                h.encode("latin-1").lower() for p in self._providers
                for h in (p.spec.output_payload_to_header, *(c.header for c in p.spec.output_claim_to_headers)) if h}))
            self._snapshot = snapshot
        return self._providers

    def authenticate(self, ex: Exchange) -> Verified | JwtError | None:
        """Return the verified token of ``ex``, the error refusing it, or None without a token."""
        providers = self.providers()
        for name in self._output_headers:
            ex.headers.remove(name)
        found = find_token(ex, providers) if providers else None
        if found is None:
            self.stats.missing += 1 if providers else 0
            return None
        provider: _Provider | None = None
        try:
            token = parse_token(found.token)
            provider = next((p for p in providers if p.spec.issuer == token.issuer), None)
            if provider is None:
                raise JwtError(UNKNOWN_ISSUER)
            verified = verify(token, provider.spec.issuer, provider.spec.audiences, provider.keys, self.clock.wall())
        except JwtError as exc:
            if exc.unknown_key:
                self.stats.unknown_key += 1
                if self.on_unknown_key is not None and provider is not None:
                    self.on_unknown_key(provider.spec.issuer, provider.spec.jwks_uri)
            return exc
        self._apply(ex, provider.spec, found, verified)
        return verified

    def _apply(self, ex: Exchange, spec: JwtProvider, found: Found, verified: Verified) -> None:
        extras(ex)[REQUEST_AUTH] = RequestAuth(principal=verified.principal, claims=verified.claims,
                                               audiences=verified.audiences, presenter=verified.presenter)
        if not spec.forward_original_token and found.where == "header":
            ex.headers.remove(found.name.encode("latin-1"))
        if spec.output_payload_to_header:
            ex.headers.put(spec.output_payload_to_header.lower().encode("latin-1"),
                           verified.payload_segment.encode("ascii"))
        for ch in spec.output_claim_to_headers:
            text = _claim_text(verified.claims.get(ch.claim))
            if text is not None:
                ex.headers.put(ch.header.lower().encode("latin-1"), text.encode("utf-8"))

    def wrap(self, next_handler: Handler) -> Handler:
        async def jwt(ex: Exchange) -> Response:
            outcome = self.authenticate(ex)
            if isinstance(outcome, JwtError):
                self.stats.refused += 1
                return unauthorized(ex, outcome.message)
            if outcome is not None:
                self.stats.verified += 1
            return await next_handler(ex)

        return jwt


class RefreshReporter:
    """An ``on_unknown_key`` hook asking the control plane to refresh a JWKS
    (``POST /v1/jwks/refresh``, over http or https, with the proxy's join token), at most once
    per ``min_gap`` seconds per URI; the control plane rate-limits too. Failures are logged,
    never raised into a request."""

    def __init__(self, control: Control | str, tasks: TaskGroup, clock: Clock = SYSTEM_CLOCK,
                 min_gap: float = 5.0) -> None:
        self.control = control_endpoint(control) if isinstance(control, str) else control
        self.tasks = tasks
        self.clock = clock
        self.min_gap = min_gap
        self.last: dict[str, float] = {}
        self.sent = 0

    def __call__(self, issuer: str, jwks_uri: str) -> None:
        now = self.clock.monotonic()
        if not jwks_uri or now - self.last.get(jwks_uri, float("-inf")) < self.min_gap:
            return
        self.last[jwks_uri] = now
        self.sent += 1
        self.tasks.spawn("jwks-refresh", self._post(jwks_uri))

    async def _post(self, jwks_uri: str) -> None:
        with contextlib.suppress(OSError, TimeoutError, ControlError):
            await self.control.request_json("POST", "/v1/jwks/refresh", {"uri": jwks_uri}, limit=5.0)
            return
        log.warning("could not ask the control plane to refresh %s", jwks_uri)


def report_unknown_keys(filters: Iterable[Filter], control: Control | str, tasks: TaskGroup) -> None:
    """Make every JWT filter of ``filters`` report unknown key ids to the control plane."""
    reporter = RefreshReporter(control, tasks)
    for flt in filters:
        if isinstance(flt, JwtAuthn):
            flt.on_unknown_key = reporter
