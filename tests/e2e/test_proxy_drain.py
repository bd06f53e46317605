"""Graceful drain of ``tether proxy`` on SIGTERM (DESIGN §7): stop accepting, finish every
in-flight request, exit 0."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable

import pytest

from tether.testing.procs import wait_until
from tether.testing.rawhttp import RawResponse, http_request
from tether.testing.sidecar import Sidecar
from tether.testing.upstream import ScriptableUpstream

pytestmark = pytest.mark.e2e

SidecarFactory = Callable[..., Sidecar]
IN_FLIGHT = 5


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except OSError:
        return True


def test_sigterm_drains_in_flight_requests(sidecar_factory: SidecarFactory) -> None:
    with ScriptableUpstream() as up:
        sidecar = sidecar_factory("drainer", {"upstream": up.port}, up.port)
        results: list[RawResponse | BaseException] = []
        lock = threading.Lock()

        def call(i: int) -> None:
            port = sidecar.outbound if i % 2 == 0 else sidecar.inbound
            host = "upstream" if i % 2 == 0 else "drainer"
            try:
                resp: RawResponse | BaseException = http_request(
                    port, "GET", f"/delay/1500?i={i}", [("Host", host)], timeout=15)
            except BaseException as exc:  # recorded, asserted below in the main thread
                resp = exc
            with lock:
                results.append(resp)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(IN_FLIGHT)]
        for thread in threads:
            thread.start()
        assert wait_until(lambda: up.request_count >= IN_FLIGHT, 10), sidecar.describe()
        sidecar.proc.send_signal(signal.SIGTERM)
        assert wait_until(lambda: _refused(sidecar.outbound) and _refused(sidecar.inbound), 5)
        for thread in threads:
            thread.join(20)
        assert [r.status if isinstance(r, RawResponse) else r for r in results] == \
            [200] * IN_FLIGHT, sidecar.describe()
        assert sidecar.proc.wait(15) == 0, sidecar.describe()


def test_sigterm_when_idle_exits_zero(sidecar_factory: SidecarFactory) -> None:
    with ScriptableUpstream() as up:
        sidecar = sidecar_factory("idle", {"upstream": up.port}, up.port)
        assert http_request(sidecar.outbound, "GET", "/", [("Host", "upstream")]).status == 200
        sidecar.proc.send_signal(signal.SIGTERM)
        assert sidecar.proc.wait(10) == 0, sidecar.describe()
