"""PeerAuthentication and DestinationRule tls → InboundTls, cluster tls_mode, plaintext endpoints."""

from __future__ import annotations

from pathlib import Path

from tether.control.model import parse_documents
from tether.control.translate import translate
from tether.control.translate.peer_authn import cluster_tls_mode, inbound_tls_for
from tether.control.world import Workload, World
from tether.core.identity import ProxyNode
from tether.core.schema.tls import DISABLE, ISTIO_MUTUAL, PERMISSIVE, STRICT, InboundTls

ORDER = ProxyNode(name="order", labels={"app": "order"})
INVOICING = ProxyNode(name="invoicing", labels={"app": "invoicing"})
SHOP = ProxyNode(name="cart", namespace="shop")
BOOK = Path(__file__).parents[3] / "examples" / "book" / "enforce-mtls.yaml"


def pa(name: str, namespace: str, spec: str) -> str:
    return (f"apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\n"
            f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}\n---\n")


def world(text: str, *workloads: Workload) -> World:
    return World(parse_documents(text, "test.yaml").resources if text else (), workloads)


def mode_of(w: World, node: ProxyNode) -> str:
    tls = inbound_tls_for(w, node)
    return tls.mode if tls is not None else "none"


def test_no_policy_is_none_which_the_proxy_reads_as_permissive() -> None:
    assert inbound_tls_for(world(""), ORDER) is None
    assert inbound_tls_for(world(pa("x", "other", "  mtls: {mode: STRICT}")), ORDER) is None


def test_the_most_specific_level_wins_and_unset_inherits() -> None:
    mesh = pa("mesh", "tether-system", "  mtls: {mode: STRICT}")
    ns = pa("ns", "default", "  mtls: {mode: PERMISSIVE}")
    wl = pa("wl", "default", "  selector: {matchLabels: {app: order}}\n  mtls: {mode: DISABLE}")
    unset = pa("wl", "default", "  selector: {matchLabels: {app: order}}\n  mtls: {mode: UNSET}")
    assert inbound_tls_for(world(mesh), SHOP) == InboundTls(mode=STRICT, policy="PeerAuthentication/tether-system/mesh")
    assert inbound_tls_for(world(mesh + ns), ORDER) == InboundTls(mode=PERMISSIVE, policy="PeerAuthentication/default/ns")
    assert inbound_tls_for(world(mesh + ns + wl), ORDER) == InboundTls(mode=DISABLE, policy="PeerAuthentication/default/wl")
    assert mode_of(world(mesh + ns + wl), INVOICING) == PERMISSIVE
    assert mode_of(world(mesh + unset), ORDER) == STRICT


def test_port_level_modes() -> None:
    spec = "  selector: {matchLabels: {app: order}}\n  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080: {mode: PERMISSIVE}\n    9090: {mode: UNSET}"
    tls = inbound_tls_for(world(pa("wl", "default", spec)), ORDER)
    assert tls is not None
    assert tls.port_modes == {8080: PERMISSIVE}
    assert (tls.mode_for(8080), tls.mode_for(9090), tls.mode_for(None)) == (PERMISSIVE, STRICT, STRICT)


def dr(spec: str) -> str:
    return ("apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: d, namespace: default}\n"
            f"spec:\n  host: order\n{spec}\n")


def test_destination_rule_tls_modes() -> None:
    spec = """\
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings:
    - port: {number: 9000}
      tls: {mode: DISABLE}
  subsets:
  - name: legacy
    labels: {version: v0}
    trafficPolicy: {tls: {mode: DISABLE}}
  - name: tls-origination
    labels: {version: v9}
    trafficPolicy: {tls: {mode: SIMPLE}}"""
    w = world(dr(spec))
    rule = w.destination_rules[0][1]
    assert cluster_tls_mode(rule, "", 80) == ISTIO_MUTUAL
    assert cluster_tls_mode(rule, "", 9000) == DISABLE
    assert cluster_tls_mode(rule, "legacy", 80) == DISABLE
    assert cluster_tls_mode(rule, "tls-origination", 80) == ISTIO_MUTUAL
    assert cluster_tls_mode(None, "", 80) == ""


def test_translate_marks_clusters_and_disabled_endpoints() -> None:
    text = pa("mtls-off", "default", "  selector: {matchLabels: {app: invoicing}}\n  mtls: {mode: DISABLE}")
    w = world(text, Workload(node=ORDER, address="127.0.0.1", port=1001),
              Workload(node=INVOICING, address="127.0.0.1", port=1002))
    snap = translate(w, ORDER)
    by_service = {c.service.split(".")[0]: c for c in snap.clusters}
    assert by_service["invoicing"].tls_mode == ""
    assert [e.plaintext for e in by_service["invoicing"].endpoints] == [True]
    assert [e.plaintext for e in by_service["order"].endpoints] == [False]
    assert snap.inbound_tls is None  # no policy selects order


def test_the_books_enforce_mtls_listing() -> None:
    w = world(BOOK.read_text(), Workload(node=INVOICING, address="127.0.0.1", port=1002))
    assert inbound_tls_for(w, INVOICING) == InboundTls(mode=STRICT, policy="PeerAuthentication/default/invoicing-policy")
    assert inbound_tls_for(w, ORDER) is None
    cluster = next(c for c in translate(w, ORDER).clusters if c.service.startswith("invoicing."))
    assert cluster.tls_mode == ISTIO_MUTUAL


def test_the_old_policy_kind_points_to_peer_authentication() -> None:
    text = "apiVersion: authentication.istio.io/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec: {peers: [{mtls: {}}]}\n"
    try:
        parse_documents(text, "old.yaml")
    except Exception as exc:
        assert "PeerAuthentication" in str(exc)
    else:
        raise AssertionError("the removed Policy kind was accepted")
