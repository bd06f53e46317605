"""A blocking client of the control API (stdlib http.client; the CLI is synchronous)."""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import msgspec

from tether.client.settings import token_file_path
from tether.client.tls import client_context, describe_tls_failure, parse_control_url, resolve_ca_file
from tether.client.types import (
    AnalyzeResult,
    ApplyResult,
    DeleteResult,
    Health,
    ProxyList,
    StoredResource,
)
from tether.core.errors import TetherError

T = TypeVar("T")


class ControlUnreachable(TetherError):
    """Nothing answers at the control plane's URL."""


class ApiError(TetherError):
    """The control plane answered with an error. ``errors`` holds one line per problem."""

    def __init__(self, status: int, message: str, errors: list[str] | None = None) -> None:
        self.status = status
        self.message = message
        self.errors = errors or []
        super().__init__("\n".join([message, *self.errors]))


class ControlClient:
    """Calls the control API at ``url`` (``http://`` or ``https://``); ``token`` is sent on every
    request when set. An https server is verified with ``ca_file``, else env TETHER_CA_FILE, else
    ``<dir of the admin token file>/ca/root-cert.pem`` when it exists, else the system store."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0, *,
                 ca_file: str | None = None, token_file: str | None = None) -> None:
        scheme, self.host, self.port = parse_control_url(url)
        self.url = f"{scheme}://{self.host}:{self.port}"
        self.token = token
        self.timeout = timeout
        self.ca_file: str | None = None
        self.tls: ssl.SSLContext | None = None
        if scheme == "https":
            self.ca_file = resolve_ca_file(ca_file, token_file_path(token_file))
            self.tls = client_context(self.ca_file)

    def connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        """Return a new (not yet connected) connection to the control plane, TLS for https."""
        limit = self.timeout if timeout is None else timeout
        if self.tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=limit, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=limit)

    def unreachable(self, exc: BaseException) -> ControlUnreachable:
        """Return the one-line error for a connection to the control plane that failed with ``exc``."""
        tls = describe_tls_failure(exc, self.url, self.ca_file)
        if tls is not None:
            return ControlUnreachable(tls)
        if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError)) and self.tls is None:
            return ControlUnreachable(
                f"the control plane at {self.url} closed the connection without an answer; if it runs "
                f"with --tls, use https://{self.host}:{self.port}"
            )
        return ControlUnreachable(
            f"cannot reach the control plane at {self.url} ({exc}); start it with "
            "`tether control` or point --control / TETHER_CONTROL at it"
        )

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request and return the decoded JSON answer.

        Raises ControlUnreachable when the connection fails, ApiError on an error status.
        """
        conn = self.connection()
        headers = {"Accept": "application/json", "Connection": "close"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self.unreachable(exc) from None
        finally:
            conn.close()
        try:
            answer = json.loads(raw or b"null")
        except ValueError:
            raise ApiError(response.status, f"control plane sent non-JSON: {raw[:200]!r}") from None
        if response.status >= 400:
            message = answer.get("error") if isinstance(answer, dict) else None
            errors = answer.get("errors") if isinstance(answer, dict) else None
            raise ApiError(response.status, str(message or f"HTTP {response.status}"), errors)
        return answer

    def _typed(self, typ: type[T], method: str, path: str, body: Any = None) -> T:
        try:
            return msgspec.convert(self.request(method, path, body), typ)
        except msgspec.ValidationError as exc:
            raise ApiError(200, f"unexpected answer from {path}: {exc}") from None

    def health(self) -> Health:
        """Return the control plane's health; raises ControlUnreachable / ApiError."""
        return self._typed(Health, "GET", "/v1/health")

    def list_resources(
        self, kind: str | None = None, namespace: str | None = None
    ) -> list[StoredResource]:
        """Return stored resources, optionally of one kind / namespace."""
        query = {k: v for k, v in (("kind", kind), ("namespace", namespace)) if v}
        path = "/v1/resources" + (f"?{urlencode(query)}" if query else "")
        items = self.request("GET", path).get("items", [])
        try:
            return msgspec.convert(items, list[StoredResource])
        except msgspec.ValidationError as exc:
            raise ApiError(200, f"unexpected answer from {path}: {exc}") from None

    def get_resource(self, kind: str, namespace: str, name: str) -> StoredResource:
        """Return one resource; raises ApiError(404) when it does not exist."""
        path = "/v1/resources/" + "/".join(quote(p, safe="") for p in (kind, namespace, name))
        return self._typed(StoredResource, "GET", path)

    def apply(self, files: list[tuple[str, str]], dry_run: bool = False) -> ApplyResult:
        """Apply every document of ``files`` (source, text) atomically; needs the token."""
        body = {"files": [{"source": s, "text": t} for s, t in files], "dry_run": dry_run}
        return self._typed(ApplyResult, "POST", "/v1/apply", body)

    def delete_keys(self, keys: list[tuple[str, str, str]]) -> DeleteResult:
        """Delete resources by (kind, namespace, name); needs the token."""
        return self._typed(DeleteResult, "POST", "/v1/delete", {"keys": [list(k) for k in keys]})

    def delete_files(self, files: list[tuple[str, str]]) -> DeleteResult:
        """Delete the resources the documents of ``files`` name; needs the token."""
        body = {"files": [{"source": s, "text": t} for s, t in files]}
        return self._typed(DeleteResult, "POST", "/v1/delete", body)

    def analyze(self, files: list[tuple[str, str]] | None = None) -> AnalyzeResult:
        """Return findings for the live state, with ``files`` merged over it when given."""
        if files is None:
            return self._typed(AnalyzeResult, "GET", "/v1/analyze")
        body = {"files": [{"source": s, "text": t} for s, t in files]}
        return self._typed(AnalyzeResult, "POST", "/v1/analyze", body)

    def proxies(self) -> ProxyList:
        """Return every registered proxy with its sync status."""
        return self._typed(ProxyList, "GET", "/v1/proxies")
