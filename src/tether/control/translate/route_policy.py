"""VirtualService route settings → snapshot route policies (retries, faults, mirrors, ...)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import msgspec

from tether.control.model import virtual_service as vs
from tether.control.model.values import Percent
from tether.core.schema.snapshot import (
    CorsPolicy,
    DirectResponse,
    FaultPolicy,
    HeaderOps,
    MirrorPolicy,
    Redirect,
    RetryPolicy,
    StringMatch,
)

ClusterFor = Callable[[vs.Destination, str, int], str]


DEFAULT_RETRY = RetryPolicy()


def retry_policy(r: vs.HTTPRetry | None) -> RetryPolicy | None:
    """Return the retry policy of a route's ``retries``.

    As in Istio: no ``retries`` at all is the default policy (2 retries on connect-failure,
    refused-stream, unavailable, cancelled and 503); ``attempts`` 0 or unset disables retries
    (None). Bare status codes in ``retryOn`` (``503``) become ``retriable_status_codes`` and turn
    on ``retriable-status-codes``; ``backoff`` is the base interval, its maximum ten times that.
    """
    if r is None:
        return DEFAULT_RETRY
    if not r.attempts or r.attempts <= 0:
        return None
    retry_on = DEFAULT_RETRY.retry_on
    codes = DEFAULT_RETRY.retriable_status_codes
    if r.retry_on:
        tokens = [t.strip() for t in r.retry_on.split(",") if t.strip()]
        codes = tuple(dict.fromkeys(int(t) for t in tokens if t.isdigit()))
        names = list(dict.fromkeys(t for t in tokens if not t.isdigit()))
        if codes and "retriable-status-codes" not in names:
            names.append("retriable-status-codes")
        retry_on = tuple(names)
    base = r.backoff.ms if r.backoff is not None else DEFAULT_RETRY.backoff_base_ms
    per_try = r.per_try_timeout.ms if r.per_try_timeout is not None and r.per_try_timeout.ms > 0 else None
    return RetryPolicy(
        attempts=r.attempts,
        per_try_timeout_ms=per_try,
        retry_on=retry_on,
        retriable_status_codes=codes,
        backoff_base_ms=base,
        backoff_max_ms=base * 10 if r.backoff is not None else DEFAULT_RETRY.backoff_max_ms,
    )


def _percent(p: Percent | None, deprecated: int | None) -> float:
    if p is not None:
        return p.value
    return float(deprecated) if deprecated is not None else 100.0


def fault_policy(f: vs.HTTPFaultInjection | None) -> FaultPolicy | None:
    """Return the fault policy (fixed delays and HTTP aborts; None when nothing applies)."""
    if f is None:
        return None
    delay = f.delay.fixed_delay if f.delay is not None else None
    status = f.abort.http_status if f.abort is not None else None
    if delay is None and status is None:
        return None
    # Only what the resource sets is passed: the schema's defaults stay out of the snapshot.
    fields: dict[str, Any] = {}
    if delay is not None and f.delay is not None:
        fields.update(delay_ms=delay.ms, delay_percent=_percent(f.delay.percentage, f.delay.percent))
    if status is not None and f.abort is not None:
        fields.update(abort_status=status, abort_percent=_percent(f.abort.percentage, f.abort.percent))
    return msgspec.convert(fields, FaultPolicy)


def header_ops(h: vs.HeaderOperations | None) -> HeaderOps | None:
    """Return the header operations (names lower-cased), or None when there are none."""
    if h is None or not (h.set or h.add or h.remove):
        return None
    return HeaderOps(
        set={k.lower(): v for k, v in sorted(h.set.items())},
        add={k.lower(): v for k, v in sorted(h.add.items())},
        remove=tuple(k.lower() for k in h.remove),
    )


def mirrors(hr: vs.HTTPRoute, namespace: str, port: int, cluster_for: ClusterFor) -> tuple[MirrorPolicy, ...]:
    """Return the mirror targets of a route (``mirror`` or ``mirrors[]``)."""
    out = []
    if hr.mirror is not None:
        out.append(MirrorPolicy(cluster=cluster_for(hr.mirror, namespace, port),
                                percent=_percent(hr.mirror_percentage, hr.mirror_percent)))
    for m in hr.mirrors:
        out.append(MirrorPolicy(cluster=cluster_for(m.destination, namespace, port),
                                percent=_percent(m.percentage, None)))
    return tuple(out)


def redirect(r: vs.HTTPRedirect | None) -> Redirect | None:
    """Return the redirect of a route (status ``redirectCode``, 301 by default).

    ``derivePort: FROM_PROTOCOL_DEFAULT`` is 80 (443 for ``https``); ``FROM_REQUEST_PORT`` and
    no port keep the request's port.
    """
    if r is None:
        return None
    port = r.port
    if port is None and r.derive_port == "FROM_PROTOCOL_DEFAULT":
        port = 443 if (r.scheme or "").lower() == "https" else 80
    return Redirect(uri=r.uri, authority=r.authority, scheme=r.scheme, port=port,
                    status=r.redirect_code or 301)


def direct_response(d: vs.HTTPDirectResponse | None) -> DirectResponse | None:
    """Return the fixed response of a route; a ``bytes`` body (base64) is decoded as UTF-8."""
    if d is None:
        return None
    body = ""
    if d.body is not None and d.body.string is not None:
        body = d.body.string
    elif d.body is not None and d.body.bytes is not None:
        try:
            body = base64.b64decode(d.body.bytes).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            body = d.body.bytes
    return DirectResponse(status=d.status, body=body)


def cors(c: vs.CorsPolicy | None) -> CorsPolicy | None:
    """Return the CORS policy (the deprecated ``allowOrigin`` strings are exact origins, ``*`` any)."""
    if c is None:
        return None
    origins = [StringMatch(exact=o.exact, prefix=o.prefix, regex=o.regex) for o in c.allow_origins]
    if not origins:
        # The deprecated list: exact origins, "*" any origin (allowOrigins wins when both are set).
        origins = [StringMatch(prefix="") if o == "*" else StringMatch(exact=o) for o in c.allow_origin]
    return CorsPolicy(
        allow_origins=tuple(origins),
        allow_methods=c.allow_methods,
        allow_headers=c.allow_headers,
        expose_headers=c.expose_headers,
        max_age_s=c.max_age.ms // 1000 if c.max_age is not None else None,
        allow_credentials=bool(c.allow_credentials),
    )
