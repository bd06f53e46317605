"""Run ``tether proxy`` in static mode for end-to-end tests, and read what it reports.

``start_sidecar`` writes a config with one STATIC ServiceEntry per service (``start_static``
takes any config), starts the proxy with ports 0 on 127.0.0.1 and an access-log file, and
waits (bounded) for ``/ready``.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tether.testing.procs import ProcessFailed, RunningProcess, start_tether, wait_until
from tether.testing.rawhttp import RawResponse, http_request

SERVICE_ENTRY = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: {name}}}
spec:
  hosts: [{name}]
  ports: [{{number: 80, name: http, protocol: HTTP}}]
  resolution: STATIC
  endpoints:
{endpoints}
"""
ENDPOINT = "  - {{address: 127.0.0.1, ports: {{http: {port}}}, labels: {{app: {app}, version: {version}}}}}"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port() -> int:
    """Return a port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_entry(name: str, *endpoints: tuple[int, str, str]) -> str:
    """Return a STATIC ServiceEntry for host ``name`` with one endpoint on 127.0.0.1 per
    ``(port, app, version)``, labelled with that app and version."""
    lines = "\n".join(ENDPOINT.format(port=p, app=a, version=v) for p, a, v in endpoints)
    return SERVICE_ENTRY.format(name=name, endpoints=lines)


def service_config(services: dict[str, int]) -> str:
    """Return multi-document YAML with one STATIC ServiceEntry per ``name: port`` (app ``name``,
    version ``v1``)."""
    return "---\n".join(service_entry(n, (p, n, "v1")) for n, p in services.items())


class Sample:
    """One Prometheus sample line."""

    def __init__(self, name: str, labels: dict[str, str], value: float) -> None:
        self.name, self.labels, self.value = name, labels, value

    def __repr__(self) -> str:
        return f"{self.name}{self.labels} {self.value}"


def parse_prometheus(text: str) -> list[Sample]:
    """Return the samples of a Prometheus text exposition. Raises ValueError on a bad line."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise ValueError(f"unparsable metrics line: {line!r}")
        labels = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                  for k, v in _LABEL.findall(match.group(2) or "")}
        samples.append(Sample(match.group(1), labels, float(match.group(3))))
    return samples


class Sidecar:
    """A running ``tether proxy`` and what tests ask of it."""

    def __init__(self, proc: RunningProcess, name: str, access_log: Path) -> None:
        self.proc, self.name, self.access_log_path = proc, name, access_log
        self.outbound = proc.port("outbound")
        self.inbound = proc.port("inbound")
        self.admin = proc.port("admin")

    def admin_get(self, path: str) -> RawResponse:
        """GET ``path`` on the admin port and return the response."""
        return http_request(self.admin, "GET", path, [("Host", "admin")])

    def access_log(self) -> list[dict[str, Any]]:
        """Return the complete JSON lines of the access log so far."""
        try:
            text = self.access_log_path.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines(keepends=True)
                if line.endswith("\n") and line.strip()]

    def log_entries(self, count: int, where: Callable[[dict[str, Any]], bool] = lambda e: True,
                    timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait (bounded) until ``count`` entries match ``where``; return the matches.

        Raises AssertionError if fewer arrive within ``timeout`` s.
        """
        wait_until(lambda: len([e for e in self.access_log() if where(e)]) >= count, timeout)
        found = [e for e in self.access_log() if where(e)]
        assert len(found) >= count, f"{len(found)} matching log entries, want {count}: {found}"
        return found

    def metrics_text(self) -> str:
        """Return ``/stats/prometheus``. Raises AssertionError unless it answers 200."""
        resp = self.admin_get("/stats/prometheus")
        assert resp.status == 200, resp
        return (resp.body or b"").decode()

    def metrics(self) -> list[Sample]:
        """Return the parsed samples of ``/stats/prometheus``."""
        return parse_prometheus(self.metrics_text())

    def metric(self, name: str, **labels: str) -> float:
        """Return the sum of ``name`` over samples whose labels include ``labels``."""
        return sum(s.value for s in self.metrics()
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    def describe(self) -> str:
        """Return the command line and stderr tail (for assertion messages)."""
        return self.proc.describe()


def start_sidecar(tmp: Path, name: str, services: dict[str, int], app_port: int,
                  extra: Sequence[str] = ()) -> Sidecar:
    """Start a static-mode sidecar on ``service_config(services)`` and wait (bounded) until
    ``/ready`` answers 200.

    Raises ProcessFailed (after killing it) if it exits or is not ready within 15 s.
    """
    return start_static(tmp, name, service_config(services), app_port, extra)


def start_static(tmp: Path, name: str, config: str, app_port: int | None = None,
                 extra: Sequence[str] = ()) -> Sidecar:
    """Start a static-mode sidecar on ``config`` (Istio YAML, written to ``tmp/NAME.yaml``),
    with ``--app-port`` when ``app_port`` is given, and wait (bounded) until ``/ready`` answers 200.

    Raises ProcessFailed (after killing it) if it exits or is not ready within 15 s.
    """
    path = tmp / f"{name}.yaml"
    path.write_text(config)
    access_log = tmp / f"{name}.access.log"
    app = ["--app-port", str(app_port)] if app_port is not None else []
    args = ["proxy", "--name", name, "--config", str(path), *app,
            "--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0",
            "--access-log", str(access_log), *extra]
    proc = start_tether(args, tmp, name=name)
    sidecar = Sidecar(proc, name, access_log)

    def ready() -> bool:
        try:
            return sidecar.admin_get("/ready").status == 200
        except OSError:
            return False

    if not wait_until(ready, 15):
        proc.kill()
        raise ProcessFailed(f"sidecar {name} never became ready\n{proc.describe()}")
    return sidecar
