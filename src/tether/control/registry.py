"""The registry of proxies: who is registered, who is connected, what each was sent and acked.

Pure bookkeeping with an injected clock; the asyncio server calls it. The registry
lives in memory: after a control-plane restart proxies register again (their watch
client does so on its own).

Liveness: a proxy is alive while its watch stream is connected. Once the stream is
gone (or was never opened) and nothing is heard from the proxy for
``3 x heartbeat_interval``, ``expire()`` removes it, and with it its endpoints.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable

import msgspec

from tether.core.clock import Clock
from tether.core.errors import TetherError
from tether.core.identity import ProxyNode

MISSED_HEARTBEATS = 3


class UnknownProxy(TetherError):
    """No proxy with that id is registered (it expired, or the control plane restarted)."""

    def __init__(self, proxy_id: str) -> None:
        super().__init__(f"unknown proxy {proxy_id!r}: register again")
        self.proxy_id = proxy_id


class Nack(msgspec.Struct, frozen=True, kw_only=True):
    """A refused snapshot: which version, when (wall time) and the proxy's reason."""

    version: str
    at: float
    reason: str


class ProxyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A frozen view of one registered proxy and its sync state (wall-clock times)."""

    id: str
    node: ProxyNode
    address: str
    port: int
    registered_at: float
    connected: bool
    desired_version: str = ""
    sent_version: str = ""
    sent_at: float | None = None
    acked_version: str = ""
    acked_at: float | None = None
    last_nack: Nack | None = None

    @property
    def status(self) -> str:
        """Return ``SYNCED`` (acked what it should run), ``NOT SENT`` or ``STALE``."""
        if not self.sent_version:
            return "NOT SENT"
        if self.acked_version and self.acked_version == self.desired_version:
            return "SYNCED"
        return "STALE"


class _Entry:
    __slots__ = ("last_seen", "record")

    def __init__(self, record: ProxyRecord, last_seen: float) -> None:
        self.record = record
        self.last_seen = last_seen


def _random_id() -> str:
    return secrets.token_hex(8)


class Registry:
    """Registered proxies by id. Times: ``clock.monotonic`` for liveness, ``wall`` for display."""

    def __init__(
        self,
        clock: Clock,
        heartbeat_interval: float = 5.0,
        new_id: Callable[[], str] = _random_id,
    ) -> None:
        self.clock = clock
        self.heartbeat_interval = heartbeat_interval
        self._new_id = new_id
        self._entries: dict[str, _Entry] = {}
        self._generation = itertools.count(1)
        self.generation = 0  # bumps whenever the set of workloads changes

    def register(self, node: ProxyNode, address: str, port: int) -> str:
        """Register a proxy and return its new id.

        A proxy registering again with the same name, namespace and address replaces
        its old entry (it restarted, or the stream broke and it lost its id).
        """
        for old_id, entry in list(self._entries.items()):
            rec = entry.record
            same = (rec.node.name, rec.node.namespace, rec.address, rec.port)
            if same == (node.name, node.namespace, address, port):
                del self._entries[old_id]
        proxy_id = self._new_id()
        record = ProxyRecord(
            id=proxy_id,
            node=node,
            address=address,
            port=port,
            registered_at=self.clock.wall(),
            connected=False,
        )
        self._entries[proxy_id] = _Entry(record, self.clock.monotonic())
        self._changed()
        return proxy_id

    def get(self, proxy_id: str) -> ProxyRecord:
        """Return the record of ``proxy_id``; raises UnknownProxy."""
        return self._entry(proxy_id).record

    def records(self) -> tuple[ProxyRecord, ...]:
        """Return every registered proxy, sorted by namespace, name and id."""
        recs = (e.record for e in self._entries.values())
        return tuple(sorted(recs, key=lambda r: (r.node.namespace, r.node.name, r.id)))

    def __len__(self) -> int:
        return len(self._entries)

    def heartbeat(self, proxy_id: str) -> None:
        """Note that the proxy was heard from now; raises UnknownProxy."""
        self._entry(proxy_id).last_seen = self.clock.monotonic()

    def set_connected(self, proxy_id: str, connected: bool) -> None:
        """Record that the proxy's watch stream opened or closed; raises UnknownProxy."""
        entry = self._entry(proxy_id)
        entry.last_seen = self.clock.monotonic()
        entry.record = msgspec.structs.replace(entry.record, connected=connected)

    def set_desired(self, proxy_id: str, version: str) -> None:
        """Record the version the proxy should run now; raises UnknownProxy."""
        entry = self._entry(proxy_id)
        entry.record = msgspec.structs.replace(entry.record, desired_version=version)

    def sent(self, proxy_id: str, version: str) -> None:
        """Record that ``version`` was written to the proxy's stream; raises UnknownProxy."""
        entry = self._entry(proxy_id)
        entry.record = msgspec.structs.replace(
            entry.record, sent_version=version, sent_at=self.clock.wall()
        )

    def ack(self, proxy_id: str, version: str, ok: bool, reason: str = "") -> None:
        """Record an ACK (``ok``) or a NACK with its reason; raises UnknownProxy."""
        entry = self._entry(proxy_id)
        entry.last_seen = self.clock.monotonic()
        now = self.clock.wall()
        if ok:
            entry.record = msgspec.structs.replace(
                entry.record, acked_version=version, acked_at=now
            )
        else:
            nack = Nack(version=version, at=now, reason=reason or "rejected")
            entry.record = msgspec.structs.replace(entry.record, last_nack=nack)

    def expire(self, slack: float = 0.0) -> tuple[str, ...]:
        """Remove proxies without a stream that were silent for 3 heartbeat intervals.

        ``slack`` removes them that much earlier: a caller checking every ``slack`` seconds
        thereby removes every silent proxy within 3 intervals. Returns the removed ids.
        """
        limit = MISSED_HEARTBEATS * self.heartbeat_interval - slack
        deadline = self.clock.monotonic() - limit
        gone = tuple(
            pid
            for pid, e in self._entries.items()
            if not e.record.connected and e.last_seen <= deadline
        )
        for pid in gone:
            del self._entries[pid]
        if gone:
            self._changed()
        return gone

    def _entry(self, proxy_id: str) -> _Entry:
        try:
            return self._entries[proxy_id]
        except KeyError:
            raise UnknownProxy(proxy_id) from None

    def _changed(self) -> None:
        self.generation = next(self._generation)
