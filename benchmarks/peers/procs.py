"""Processes of a benchmark run: ports, CPU pinning, start/stop, readiness and RSS."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


class PeerStartError(RuntimeError):
    """A process did not come up; the message carries the tail of its log."""


def free_port() -> int:
    """Return a port the kernel just handed out on 127.0.0.1 (for servers that reject 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def can_pin() -> bool:
    """Return True when taskset exists and this process may use CPUs 0 and 1."""
    return shutil.which("taskset") is not None and {0, 1} <= os.sched_getaffinity(0)


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    """Return ``argv`` prefixed with ``taskset -c cpu`` (unchanged when ``cpu`` is None)."""
    return argv if cpu is None else ["taskset", "-c", str(cpu), *argv]


def start(argv: list[str], log: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout and stderr appended to ``log``; return the process.

    Raises OSError when the program cannot be executed.
    """
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)


def stop(proc: subprocess.Popen[bytes], grace_s: float = 8.0) -> None:
    """Stop ``proc``: SIGTERM, then SIGKILL after ``grace_s`` seconds. Never raises."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


def log_tail(log: Path, lines: int = 3) -> str:
    """Return the last ``lines`` lines of ``log`` joined with `` / `` (empty if unreadable)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " / ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def wait_for(check: Callable[[], T | None], proc: subprocess.Popen[bytes], log: Path,
             what: str, timeout_s: float = 20.0) -> T:
    """Poll ``check`` until it returns a value; return that value.

    Raises PeerStartError when ``proc`` exits first or ``timeout_s`` passes.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = check()
        except (OSError, ValueError, http.client.HTTPException):
            value = None
        if value is not None:
            return value
        if proc.poll() is not None:
            raise PeerStartError(f"{what} exited with {proc.returncode}: {log_tail(log)}")
        time.sleep(0.05)
    raise PeerStartError(f"{what} not ready after {timeout_s:.0f}s: {log_tail(log)}")


def accepts(port: int) -> bool | None:
    """Return True when 127.0.0.1:``port`` accepts a TCP connection, else None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return None


def http_get(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    """GET ``path`` from 127.0.0.1:``port``; return (status, body text).

    Raises OSError or http.client.HTTPException on connection or protocol failure.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return found


def rss_kib(pid: int) -> int:
    """Return the resident set size (VmRSS, KiB) of ``pid`` plus its descendants; 0 if gone."""
    total = 0
    for proc_id in _descendants(pid):
        try:
            status = Path(f"/proc/{proc_id}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


class RssSampler:
    """Context manager sampling ``rss_kib(pid)`` every ``interval_s`` in a thread; ``peak_kib``."""

    def __init__(self, pid: int | None, interval_s: float = 0.1) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while self.pid is not None:
            self.peak_kib = max(self.peak_kib, rss_kib(self.pid))
            if self._done.wait(self.interval_s):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()
