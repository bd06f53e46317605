"""Outlier detection (passive health checking), pure: results in, ejections out, on an injected clock.

Semantics follow Envoy as Istio configures it:

- every upstream result of an endpoint is reported; a 5xx (or a local failure mapped to one:
  connect failure 503, reset 503, timeout 504) counts towards ``consecutive_5xx``; a 502/503/504
  towards ``consecutive_gateway_errors``; any other status resets both counts;
- reaching a threshold ejects the endpoint at once, for ``base_ejection_time`` times the number of
  times it has been ejected (capped at max(300 s, base), Envoy's ``max_ejection_time``);
- an ejection is allowed while ejected endpoints stay within ``max_ejection_percent`` of the
  cluster, and the first one is always allowed (Envoy ejects at least one host whatever the
  percentage rounds to);
- the sweep every ``interval`` returns endpoints whose time is up, and lowers the multiplier
  of endpoints that stayed healthy for a whole interval.

The per-endpoint ``HostHealth`` records live in the endpoint's pool, keyed by cluster name, so
ejections survive a snapshot swap.
"""

from __future__ import annotations

from collections.abc import Sequence

from tether.core.clock import Clock
from tether.core.schema.snapshot import OutlierDetection

MAX_EJECTION_TIME_S = 300.0
GATEWAY_ERRORS = frozenset({502, 503, 504})


class HostHealth:
    """What outlier detection knows about one endpoint of one cluster."""

    __slots__ = ("consecutive_5xx", "consecutive_gateway", "ejected", "ejected_at", "ejections")

    def __init__(self) -> None:
        self.consecutive_5xx = 0
        self.consecutive_gateway = 0
        self.ejected = False
        self.ejected_at = 0.0
        self.ejections = 0  # the ejection-time multiplier


class OutlierDetector:
    """Decides ejections for the endpoints of one cluster; the caller applies them to balancing."""

    def __init__(self, spec: OutlierDetection, hosts: Sequence[HostHealth], clock: Clock) -> None:
        self.spec = spec
        self.hosts = hosts
        self.clock = clock
        self.interval = spec.interval_ms / 1000.0
        self.base = spec.base_ejection_time_ms / 1000.0
        self.max_time = max(MAX_EJECTION_TIME_S, self.base)
        self.next_sweep = clock.monotonic() + self.interval

    @property
    def ejected_count(self) -> int:
        """Return how many endpoints are ejected now."""
        return sum(1 for h in self.hosts if h.ejected)

    def ejection_time(self, host: HostHealth) -> float:
        """Return how long ``host``'s current ejection lasts, in seconds."""
        return min(self.base * max(host.ejections, 1), self.max_time)

    def report(self, host: HostHealth, status: int) -> bool:
        """Account for one result of ``host`` (a status, or 503/504 for a local failure);
        return True if ``host`` was ejected by it."""
        if status < 500:
            host.consecutive_5xx = 0
            host.consecutive_gateway = 0
            return False
        if host.ejected:
            return False
        host.consecutive_5xx += 1
        if status in GATEWAY_ERRORS:
            host.consecutive_gateway += 1
        else:
            host.consecutive_gateway = 0
        spec = self.spec
        tripped = (spec.consecutive_5xx is not None and host.consecutive_5xx == spec.consecutive_5xx) or (
            spec.consecutive_gateway_errors is not None and host.consecutive_gateway == spec.consecutive_gateway_errors
        )
        return tripped and self._eject(host)

    def _eject(self, host: HostHealth) -> bool:
        ejected = self.ejected_count
        share = 100.0 * (ejected + 1) / len(self.hosts)
        if ejected > 0 and share > self.spec.max_ejection_percent:
            return False
        host.ejected = True
        host.ejected_at = self.clock.monotonic()
        host.ejections += 1
        host.consecutive_5xx = 0
        host.consecutive_gateway = 0
        return True

    def due(self) -> bool:
        """Return whether the interval sweep is due."""
        return self.clock.monotonic() >= self.next_sweep

    def sweep(self) -> bool:
        """Run the interval sweep; return True if any endpoint came back into service."""
        now = self.clock.monotonic()
        self.next_sweep = now + self.interval
        returned = False
        for host in self.hosts:
            if host.ejected:
                if now >= host.ejected_at + self.ejection_time(host):
                    host.ejected = False
                    returned = True
            elif host.ejections > 0 and now >= host.ejected_at + self.ejection_time(host) + self.interval:
                host.ejections -= 1
        return returned

    def panic(self) -> bool:
        """Return whether too few endpoints are healthy for ejections to apply
        (``min_health_percent``; 0 disables this, so an all-ejected cluster has no upstream)."""
        minimum = self.spec.min_health_percent
        if minimum <= 0:
            return False
        healthy = len(self.hosts) - self.ejected_count
        return 100.0 * healthy / len(self.hosts) < minimum
