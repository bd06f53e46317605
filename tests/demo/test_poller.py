from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from tether.demo.poller import (
    FetchError,
    FetchResult,
    Poller,
    PollResult,
    RecordRejected,
    poll_feed,
    urllib_fetch,
)
from tether.demo.web import Request, Response, json_response, text

from .support import FakeClock, free_port, serving, wait_until

FEED_URL = "http://order/feed"


def feed(*ids: int, link: str = "http://order/order/{}") -> bytes:
    orders = [{"id": i, "link": link.format(i), "updated": "t"} for i in ids]
    return json.dumps({"updated": "t", "orders": orders}).encode()


class FakeOrderService:
    """A scriptable fetch: answers by URL and records what was asked."""

    def __init__(self, feed_body: bytes, status: int = 200) -> None:
        self.feed_body = feed_body
        self.status = status
        self.failing: set[str] = set()
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, headers: Mapping[str, str]) -> FetchResult:
        self.calls.append((url, dict(headers)))
        if url in self.failing:
            raise FetchError("Connection refused")
        if url == FEED_URL:
            if self.status != 200:
                return FetchResult(self.status, {}, b"")
            return FetchResult(200, {"last-modified": "LM-1"}, self.feed_body)
        order_id = int(url.rsplit("/", 1)[1])
        return FetchResult(200, {}, json.dumps({"id": order_id}).encode())


class Sink:
    def __init__(self, known: set[int] | None = None, reject: set[int] | None = None) -> None:
        self.stored: dict[int, Any] = {i: {} for i in known or ()}
        self.reject = reject or set()

    def known(self, order_id: int) -> bool:
        return order_id in self.stored

    def accept(self, order_id: int, order: Any) -> bool:
        if order_id in self.reject:
            raise RecordRejected("unknown delivery service 'UPS'")
        if order_id in self.stored:
            return False
        self.stored[order_id] = order
        return True


def test_new_orders_are_fetched_by_link_and_stored() -> None:
    fetch, sink = FakeOrderService(feed(1, 2, 3)), Sink(known={2})
    result = poll_feed(fetch, FEED_URL, None, sink.known, sink.accept)
    assert result == PollResult(True, 2, "", "LM-1")
    assert sink.stored[3] == {"id": 3}
    assert [url for url, _ in fetch.calls] == [FEED_URL, "http://order/order/1", "http://order/order/3"]


def test_if_modified_since_is_sent_and_304_changes_nothing() -> None:
    fetch, sink = FakeOrderService(b"", status=304), Sink()
    result = poll_feed(fetch, FEED_URL, "LM-0", sink.known, sink.accept)
    assert result == PollResult(True, 0, "", "LM-0", not_modified=True)
    assert fetch.calls[0][1]["If-Modified-Since"] == "LM-0"


def test_relative_links_resolve_against_the_feed_url() -> None:
    fetch, sink = FakeOrderService(feed(5, link="order/{}")), Sink()
    poll_feed(fetch, FEED_URL, None, sink.known, sink.accept)
    assert fetch.calls[1][0] == "http://order/order/5"


@pytest.mark.parametrize(
    ("fetch", "error"),
    [
        (FakeOrderService(b"", status=500), "feed http://order/feed answered HTTP 500"),
        (FakeOrderService(b"{"), "http://order/feed: feed is not JSON"),
    ],
)
def test_a_failed_feed_is_reported_not_raised(fetch: FakeOrderService, error: str) -> None:
    result = poll_feed(fetch, FEED_URL, "LM-0", Sink().known, Sink().accept)
    assert (result.ok, result.new, result.last_modified) == (False, 0, "LM-0")
    assert result.error.startswith(error)


def test_unreachable_feed_is_reported() -> None:
    fetch = FakeOrderService(b"")
    fetch.failing.add(FEED_URL)
    result = poll_feed(fetch, FEED_URL, None, Sink().known, Sink().accept)
    assert result == PollResult(False, 0, "feed http://order/feed: Connection refused", None)


