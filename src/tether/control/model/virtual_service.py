"""Istio ``VirtualService`` (networking.istio.io v1alpha3/v1beta1/v1), field names as on the wire."""

from __future__ import annotations

from typing import Literal

from tether.control.model.values import Duration, Percent, Struct


class StringMatch(Struct, frozen=True):
    """Exactly one of ``exact``/``prefix``/``regex`` (an empty one means "present" for headers)."""

    exact: str | None = None
    prefix: str | None = None
    regex: str | None = None


class PortSelector(Struct, frozen=True):
    number: int | None = None


class Destination(Struct, frozen=True):
    host: str
    subset: str | None = None
    port: PortSelector | None = None


class HeaderOperations(Struct, frozen=True):
    set: dict[str, str] = {}
    add: dict[str, str] = {}
    remove: tuple[str, ...] = ()


class Headers(Struct, frozen=True):
    request: HeaderOperations | None = None
    response: HeaderOperations | None = None


class HTTPMatchRequest(Struct, frozen=True):
    name: str | None = None
    uri: StringMatch | None = None
    scheme: StringMatch | None = None
    method: StringMatch | None = None
    authority: StringMatch | None = None
    headers: dict[str, StringMatch] = {}
    port: int | None = None
    source_labels: dict[str, str] = {}
    gateways: tuple[str, ...] = ()
    query_params: dict[str, StringMatch] = {}
    ignore_uri_case: bool | None = None
    without_headers: dict[str, StringMatch] = {}
    source_namespace: str | None = None
    stat_prefix: str | None = None


class HTTPRouteDestination(Struct, frozen=True):
    destination: Destination
    weight: int | None = None
    headers: Headers | None = None


class HTTPRedirect(Struct, frozen=True):
    uri: str | None = None
    authority: str | None = None
    port: int | None = None
    derive_port: Literal["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"] | None = None
    scheme: str | None = None
    redirect_code: int | None = None


class HTTPBody(Struct, frozen=True):
    string: str | None = None
    bytes: str | None = None


class HTTPDirectResponse(Struct, frozen=True):
    status: int
    body: HTTPBody | None = None


class Delegate(Struct, frozen=True):
    name: str | None = None
    namespace: str | None = None


class RegexRewrite(Struct, frozen=True):
    match: str
    rewrite: str


class HTTPRewrite(Struct, frozen=True):
    uri: str | None = None
    authority: str | None = None
    uri_regex_rewrite: RegexRewrite | None = None


class HTTPRetry(Struct, frozen=True):
    attempts: int | None = None
    per_try_timeout: Duration | None = None
    retry_on: str | None = None
    retry_remote_localities: bool | None = None
    retry_ignore_previous_hosts: bool | None = None
    backoff: Duration | None = None


class FaultDelay(Struct, frozen=True):
    fixed_delay: Duration | None = None
    exponential_delay: Duration | None = None
    percentage: Percent | None = None
    percent: int | None = None  # deprecated in Istio, still accepted


class FaultAbort(Struct, frozen=True):
    http_status: int | None = None
    grpc_status: str | None = None
    http2_error: str | None = None
    percentage: Percent | None = None
    percent: int | None = None  # deprecated in Istio, still accepted (the book's listing uses it)


class HTTPFaultInjection(Struct, frozen=True):
    delay: FaultDelay | None = None
    abort: FaultAbort | None = None


class HTTPMirrorPolicy(Struct, frozen=True):
    destination: Destination
    percentage: Percent | None = None


class CorsPolicy(Struct, frozen=True):
    allow_origins: tuple[StringMatch, ...] = ()
    allow_origin: tuple[str, ...] = ()  # deprecated in Istio, still accepted
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: Duration | None = None
    allow_credentials: bool | None = None
    unmatched_preflights: Literal["UNSPECIFIED", "FORWARD", "IGNORE"] | None = None


class HTTPRoute(Struct, frozen=True):
    """One entry of ``spec.http``: the first whose ``match`` holds handles the request."""

    name: str | None = None
    match: tuple[HTTPMatchRequest, ...] = ()
    route: tuple[HTTPRouteDestination, ...] = ()
    redirect: HTTPRedirect | None = None
    direct_response: HTTPDirectResponse | None = None
    delegate: Delegate | None = None
    rewrite: HTTPRewrite | None = None
    timeout: Duration | None = None
    retries: HTTPRetry | None = None
    fault: HTTPFaultInjection | None = None
    mirror: Destination | None = None
    mirror_percentage: Percent | None = None
    mirror_percent: int | None = None  # deprecated in Istio, still accepted
    mirrors: tuple[HTTPMirrorPolicy, ...] = ()
    cors_policy: CorsPolicy | None = None
    headers: Headers | None = None


class RouteDestination(Struct, frozen=True):
    destination: Destination
    weight: int | None = None


class TLSMatchAttributes(Struct, frozen=True):
    sni_hosts: tuple[str, ...] = ()
    destination_subnets: tuple[str, ...] = ()
    port: int | None = None
    source_labels: dict[str, str] = {}
    gateways: tuple[str, ...] = ()
    source_namespace: str | None = None


class TLSRoute(Struct, frozen=True):
    match: tuple[TLSMatchAttributes, ...] = ()
    route: tuple[RouteDestination, ...] = ()


class L4MatchAttributes(Struct, frozen=True):
    destination_subnets: tuple[str, ...] = ()
    port: int | None = None
    source_subnet: str | None = None
    source_labels: dict[str, str] = {}
    gateways: tuple[str, ...] = ()
    source_namespace: str | None = None


class TCPRoute(Struct, frozen=True):
    match: tuple[L4MatchAttributes, ...] = ()
    route: tuple[RouteDestination, ...] = ()


class VirtualServiceSpec(Struct, frozen=True):
    """``spec`` of a VirtualService."""

    hosts: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    http: tuple[HTTPRoute, ...] = ()
    tls: tuple[TLSRoute, ...] = ()
    tcp: tuple[TCPRoute, ...] = ()
    export_to: tuple[str, ...] = ()

