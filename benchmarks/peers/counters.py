"""Request counters of the servers in a run, read to check a proxy really served the load."""

from __future__ import annotations

import socket
import urllib.parse
from pathlib import Path

from peers import procs


def none() -> int | None:
    """Return None: this server has no request counter."""
    return None


def nginx_requests(status_port: int) -> int | None:
    """Return the upstream's total request count from nginx stub_status."""
    _, body = procs.http_get(status_port, "/")
    lines = body.splitlines()
    return int(lines[2].split()[2]) if len(lines) > 2 else None


def haproxy_requests(sock_path: Path) -> int | None:
    """Return the ``req_tot`` of haproxy's ``bench`` frontend via its stats socket."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(sock_path))
        sock.sendall(b"show stat\n")
        data = b"".join(iter(lambda: sock.recv(65536), b"")).decode()
    header, *rows = data.splitlines()
    fields = header.lstrip("# ").split(",")
    for row in rows:
        values = dict(zip(fields, row.split(","), strict=False))
        if values.get("pxname") == "bench" and values.get("svname") == "FRONTEND":
            return int(values["req_tot"])
    return None


def envoy_requests(admin_port: int) -> int | None:
    """Return Envoy's completed downstream request count for the ``bench`` listener."""
    name = "http.bench.downstream_rq_completed"
    _, body = procs.http_get(admin_port, "/stats?filter=" + urllib.parse.quote(f"^{name}$"))
    for line in body.splitlines():
        if line.startswith(name + ":"):
            return int(line.split(":")[1])
    return None


def count_lines(path: Path) -> int | None:
    """Return the number of lines in ``path`` (an access log), 0 when it does not exist yet."""
    try:
        with path.open("rb") as log:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: log.read(1 << 20), b""))
    except FileNotFoundError:
        return 0
