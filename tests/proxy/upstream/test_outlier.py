"""Outlier detection on virtual time: thresholds, ejection time, max ejection %, sweeps, panic."""

from __future__ import annotations

from tether.core.schema.snapshot import OutlierDetection
from tether.proxy.upstream.outlier import HostHealth, OutlierDetector
from tether.testing.clock import FakeClock


def detector(n: int = 4, **fields: object) -> tuple[OutlierDetector, list[HostHealth], FakeClock]:
    clock = FakeClock()
    hosts = [HostHealth() for _ in range(n)]
    spec = OutlierDetection(**fields)  # type: ignore[arg-type]  # keyword fields of the struct
    return OutlierDetector(spec, hosts, clock), hosts, clock


def test_consecutive_5xx_ejects_at_the_threshold() -> None:
    od, (a, *_), _ = detector(consecutive_5xx=3, max_ejection_percent=100)
    assert not od.report(a, 500)
    assert not od.report(a, 503)
    assert od.report(a, 502)
    assert a.ejected and a.ejections == 1


def test_a_success_resets_the_count() -> None:
    od, (a, *_), _ = detector(consecutive_5xx=2, max_ejection_percent=100)
    od.report(a, 500)
    od.report(a, 200)
    assert not od.report(a, 500)
    assert not a.ejected


def test_gateway_errors_count_separately() -> None:
    od, (a, b, *_), _ = detector(consecutive_5xx=None, consecutive_gateway_errors=2, max_ejection_percent=100)
    od.report(a, 502)
    od.report(a, 500)  # a 5xx that is not a gateway error breaks the run
    assert not od.report(a, 504)
    assert od.report(a, 503)
    od.report(b, 500)
    assert not od.report(b, 500)


def test_max_ejection_percent_still_ejects_one() -> None:
    od, hosts, _ = detector(n=4, consecutive_5xx=1, max_ejection_percent=10)
    assert od.report(hosts[0], 500), "the first ejection is always allowed"
    assert not od.report(hosts[1], 500), "a second would be 50 % > 10 %"
    assert od.ejected_count == 1


def test_max_ejection_percent_allows_up_to_the_share() -> None:
    od, hosts, _ = detector(n=4, consecutive_5xx=1, max_ejection_percent=50)
    assert [od.report(h, 500) for h in hosts] == [True, True, False, False]


def test_ejection_time_grows_with_each_ejection_and_the_sweep_returns_hosts() -> None:
    od, (a, *_), clock = detector(consecutive_5xx=1, interval_ms=1000, base_ejection_time_ms=30_000,
                                  max_ejection_percent=100)
    od.report(a, 500)
    clock.advance(29)
    assert od.due() and not od.sweep() and a.ejected
    clock.advance(1)
    assert od.sweep() and not a.ejected
    od.report(a, 500)
    assert a.ejections == 2
    clock.advance(59)
    od.sweep()
    assert a.ejected, "second ejection lasts 2 x 30 s"
    clock.advance(1)
    assert od.sweep() and not a.ejected


def test_multiplier_decays_while_healthy_and_time_is_capped() -> None:
    od, (a, *_), clock = detector(consecutive_5xx=1, interval_ms=10_000, base_ejection_time_ms=200_000,
                                  max_ejection_percent=100)
    for _ in range(3):
        od.report(a, 500)
        assert od.ejection_time(a) <= 300.0
        clock.advance(od.ejection_time(a))
        od.sweep()
    assert a.ejections == 3 and not a.ejected
    clock.advance(od.ejection_time(a) + 10)
    od.sweep()
    assert a.ejections == 2


def test_not_due_before_the_interval() -> None:
    od, _, clock = detector(interval_ms=10_000)
    assert not od.due()
    clock.advance(10)
    assert od.due()
    od.sweep()
    assert not od.due()


def test_panic_below_min_health_percent() -> None:
    od, hosts, _ = detector(n=2, consecutive_5xx=1, max_ejection_percent=100, min_health_percent=60)
    assert not od.panic()
    od.report(hosts[0], 500)
    assert od.panic(), "1 of 2 healthy is below 60 %"
    od0, hosts0, _ = detector(n=1, consecutive_5xx=1, max_ejection_percent=100)
    od0.report(hosts0[0], 500)
    assert not od0.panic(), "min_health_percent 0 never panics"


def test_ejected_host_ignores_further_results() -> None:
    od, (a, *_), _ = detector(consecutive_5xx=1, max_ejection_percent=100)
    od.report(a, 500)
    assert not od.report(a, 500)
    assert a.ejections == 1
