"""The markdown report: a row per (peer, connections), ratios to Tether, machine facts."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from peers.wrk import WrkResult

BASELINE = "tether"


@dataclass(frozen=True)
class Row:
    """One measured run, or (``result`` None) a peer that was skipped or failed."""

    peer: str
    connections: int | None
    result: WrkResult | None
    idle_rss_kib: int | None
    loaded_rss_kib: int | None
    check: str


def ratio(value: float | None, base: float | None) -> str:
    """Return ``value / base`` as ``"0.67"``, or ``"-"`` when either side is missing or zero."""
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}"


def _mib(kib: int | None) -> str:
    return "-" if not kib else f"{kib / 1024:.1f}"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def cell(text: str, limit: int = 240) -> str:
    """Return ``text`` fit for one table cell: one line, ``|`` escaped, at most ``limit`` chars."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return flat.replace("|", "\\|")


def table(rows: Sequence[Row]) -> str:
    """Return the markdown table; ratios are peer ÷ Tether at the same connection count."""
    base = {r.connections: r for r in rows if r.peer == BASELINE and r.result is not None}
    lines = [
        "| peer | conns | req/s | p50 ms | p99 ms | idle RSS MiB | loaded RSS MiB "
        "| req/s ÷ Tether | p99 ÷ Tether | loaded RSS ÷ Tether | check |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        res, ref = row.result, base.get(row.connections)
        ref_res = ref.result if ref else None
        lines.append(" | ".join([
            f"| {row.peer}",
            "-" if row.connections is None else str(row.connections),
            _num(res.rps if res else None, ",.0f"),
            _num(res.p50_ms if res else None, ".3f"),
            _num(res.p99_ms if res else None, ".3f"),
            _mib(row.idle_rss_kib),
            _mib(row.loaded_rss_kib),
            ratio(res.rps if res else None, ref_res.rps if ref_res else None),
            ratio(res.p99_ms if res else None, ref_res.p99_ms if ref_res else None),
            ratio(row.loaded_rss_kib or None, ref.loaded_rss_kib if ref else None),
            f"{cell(row.check)} |",
        ]))
    return "\n".join(lines)


def document(title: str, facts: Sequence[tuple[str, str]], rows: Sequence[Row],
             notes: Sequence[str]) -> str:
    """Return the whole report: title, a bullet per fact, the table, then the notes."""
    parts = [f"## {title}", "", *(f"- {key}: {value}" for key, value in facts), "",
             table(rows), ""]
    if notes:
        parts += ["Notes:", "", *(f"- {note}" for note in notes), ""]
    return "\n".join(parts)


def _version(argv: Sequence[str], pattern: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    found = re.search(pattern, done.stdout + done.stderr)
    return found.group(1) if found else "unknown"


def cpu_model(cpuinfo: str) -> str:
    """Return the first ``model name`` in /proc/cpuinfo text, or ``"unknown"``."""
    found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return found.group(1).strip() if found else "unknown"


def machine(envoy: str | None) -> list[tuple[str, str]]:
    """Return (name, value) facts about this machine and the peers' versions."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    return [
        ("CPUs (nproc)", str(len(os.sched_getaffinity(0)))),
        ("CPU model", cpu_model(cpuinfo)),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("load average at start (1, 5, 15 min)", ", ".join(f"{x:.2f}" for x in os.getloadavg())),
        ("Envoy", _version([envoy, "--version"], r"/(\d+\.\d+\.\d+)/") if envoy else "not found"),
        ("HAProxy", _version(["haproxy", "-v"], r"version (\S+)")),
        ("nginx", _version(["nginx", "-v"], r"nginx/(\S+)")),
        ("wrk", _version(["wrk", "-v"], r"wrk (\S+)")),
    ]
