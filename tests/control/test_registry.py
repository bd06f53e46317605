"""Unit tests of the proxy registry: registration, sync state, heartbeat expiry on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from tether.control.registry import Registry, UnknownProxy
from tether.core.identity import ProxyNode


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now


def make(interval: float = 5.0) -> tuple[Registry, FakeClock]:
    clock = FakeClock()
    counter = itertools.count(1)
    return Registry(clock, interval, new_id=lambda: f"p{next(counter)}"), clock


ORDER = ProxyNode(name="order")


def test_register_returns_id_and_bumps_generation() -> None:
    reg, _ = make()
    assert reg.generation == 0
    pid = reg.register(ORDER, "127.0.0.1", 1234)
    assert pid == "p1" and reg.generation == 1
    rec = reg.get(pid)
    assert (rec.node, rec.address, rec.port, rec.connected) == (ORDER, "127.0.0.1", 1234, False)
    assert rec.status == "NOT SENT"


def test_re_registration_of_same_workload_replaces_old_entry() -> None:
    reg, _ = make()
    first = reg.register(ORDER, "127.0.0.1", 1234)
    second = reg.register(ORDER, "127.0.0.1", 1234)
    other = reg.register(ORDER, "127.0.0.1", 9999)
    assert [r.id for r in reg.records()] == [second, other]
    with pytest.raises(UnknownProxy):
        reg.get(first)


def test_status_follows_sent_ack_and_nack() -> None:
    reg, _ = make()
    pid = reg.register(ORDER, "127.0.0.1", 1)
    reg.set_desired(pid, "v1")
    reg.sent(pid, "v1")
    assert reg.get(pid).status == "STALE"
    reg.ack(pid, "v1", ok=True)
    assert reg.get(pid).status == "SYNCED"
    reg.set_desired(pid, "v2")
    reg.sent(pid, "v2")
    reg.ack(pid, "v2", ok=False, reason="route r1 points to unknown cluster x")
    rec = reg.get(pid)
    assert rec.status == "STALE"
    assert rec.acked_version == "v1"
    assert rec.last_nack is not None and rec.last_nack.reason.startswith("route r1")


def test_connected_proxy_never_expires() -> None:
    reg, clock = make(interval=5.0)
    pid = reg.register(ORDER, "127.0.0.1", 1)
    reg.set_connected(pid, True)
    clock.now += 3600
    assert reg.expire() == ()
    assert len(reg) == 1


def test_disconnected_proxy_expires_within_three_intervals() -> None:
    reg, clock = make(interval=5.0)
    pid = reg.register(ORDER, "127.0.0.1", 1)
    reg.set_connected(pid, True)
    clock.now += 100
    reg.set_connected(pid, False)
    gen = reg.generation
    clock.now += 14.9
    assert reg.expire() == ()
    clock.now += 0.1
    assert reg.expire() == (pid,)
    assert len(reg) == 0 and reg.generation > gen


def test_heartbeat_and_ack_postpone_expiry() -> None:
    reg, clock = make(interval=1.0)
    pid = reg.register(ORDER, "127.0.0.1", 1)
    clock.now += 2.5
    reg.heartbeat(pid)
    clock.now += 2.5
    reg.ack(pid, "v", ok=True)
    clock.now += 2.5
    assert reg.expire() == ()
    clock.now += 1
    assert reg.expire() == (pid,)


def test_unknown_ids_raise() -> None:
    reg, _ = make()
    for call in (reg.heartbeat, reg.get, lambda p: reg.ack(p, "v", True)):
        with pytest.raises(UnknownProxy, match="register again"):
            call("nope")


def test_slack_removes_earlier() -> None:
    reg, clock = make(interval=5.0)
    pid = reg.register(ORDER, "127.0.0.1", 1)
    clock.now += 14.5
    assert reg.expire() == ()
    assert reg.expire(slack=0.5) == (pid,)
