"""Push decisions: who is woken after a change."""

from __future__ import annotations

from tether.control.push.planner import TranslationFailed, plan_push
from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Cluster, Snapshot, with_version

ORDER = ProxyNode(name="order")
SHIPPING = ProxyNode(name="shipping")
OTHER_NS = ProxyNode(name="order", namespace="prod")

World = dict[str, tuple[str, ...]]  # namespace -> services visible there
ONE: World = {"default": ("a",)}


def fake_translate(world: World, node: ProxyNode) -> Snapshot:
    if node.name == "broken":
        raise ValueError("boom")
    clusters = tuple(
        Cluster(name=f"outbound|80||{s}", service=s, port=80) for s in world.get(node.namespace, ())
    )
    return with_version(Snapshot(clusters=clusters))


def test_everyone_new_is_woken() -> None:
    world: World = {"default": ("a",)}
    send, failed = plan_push(world, [("1", ORDER), ("2", SHIPPING)], {}, fake_translate)
    assert all(s.version for s in send.values())
    assert set(send) == {"1", "2"} and not failed


def test_unaffected_proxy_is_not_woken() -> None:
    before: World = {"default": ("a",), "prod": ("p",)}
    proxies = [("1", ORDER), ("2", SHIPPING), ("3", OTHER_NS)]
    first, _ = plan_push(before, proxies, {}, fake_translate)
    current = {pid: snap.version for pid, snap in first.items()}
    after: World = {"default": ("a", "b"), "prod": ("p",)}
    send, _ = plan_push(after, proxies, current, fake_translate)
    assert set(send) == {"1", "2"}
    unchanged, _ = plan_push(before, proxies, current, fake_translate)
    assert unchanged == {}


def test_identical_nodes_share_one_translation() -> None:
    calls: list[ProxyNode] = []

    def counting(world: World, node: ProxyNode) -> Snapshot:
        calls.append(node)
        return fake_translate(world, node)

    proxies = [(str(i), ProxyNode(name="order")) for i in range(50)]
    send, _ = plan_push(ONE, proxies, {}, counting)
    assert len(send) == 50 and len(calls) == 1


def test_failed_translation_is_reported_and_others_still_pushed() -> None:
    proxies = [("1", ProxyNode(name="broken")), ("2", ORDER)]
    send, failed = plan_push(ONE, proxies, {}, fake_translate)
    assert set(send) == {"2"}
    assert isinstance(failed["1"], TranslationFailed) and "boom" in failed["1"].error


def test_gc_is_paused_during_planning_and_restored() -> None:
    import gc

    seen: list[bool] = []

    def observing(world: World, node: ProxyNode) -> Snapshot:
        seen.append(gc.isenabled())
        return fake_translate(world, node)

    assert gc.isenabled()
    plan_push(ONE, [("1", ORDER)], {}, observing)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        plan_push(ONE, [("1", ORDER)], {}, observing)
        assert not gc.isenabled()
    finally:
        gc.enable()
