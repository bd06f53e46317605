"""Who must be woken after a change: pure, given the world, the proxies and what each has.

A proxy is woken only when its newly translated snapshot has a version different from the
one it was last given, so a change that does not affect it costs a translation, not a push.
Proxies with identical nodes (same name, namespace, labels...) share one translation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import msgspec

from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Snapshot

W = TypeVar("W")

_node_key = msgspec.json.Encoder(order="deterministic").encode


class TranslationFailed(msgspec.Struct, frozen=True):
    """Translation raised for this node; the proxy keeps what it has."""

    node: ProxyNode
    error: str


def plan_push(
    world: W,
    proxies: Iterable[tuple[str, ProxyNode]],
    current: Mapping[str, str],
    translate: Callable[[W, ProxyNode], Snapshot],
) -> tuple[dict[str, Snapshot], dict[str, TranslationFailed]]:
    """Return ``(to_send, failures)``.

    ``to_send`` maps proxy id to its new snapshot for every proxy whose version differs
    from ``current[id]`` (missing means never given one). ``failures`` maps the ids whose
    translation raised to the error; those proxies are not in ``to_send``.
    """
    cache: dict[bytes, Snapshot | TranslationFailed] = {}
    to_send: dict[str, Snapshot] = {}
    failures: dict[str, TranslationFailed] = {}
    for proxy_id, node in proxies:
        key = _node_key(node)
        result = cache.get(key)
        if result is None:
            try:
                result = translate(world, node)
            except Exception as exc:  # a translation bug must not stop pushes to others
                result = TranslationFailed(node, f"{type(exc).__name__}: {exc}")
            cache[key] = result
        if isinstance(result, TranslationFailed):
            failures[proxy_id] = result
        elif result.version != current.get(proxy_id):
            to_send[proxy_id] = result
    return to_send, failures
