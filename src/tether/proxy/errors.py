"""Typed errors of the proxy path; ``rescue`` turns each into a response with its flag."""

from __future__ import annotations


class ProxyError(Exception):
    """An exchange that cannot be completed; carries the status, flag and detail to answer with."""

    status = 503
    flag = "-"
    detail = "service unavailable"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail


class NoRoute(ProxyError):
    status, flag, detail = 404, "NR", "no route"


class NoHealthyUpstream(ProxyError):
    status, flag, detail = 503, "UH", "no healthy upstream"


class UpstreamConnectFailure(ProxyError):
    status, flag = 503, "UF"
    detail = "upstream connect error or disconnect/reset before headers. reset reason: connection failure"


class UpstreamReset(ProxyError):
    status, flag = 503, "UC"
    detail = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"


class UpstreamTimeout(ProxyError):
    status, flag, detail = 504, "UT", "upstream request timeout"


class UpstreamProtocolError(ProxyError):
    status, flag, detail = 502, "UPE", "upstream sent a malformed response"


class DownstreamBodyError(ProxyError):
    status, flag, detail = 400, "DPE", "request body incomplete"
