"""Start and stop real processes for end-to-end tests, bounded in time, logs kept for debugging.

``start_tether(["proxy", "--name", "a", ...], tmp_path)`` runs ``python -m tether ...`` with a
``--ports-file``, waits (bounded) until the file appears and returns a ``RunningProcess`` whose
``stop()`` sends SIGTERM, then SIGKILL after a bound. stdout and stderr go to files in the
given directory; failures quote their tail.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from tether.testing.rawhttp import PeerClosed, RawClient, RawResponse, http_request

__all__ = [
    "PeerClosed",
    "ProcessFailed",
    "RawClient",
    "RawResponse",
    "RunningProcess",
    "http_request",
    "rss_kib",
    "start_process",
    "start_tether",
    "start_upstream_process",
    "wait_until",
]


class ProcessFailed(RuntimeError):
    """A process did not start (or stop) as expected; the message ends with its stderr tail."""


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


class RunningProcess:
    """A started process, its ports (from its ports file) and its log files."""

    def __init__(self, name: str, argv: Sequence[str], proc: subprocess.Popen[bytes],
                 log_dir: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.proc = proc
        self.log_dir = log_dir
        self.ports: dict[str, Any] = {}
        self.stdout_path = log_dir / f"{name}.stdout"
        self.stderr_path = log_dir / f"{name}.stderr"

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.proc.pid

    def port(self, key: str) -> int:
        """Return the port named ``key`` in the ports file (e.g. ``outbound``)."""
        return int(self.ports[key])

    def alive(self) -> bool:
        """Return True while the process runs."""
        return self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the process if it still runs."""
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait for the exit status. Raises subprocess.TimeoutExpired after ``timeout`` s."""
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL; return the exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)

    def kill(self) -> None:
        """SIGKILL the process and reap it."""
        if self.alive():
            self.proc.kill()
        self.proc.wait(10)

    def stdout_text(self) -> str:
        """Return what the process wrote to stdout so far."""
        return self.stdout_path.read_text(errors="replace")

    def stderr_text(self) -> str:
        """Return what the process wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def describe(self) -> str:
        """Return the command line and the tail of stderr, for assertion messages."""
        return f"{' '.join(self.argv)}\n--- stderr tail ---\n{_tail(self.stderr_path)}"

    def __enter__(self) -> RunningProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_process(argv: Sequence[str], log_dir: Path, name: str,
                  ports_file: Path | None = None, env: Mapping[str, str] | None = None,
                  timeout: float = 20.0) -> RunningProcess:
    """Start ``argv`` with output to ``log_dir``; if ``ports_file``, wait until it is written.

    Returns the running process with ``ports`` loaded. Raises ProcessFailed if the process
    exits first or the file does not appear within ``timeout`` s (the process is then killed).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_dir / f"{name}.stdout", "wb") as out, \
            open(log_dir / f"{name}.stderr", "wb") as err:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=full_env)
    running = RunningProcess(name, argv, proc, log_dir)
    if ports_file is None:
        return running
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, ValueError):
            running.ports = json.loads(ports_file.read_text())
            return running
        if not running.alive():
            raise ProcessFailed(f"{name} exited with {proc.returncode} before writing "
                                f"{ports_file}\n{running.describe()}")
        if time.monotonic() > deadline:
            running.kill()
            raise ProcessFailed(f"{name} wrote no ports file within {timeout}s\n"
                                f"{running.describe()}")
        time.sleep(0.02)


def start_tether(args: Sequence[str], log_dir: Path, name: str | None = None,
                 env: Mapping[str, str] | None = None, timeout: float = 20.0) -> RunningProcess:
    """Run ``python -m tether <args> --ports-file <log_dir>/<name>.ports``; see start_process."""
    name = name or f"tether-{args[0] if args else 'main'}"
    ports_file = log_dir / f"{name}.ports"
    argv = [sys.executable, "-m", "tether", *args, "--ports-file", str(ports_file)]
    return start_process(argv, log_dir, name, ports_file, env, timeout)


def start_demo(log_dir: Path, data: Path, extra: Sequence[str] = (),
               env: Mapping[str, str] | None = None) -> RunningProcess:
    """Run ``tether demo`` on free ports (gateway, control plane), polling only on demand, with
    its data in ``data``; its ports are in ``<log_dir>/demo.ports``. See start_process (90 s)."""
    args = ["demo", "--port", "0", "--control-port", "0", "--poll-interval", "0", "--data", str(data), *extra]
    return start_tether(args, log_dir, "demo", env, timeout=90)


def start_upstream_process(log_dir: Path, name: str = "upstream") -> RunningProcess:
    """Run the scriptable upstream as its own process; its port is ``ports["port"]``."""
    ports_file = log_dir / f"{name}.ports"
    argv = [sys.executable, "-m", "tether.testing.upstream", "--port", "0",
            "--ports-file", str(ports_file)]
    return start_process(argv, log_dir, name, ports_file)


def rss_kib(pid: int) -> int:
    """Return the resident set size of ``pid`` in KiB (``VmRSS`` of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ProcessFailed(f"no VmRSS for pid {pid}")


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0,
               interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` s pass; return its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        time.sleep(interval)
    return True
