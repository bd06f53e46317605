"""A tiny blocking HTTP/1.1 client over a raw socket, for tests that need exact bytes.

It sends what it is given, byte for byte (malformed requests, pipelining, slow headers), and
reads responses by the RFC 9112 framing rules without any of Tether's code.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import msgspec

HeaderList = Sequence[tuple[str, str]]


class PeerClosed(ConnectionError):
    """The peer closed the connection before a whole response arrived."""


class HeaderLookup:
    """Header lookups for a record with ``headers`` as ``(name, value)`` pairs (a mixin)."""

    __slots__ = ()
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (any case), or None."""
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        """Return every value of header ``name`` (any case), in order."""
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]


class RawResponse(msgspec.Struct, HeaderLookup, frozen=True):
    """One parsed response. ``body`` is None when the caller asked not to keep it."""

    status: int
    reason: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    body_length: int
    body_sha256: str
    trailers: tuple[tuple[str, str], ...] = ()
    informational: tuple[int, ...] = ()

    def json(self) -> Any:
        """Return the body decoded as JSON. Raises msgspec.DecodeError if it is not JSON."""
        return msgspec.json.decode(self.body or b"")


def build_request(method: str, target: str, headers: HeaderList = (), body: bytes = b"",
                  version: str = "HTTP/1.1") -> bytes:
    """Return request bytes; adds ``content-length`` when ``body`` is given and none is set."""
    lines = [f"{method} {target} {version}"] + [f"{k}: {v}" for k, v in headers]
    names = {k.lower() for k, _ in headers}
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class RawClient:
    """One TCP connection to ``host:port``; every read is bounded by ``timeout`` seconds."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.sock.close()

    def send(self, data: bytes) -> None:
        """Send ``data`` exactly as given."""
        self.sock.sendall(data)

    def request(self, method: str, target: str, headers: HeaderList = (), body: bytes = b"",
                keep_body: bool = True) -> RawResponse:
        """Send one request and return its response (HEAD is read without a body)."""
        self.send(build_request(method, target, headers, body))
        return self.read_response(head=method == "HEAD", keep_body=keep_body)

    # -- reading ---------------------------------------------------------------------------

    def _fill(self) -> None:
        data = self.sock.recv(256 * 1024)
        if not data:
            raise PeerClosed("connection closed by peer")
        self._buf += data

    def _read_line(self) -> bytes:
        while (i := self._buf.find(b"\r\n")) < 0:
            self._fill()
        line = bytes(self._buf[:i])
        del self._buf[: i + 2]
        return line

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill()
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _read_fields(self) -> list[tuple[str, str]]:
        fields = []
        while line := self._read_line():
            name, _, value = line.decode("latin-1").partition(":")
            fields.append((name.strip(), value.strip()))
        return fields

    def read_head(self) -> tuple[int, list[tuple[str, str]]]:
        """Read one status line and its header fields (e.g. a ``100 Continue``); return both.

        Raises PeerClosed if the connection ends first, TimeoutError if nothing arrives in time.
        """
        _, _, rest = self._read_line().decode("latin-1").partition(" ")
        return int(rest.partition(" ")[0]), self._read_fields()

    def read_response(self, head: bool = False, keep_body: bool = True) -> RawResponse:
        """Read one response (skipping and noting 1xx ones); ``head`` means no body follows.

        Raises PeerClosed if the connection ends first, TimeoutError if nothing arrives in time.
        """
        informational: list[int] = []
        while True:
            version, _, rest = self._read_line().decode("latin-1").partition(" ")
            code, _, reason = rest.partition(" ")
            status = int(code)
            headers = self._read_fields()
            if not 100 <= status < 200 or status == 101:
                break
            informational.append(status)
        sha, kept, length = hashlib.sha256(), bytearray(), 0
        trailers: list[tuple[str, str]] = []

        def take(piece: bytes) -> None:
            nonlocal length
            sha.update(piece)
            length += len(piece)
            if keep_body:
                kept.extend(piece)

        names = {k.lower(): v for k, v in headers}
        if head or status in (204, 304) or 100 <= status < 200:
            pass
        elif "chunked" in names.get("transfer-encoding", "").lower():
            while size := int(self._read_line().split(b";")[0].strip(), 16):
                while size:
                    piece = self._read_exact(min(size, 256 * 1024))
                    size -= len(piece)
                    take(piece)
                self._read_exact(2)
            trailers = self._read_fields()
        elif "content-length" in names:
            left = int(names["content-length"])
            while left:
                if not self._buf:
                    self._fill()
                piece = bytes(self._buf[:left])
                del self._buf[: len(piece)]
                left -= len(piece)
                take(piece)
        else:
            take(self.read_until_close())
        return RawResponse(status=status, reason=reason, version=version, headers=tuple(headers),
                           body=bytes(kept) if keep_body else None, body_length=length,
                           body_sha256=sha.hexdigest(), trailers=tuple(trailers),
                           informational=tuple(informational))

    def read_until_close(self) -> bytes:
        """Return every byte until the peer closes. Raises TimeoutError if it does not."""
        while True:
            try:
                self._fill()
            except (PeerClosed, ConnectionResetError):
                data = bytes(self._buf)
                self._buf.clear()
                return data

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        """Return True if the peer closes (or resets) within ``timeout`` s without sending more."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(old)


def http_request(port: int, method: str, target: str, headers: HeaderList = (),
                 body: bytes = b"", timeout: float = 10.0) -> RawResponse:
    """Open a connection, send one request, return its response, close."""
    with RawClient(port, timeout=timeout) as client:
        return client.request(method, target, headers, body)
