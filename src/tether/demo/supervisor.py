"""Child processes of ``tether demo``: started in order, stopped in reverse, none left behind.

Each child runs in its own session (so a Ctrl-C reaches only the demo, which then stops
the children in order) and is asked by the kernel to end if the demo dies first
(``PR_SET_PDEATHSIG``), so a killed demo leaves no orphan either.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tether.core.errors import TetherError

PR_SET_PDEATHSIG = 1


class StartFailed(TetherError):
    """A child exited or did not get ready in time; the message includes its last output."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """One started process, its log file and (once written) its ports file."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], log_path: Path, ports_file: Path | None) -> None:
        self.name = name
        self.proc = proc
        self.log_path = log_path
        self.ports_file = ports_file
        self.ports: dict[str, int] = {}

    def log_tail(self, limit: int = 1500) -> str:
        """Return the end of the child's combined output."""
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


class Supervisor:
    """Starts children with logs under ``log_dir`` and stops them all, newest first."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None, ports: bool = True) -> Child:
        """Start ``argv`` (with ``--ports-file`` added before any ``--`` when ``ports``); return the child."""
        ports_file = self.log_dir / f"{name}.ports" if ports else None
        full = list(argv)
        if ports_file is not None:
            at = full.index("--") if "--" in full else len(full)
            full[at:at] = ["--ports-file", str(ports_file)]
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                full,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        child = Child(name, proc, log_path, ports_file)
        self.children.append(child)
        return child

    def wait_ports(self, child: Child, timeout: float) -> dict[str, int]:
        """Return the child's ports once written; raises StartFailed if it exits or times out."""
        assert child.ports_file is not None
        return self.wait_for(child, timeout, lambda: _read_ports(child))

    def wait_for(
        self, child: Child, timeout: float, probe: Callable[[], dict[str, int] | bool | None]
    ) -> dict[str, int]:
        """Poll ``probe`` until it returns something true; raises StartFailed on exit or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result:
                return result if isinstance(result, dict) else child.ports
            if child.proc.poll() is not None:
                raise StartFailed(f"{child.name} exited with {child.proc.returncode}:\n{child.log_tail()}")
            if time.monotonic() > deadline:
                raise StartFailed(f"{child.name} was not ready after {timeout:.0f}s:\n{child.log_tail()}")
            time.sleep(0.05)

    def stop_all(self, grace: float = 8.0) -> None:
        """SIGTERM every child, newest first, then SIGKILL what is still running after ``grace``."""
        for child in reversed(self.children):
            if child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.proc.wait(remaining)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait(5)

    def exited(self) -> Child | None:
        """Return a child that has exited on its own, if any."""
        return next((c for c in self.children if c.proc.poll() is not None), None)


def _read_ports(child: Child) -> dict[str, int] | None:
    assert child.ports_file is not None
    try:
        child.ports = json.loads(child.ports_file.read_text())
    except (OSError, ValueError):
        return None
    return child.ports


def tether_argv(*args: str) -> list[str]:
    """Return the command line running ``tether ARGS`` with this interpreter."""
    return [sys.executable, "-m", "tether", *args]
