"""Span collectors for tests: a small recording HTTP receiver, and a real OTLP collector (rotel).

``SpanReceiver`` listens on 127.0.0.1 (ephemeral port), answers every POST with ``status``
(or never answers, with ``stall=True``) and records each JSON body by path; it stands in
for Zipkin. ``Rotel`` runs the ``rotel`` OTLP collector (PyPI package ``rotel``) with its
debug exporter, and parses the spans it prints.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from tether.testing.procs import ProcessFailed, RunningProcess, start_process, wait_until


class SpanReceiver:
    """Records the JSON bodies POSTed to it; use as a context manager."""

    def __init__(self, status: int = 202, stall: bool = False) -> None:
        self.status = status
        self.stall = stall
        self.bodies: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if receiver.stall:
                    receiver._release.wait(30)
                    return
                with receiver._lock:
                    receiver.bodies.append((self.path, json.loads(raw or b"null")))
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="span-receiver", daemon=True)

    def __enter__(self) -> SpanReceiver:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def zipkin_spans(self) -> list[dict[str, Any]]:
        """Return every span of every Zipkin body received so far."""
        with self._lock:
            return [span for _, body in self.bodies if isinstance(body, list) for span in body]


def rotel_binary() -> Path | None:
    """Return the path of the ``rotel-agent`` executable the ``rotel`` package ships, or None."""
    spec = importlib.util.find_spec("rotel")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "rotel-agent"
    return path if path.exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_FIELD = re.compile(r"^\s*(Trace ID|Parent ID|ID|Name|Kind)\s*:\s*(.*?)\s*$")


class Rotel:
    """A running rotel collector receiving OTLP/HTTP on ``url`` and printing spans it gets."""

    def __init__(self, proc: RunningProcess, port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def spans(self) -> list[dict[str, str]]:
        """Return the spans printed so far: ``{"trace_id", "parent_id", "span_id", "name", "kind"}``."""
        keys = {"Trace ID": "trace_id", "Parent ID": "parent_id", "ID": "span_id", "Name": "name", "Kind": "kind"}
        spans: list[dict[str, str]] = []
        for line in self.proc.stdout_text().splitlines():
            if line.startswith("Span #"):
                spans.append({})
                continue
            match = _FIELD.match(line)
            if match and spans and keys[match.group(1)] not in spans[-1]:
                spans[-1][keys[match.group(1)]] = match.group(2)
        return spans

    def ready(self) -> bool:
        """Return True once the OTLP/HTTP port accepts connections."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the collector (SIGTERM, then SIGKILL)."""
        self.proc.stop(5)


def start_rotel(binary: Path, log_dir: Path) -> Rotel:
    """Start rotel on free 127.0.0.1 ports with the debug exporter; raises ProcessFailed."""
    http_port, grpc_port = _free_port(), _free_port()
    argv = [str(binary), "start", "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
            "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}", "--exporter", "blackhole",
            "--debug-log", "traces", "--debug-log-verbosity", "detailed",
            "--pid-file", str(log_dir / "rotel.pid"), "--log-file", str(log_dir / "rotel.log")]
    rotel = Rotel(start_process(argv, log_dir, "rotel"), http_port)
    if not wait_until(rotel.ready, 15):
        rotel.proc.kill()
        raise ProcessFailed(f"rotel did not listen on {rotel.url}\n{rotel.proc.describe()}")
    return rotel
