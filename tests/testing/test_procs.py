"""Process helpers: ports file wait, failure reports, stop escalation, RSS."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tether.testing.procs import ProcessFailed, rss_kib, start_process, wait_until


def test_waits_for_ports_file(tmp_path: Path) -> None:
    ports = tmp_path / "p.json"
    code = (f"import json, time; time.sleep(0.1); "
            f"open({str(ports)!r}, 'w').write(json.dumps({{'a': 5}})); time.sleep(60)")
    proc = start_process([sys.executable, "-c", code], tmp_path, "waiter", ports)
    try:
        assert proc.port("a") == 5
        assert proc.alive()
    finally:
        assert proc.stop() != 0
    assert not proc.alive()


def test_early_exit_reports_stderr(tmp_path: Path) -> None:
    code = "import sys; sys.stderr.write('boom here'); sys.exit(3)"
    with pytest.raises(ProcessFailed, match="boom here"):
        start_process([sys.executable, "-c", code], tmp_path, "dies", tmp_path / "never")


def test_missing_ports_file_times_out_and_kills(tmp_path: Path) -> None:
    code = "import time; time.sleep(60)"
    with pytest.raises(ProcessFailed, match="no ports file"):
        start_process([sys.executable, "-c", code], tmp_path, "slow", tmp_path / "never",
                      timeout=0.3)


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    code = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('up', flush=True); time.sleep(60)")
    proc = start_process([sys.executable, "-c", code], tmp_path, "stubborn")
    assert wait_until(lambda: "up" in proc.stdout_text())
    assert proc.stop(timeout=0.2) == -9


def test_rss_of_self() -> None:
    assert rss_kib(os.getpid()) > 0