def test_one_bad_order_does_not_stop_the_others_nor_advance_last_modified() -> None:
    fetch, sink = FakeOrderService(feed(1, 2, 3)), Sink(reject={3})
    fetch.failing.add("http://order/order/1")
    result = poll_feed(fetch, FEED_URL, "LM-0", sink.known, sink.accept)
    assert (result.ok, result.new, result.last_modified) == (False, 1, "LM-0")
    assert result.error == ("order 1 (http://order/order/1): Connection refused (and 1 more)")
    assert set(sink.stored) == {2}


def test_poller_keeps_status_and_last_modified() -> None:
    fetch, sink, clock = FakeOrderService(feed(1)), Sink(), FakeClock(50.0)
    poller = Poller(fetch, FEED_URL, sink.known, sink.accept, clock)
    assert poller.status.at is None
    assert poller.poll().new == 1
    clock.advance(1)
    fetch.status = 503
    assert not poller.poll().ok
    assert poller.status.at == 51.0
    assert poller.status.polls == 2
    assert poller.status.error == "feed http://order/feed answered HTTP 503"
    assert fetch.calls[-1][1]["If-Modified-Since"] == "LM-1"


def test_background_polling_runs_until_stopped() -> None:
    fetch, sink = FakeOrderService(feed(1)), Sink()
    poller = Poller(fetch, FEED_URL, sink.known, sink.accept, FakeClock())
    poller.start(0.01, "test-poller")
    try:
        assert wait_until(lambda: poller.status.polls >= 2)
    finally:
        poller.stop()
    polls = poller.status.polls
    assert sink.stored == {1: {"id": 1}}
    assert poller.status.polls == polls


def test_interval_zero_means_no_background_polling() -> None:
    poller = Poller(FakeOrderService(feed()), FEED_URL, Sink().known, Sink().accept, FakeClock())
    poller.start(0, "test-poller")
    poller.stop()
    assert poller.status.polls == 0


def test_urllib_fetch_returns_every_status_with_lower_case_headers() -> None:
    def app(request: Request) -> Response:
        if request.path == "/304":
            return Response(304, b"", (("Last-Modified", "x"),))
        if request.path == "/500":
            return text("broken", 500)
        return json_response({"accept": request.headers.get("accept")})

    fetch = urllib_fetch(5)
    with serving(app) as url:
        ok = fetch(f"{url}/", {"Accept": "application/json"})
        not_modified = fetch(f"{url}/304", {})
        broken = fetch(f"{url}/500", {})
    assert (ok.status, json.loads(ok.body)) == (200, {"accept": "application/json"})
    assert ok.headers["content-type"] == "application/json"
    assert (not_modified.status, not_modified.headers["last-modified"]) == (304, "x")
    assert (broken.status, broken.body) == (500, b"broken\n")


def test_urllib_fetch_turns_refusal_and_timeout_into_fetch_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(10)
        return text("late")

    fetch = urllib_fetch(0.2)
    with pytest.raises(FetchError, match="refused"):
        fetch(f"http://127.0.0.1:{free_port()}/feed", {})
    with serving(slow) as url:
        try:
            with pytest.raises(FetchError, match=r"timeout|no answer"):
                fetch(f"{url}/feed", {})
        finally:
            release.set()


def test_urllib_fetch_goes_through_http_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []

    def sidecar(request: Request) -> Response:
        seen.append((request.headers.get("host", ""), request.path))
        return json_response({"updated": "t", "orders": []})

    with serving(sidecar) as url:
        for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("http_proxy", url)
        answer = urllib_fetch(5)("http://order/feed", {})
    assert answer.status == 200
    assert seen == [("order", "/feed")]


def test_an_unexpected_error_while_polling_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    def broken_store(order_id: int, order: Any) -> bool:
        raise RuntimeError("disk full")

    poller = Poller(FakeOrderService(feed(1)), FEED_URL, Sink().known, broken_store, FakeClock())
    result = poller.poll()
    assert (result.ok, result.error) == (False, "internal error: RuntimeError: disk full")
    assert poller.status.error == result.error
    assert "disk full" in capsys.readouterr().err
