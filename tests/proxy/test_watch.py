"""The proxy's watch client against a scripted control API (real sockets on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable

import pytest

from tether.client.aio import Control
from tether.control.api.http import (
    ChunkWriter,
    HttpError,
    HttpServer,
    Request,
    Response,
    StreamResponse,
    json_response,
)
from tether.core.clock import SYSTEM_CLOCK
from tether.core.errors import ConfigRejected, UsageError
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot, encode, with_version
from tether.core.tasks import TaskGroup
from tether.proxy.watch import WatchState, parse_control_url, run_watch

GOOD = with_version(Snapshot())


class Scripted:
    """A control API that registers, streams a scripted list of lines, records ACKs."""

    def __init__(self) -> None:
        self.registrations: list[dict[str, object]] = []
        self.acks: list[dict[str, object]] = []
        self.watch_queries: list[str] = []
        self.lines: list[bytes] = [b"", b'{"version": "bad", "clusters": 7}', encode(GOOD)]
        self.forget_first = False
        self.credentials: set[str | None] = set()  # Authorization headers seen
        self.refuse = ""  # answer registrations with 403 and this message

    async def handle(self, request: Request) -> Response | StreamResponse:
        self.credentials.add(request.headers.get("authorization"))
        if self.refuse:
            raise HttpError(403, self.refuse)
        if request.path == "/v1/proxies/register":
            self.registrations.append(request.json())
            return json_response({"id": f"p{len(self.registrations)}", "heartbeat_interval": 1})
        if request.path.endswith("/watch"):
            self.watch_queries.append(request.query.get("version", ""))
            if self.forget_first and len(self.registrations) == 1:
                raise HttpError(404, "unknown proxy 'p1': register again")

            async def produce(out: ChunkWriter) -> None:
                for line in self.lines:
                    await out.send(line + b"\n")
                await asyncio.sleep(3600)

            return StreamResponse(produce)
        if request.path.endswith("/ack"):
            self.acks.append(request.json())
            return json_response({"ok": True})
        raise HttpError(404, "no")


@pytest.fixture
async def api() -> AsyncIterator[tuple[Scripted, HttpServer]]:
    scripted = Scripted()
    server = HttpServer(scripted.handle)
    await server.start("127.0.0.1", 0)
    try:
        yield scripted, server
    finally:
        await server.close()


class Sink:
    def __init__(self, refuse: str = "") -> None:
        self.applied: list[Snapshot] = []
        self.refuse = refuse

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        if self.refuse:
            raise ConfigRejected(self.refuse)
        self.applied.append(snapshot)


async def eventually(predicate: Callable[[], bool]) -> None:
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached")


def test_parse_control_url() -> None:
    assert parse_control_url("http://127.0.0.1:15010") == ("127.0.0.1", 15010)
    assert parse_control_url("127.0.0.1:9") == ("127.0.0.1", 9)
    assert parse_control_url("https://x:1") == ("x", 1)
    with pytest.raises(UsageError):
        parse_control_url("ftp://x:1")


async def start(server: HttpServer, sink: Sink, state: WatchState, token: str | None = None) -> TaskGroup:
    group = TaskGroup("test")
    group.spawn("watch", run_watch(
        Control("127.0.0.1", server.port, token=token), ProxyNode(name="order"), sink,
        inbound_address="127.0.0.1:15006", clock=SYSTEM_CLOCK, rng=random.Random(1),
        state=state, backoff_base=0.01, backoff_cap=0.05,
    ))
    return group


async def test_acks_good_nacks_undecodable(api: tuple[Scripted, HttpServer]) -> None:
    scripted, server = api
    sink, state = Sink(), WatchState()
    group = await start(server, sink, state)
    try:
        await eventually(lambda: len(scripted.acks) == 2)
    finally:
        await group.close()
    registration = scripted.registrations[0]
    node = registration["node"]
    assert isinstance(node, dict) and node["name"] == "order"
    assert registration["inbound"] == "127.0.0.1:15006"
    bad, good = scripted.acks
    assert bad["ok"] is False and bad["version"] == "bad"
    assert "does not decode" in str(bad["error"])
    assert good == {"version": GOOD.version, "ok": True}
    assert sink.applied == [GOOD] and state.version == GOOD.version


async def test_refusal_is_a_nack_with_the_reason(api: tuple[Scripted, HttpServer]) -> None:
    scripted, server = api
    scripted.lines = [encode(GOOD)]
    group = await start(server, Sink(refuse="route x names unknown cluster y"), WatchState())
    try:
        await eventually(lambda: len(scripted.acks) == 1)
    finally:
        await group.close()
    assert scripted.acks[0] == {
        "version": GOOD.version, "ok": False, "error": "route x names unknown cluster y",
    }


async def test_forgotten_proxy_registers_again(api: tuple[Scripted, HttpServer]) -> None:
    scripted, server = api
    scripted.forget_first = True
    scripted.lines = [encode(GOOD)]
    state = WatchState()
    group = await start(server, Sink(), state)
    try:
        await eventually(lambda: len(scripted.acks) == 1)
    finally:
        await group.close()
    assert state.registrations == 2 and state.proxy_id == "p2"


async def test_every_call_presents_the_join_token(api: tuple[Scripted, HttpServer]) -> None:
    scripted, server = api
    group = await start(server, Sink(), WatchState(), token="tjt1.payload.mac")
    try:
        await eventually(lambda: len(scripted.acks) == 2)
    finally:
        await group.close()
    assert scripted.credentials == {"Bearer tjt1.payload.mac"}  # register, watch and both ACKs


async def test_a_refusal_is_logged_as_an_error_and_retried(api: tuple[Scripted, HttpServer],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    scripted, server = api
    scripted.refuse = "the join token grants spiffe://cluster.local/ns/default/sa/evil"
    state = WatchState()
    group = await start(server, Sink(), state, token="tjt1.payload.mac")
    try:
        await eventually(lambda: caplog.text.count("refuses this proxy") >= 2)
    finally:
        await group.close()
    assert "refuses this proxy: HTTP 403: the join token grants" in caplog.text
    assert any(r.levelname == "ERROR" for r in caplog.records if "refuses this proxy" in r.message)
    assert state.registrations == 0
