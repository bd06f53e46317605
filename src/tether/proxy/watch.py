"""The proxy's side of the watch protocol: register, hold the stream, apply, ACK or NACK.

On any failure (control plane down, stream cut, proxy forgotten after a control-plane
restart) the proxy keeps running its last snapshot, waits a jittered exponential
backoff and registers again, forever until cancelled. With a join token, every call
(register, watch, ack) presents it: the control plane checks that it entitles this node,
and requires it from proxies that are not on its own host.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Protocol
from urllib.parse import quote

import msgspec

from tether.client.aio import Control, ControlError, control_endpoint
from tether.client.tls import describe_tls_failure
from tether.client.tls import parse_control_url as parse_url
from tether.core.backoff import Backoff
from tether.core.clock import Clock
from tether.core.errors import ConfigRejected
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot, decode

log = logging.getLogger(__name__)


class SnapshotSink(Protocol):
    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Run ``snapshot`` from now on; raises ConfigRejected to refuse it."""


def parse_control_url(url: str) -> tuple[str, int]:
    """Return ``(host, port)`` of an ``http[s]://HOST:PORT`` URL; raises UsageError."""
    _, host, port = parse_url(url, "--control")
    return host, port


class WatchState:
    """What the watch client knows, for logs and tests: the id, the last applied version."""

    def __init__(self) -> None:
        self.proxy_id = ""
        self.version = ""
        self.registrations = 0
        self.acks = 0
        self.nacks = 0


async def run_watch(
    control: Control | str,
    node: ProxyNode,
    sink: SnapshotSink,
    *,
    inbound_address: str,
    clock: Clock,
    rng: random.Random,
    state: WatchState | None = None,
    backoff_base: float = 0.1,
    backoff_cap: float = 5.0,
) -> None:
    """Keep ``sink`` fed with this proxy's snapshots from ``control`` (an endpoint, or a URL
    taken with the default CA file and no token) until cancelled; never returns.

    Raises UsageError at once when the URL is malformed; every other failure is logged and
    retried after a jittered backoff.
    """
    if isinstance(control, str):
        control = control_endpoint(control)
    state = state or WatchState()
    backoff = Backoff(backoff_base, backoff_cap, rng)
    while True:
        started = clock.monotonic()
        try:
            await _session(control, node, sink, inbound_address, state, backoff)
        except asyncio.CancelledError:
            raise
        except ControlError as exc:
            if exc.status in (401, 403):  # no retry fixes this by itself; say so loudly
                log.error("the control plane %s refuses this proxy: %s", control.url, exc)
            else:
                log.warning("control plane %s: %s; keeping the last snapshot", control.url, exc)
        except (OSError, TimeoutError) as exc:
            why = describe_tls_failure(exc, control.url, control.ca_file) or f"control plane {control.url}: {exc}"
            log.warning("%s; keeping the last snapshot", why)
        except Exception:
            log.exception("watch of %s failed; keeping the last snapshot", control.url)
        delay = backoff.next_delay()
        log.info(
            "watch session lasted %.1fs; reconnecting in %.2fs", clock.monotonic() - started, delay
        )
        await asyncio.sleep(delay)


async def _session(
    control: Control,
    node: ProxyNode,
    sink: SnapshotSink,
    inbound: str,
    state: WatchState,
    backoff: Backoff,
) -> None:
    body = {"node": msgspec.to_builtins(node), "inbound": inbound}
    answer = await control.request_json("POST", "/v1/proxies/register", body)
    state.proxy_id = proxy_id = str(answer["id"])
    state.registrations += 1
    interval = float(answer.get("heartbeat_interval", 5.0))
    path = f"/v1/proxies/{quote(proxy_id)}/watch?version={quote(state.version)}"
    log.info("registered with the control plane as %s", proxy_id)
    async for line in control.stream_lines(path, idle_timeout=3 * interval):
        backoff.reset()  # the stream is up: the next failure starts from a short delay
        if not line.strip():
            continue  # keep-alive
        await _handle(control, proxy_id, line, sink, state)


async def _handle(control: Control, proxy_id: str, line: bytes, sink: SnapshotSink, state: WatchState) -> None:
    try:
        snapshot = decode(line)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        version = _peek_version(line)
        await _ack(control, proxy_id, version, f"snapshot does not decode: {exc}", state)
        return
    try:
        sink.apply_snapshot(snapshot)
    except ConfigRejected as exc:
        await _ack(control, proxy_id, snapshot.version, exc.reason, state)
        return
    state.version = snapshot.version
    await _ack(control, proxy_id, snapshot.version, None, state)


async def _ack(control: Control, proxy_id: str, version: str, error: str | None, state: WatchState) -> None:
    body: dict[str, object] = {"version": version, "ok": error is None}
    if error is None:
        state.acks += 1
    else:
        state.nacks += 1
        body["error"] = error
        log.warning("refused snapshot %s: %s", version, error)
    try:
        await control.request_json("POST", f"/v1/proxies/{quote(proxy_id)}/ack", body)
    except (OSError, TimeoutError, ControlError) as exc:
        # The stream itself will notice a dead control plane; a lost ACK only delays status.
        log.warning("could not send %s for %s: %s", "ACK" if error is None else "NACK", version, exc)


def _peek_version(line: bytes) -> str:
    try:
        obj = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return ""
    return str(obj.get("version", "")) if isinstance(obj, dict) else ""
