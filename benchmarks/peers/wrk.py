"""Build wrk command lines and parse what ``wrk --latency`` prints."""

from __future__ import annotations

import re
from dataclasses import dataclass

# wrk prints durations with these unit suffixes (see wrk's units.c).
_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$", re.MULTILINE)
_SOCKET = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$", re.MULTILINE
)


class WrkParseError(ValueError):
    """wrk's output lacks a field the harness needs (wrk failed or changed its format)."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles (ms) and error counts."""

    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def ok(self) -> bool:
        """Return True when every response was 2xx/3xx and no socket error happened."""
        return self.requests > 0 and self.non_2xx == 0 and self.socket_errors == 0


def to_ms(value: str, unit: str) -> float:
    """Return wrk's ``value``+``unit`` (e.g. ``"635.91"``, ``"us"``) in milliseconds.

    Raises WrkParseError for an unknown unit.
    """
    try:
        return float(value) * _TIME_UNITS_MS[unit]
    except KeyError:
        raise WrkParseError(f"unknown wrk time unit {unit!r}") from None


def parse(text: str) -> WrkResult:
    """Return the WrkResult described by ``wrk --latency`` output ``text``.

    Raises WrkParseError when the request count, req/s or a percentile is missing.
    """
    percentiles = {int(p): to_ms(v, u) for p, v, u in _PERCENTILE.findall(text)}
    requests = _REQUESTS.search(text)
    rps = _RPS.search(text)
    missing = [f"p{p}" for p in (50, 75, 90, 99) if p not in percentiles]
    if requests is None:
        missing.append("request count")
    if rps is None:
        missing.append("Requests/sec")
    if missing or requests is None or rps is None:
        raise WrkParseError(f"wrk output lacks {', '.join(missing)}: {text.strip()[-200:]!r}")
    non_2xx = _NON_2XX.search(text)
    socket = _SOCKET.search(text)
    return WrkResult(
        requests=int(requests.group(1)),
        duration_s=to_ms(requests.group(2), requests.group(3)) / 1000.0,
        rps=float(rps.group(1)),
        p50_ms=percentiles[50],
        p75_ms=percentiles[75],
        p90_ms=percentiles[90],
        p99_ms=percentiles[99],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
    )


def command(url: str, connections: int, duration_s: float, host: str = "upstream") -> list[str]:
    """Return the wrk argv for one run: one thread per 25 connections (1 or 2), --latency on."""
    threads = 1 if connections < 25 else 2
    return [
        "wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s",
        "--timeout", "5s", "-H", f"Host: {host}", url,
    ]
