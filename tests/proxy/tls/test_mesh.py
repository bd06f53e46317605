"""MeshTls: the snapshot's PeerAuthentication and bundle, credentials for new connections, and the
metrics labels an mTLS exchange gets."""

from __future__ import annotations

from tether.core.identity import ProxyNode
from tether.core.schema.snapshot import Cluster, Endpoint, Snapshot
from tether.core.schema.tls import DISABLE, PERMISSIVE, STRICT, InboundTls
from tether.proxy.filters.metrics import LABELS, IstioMetrics, RequestSeries
from tether.proxy.tls.devpki import DevCa
from tether.proxy.tls.mesh import MeshTls
from tether.testing.factories import make_exchange

OLD, NEW = DevCa(), DevCa()
SHIPPING = Endpoint(address="127.0.0.1", port=9, principal="cluster.local/ns/default/sa/shipping")


def test_inbound_mode_follows_the_snapshot_and_the_app_port() -> None:
    tls = MeshTls(app_port=8080)
    tls.apply(Snapshot())
    assert tls.inbound.mode == PERMISSIVE
    tls.apply(Snapshot(inbound_tls=InboundTls(mode=STRICT, port_modes={8080: DISABLE})))
    assert tls.inbound.mode == DISABLE
    tls.app_port = 9090
    tls.apply(Snapshot(inbound_tls=InboundTls(mode=STRICT, port_modes={8080: DISABLE})))
    assert tls.inbound.mode == STRICT


def test_auto_mtls_needs_credentials_and_identities_are_shared_per_principal() -> None:
    tls = MeshTls()
    snap = Snapshot(clusters=(Cluster(name="c", service="s", port=80, endpoints=(SHIPPING,)),))
    tls.apply(snap)
    assert tls.upstream("127.0.0.1", 9) is None  # no certificate yet: plaintext
    tls.set_credentials(OLD.credentials("default", "order"))
    tls.apply(snap)
    first = tls.upstream("127.0.0.1", 9)
    assert first is not None and first.expected == SHIPPING.principal
    assert tls.upstream("127.0.0.1", 9) is first
    assert tls.inbound.context is not None and tls.inbound.trust_domain == "cluster.local"


def test_root_rotation_overlap_bundle_from_the_snapshot_is_used_for_new_contexts() -> None:
    tls = MeshTls()
    tls.set_credentials(OLD.credentials("default", "order"))
    before = tls.client
    overlap = (*NEW.bundle, *OLD.bundle)
    tls.apply(Snapshot(trust_bundle=overlap))
    assert tls.credentials is not None and tls.credentials.bundle == overlap
    assert tls.client is not before
    # A later certificate (from the new root) keeps the overlap bundle the snapshot set.
    tls.set_credentials(NEW.credentials("default", "order"))
    assert tls.credentials.bundle == overlap and tls.rotations == 2


def test_metrics_show_the_verified_principal_and_mutual_tls() -> None:
    metrics = IstioMetrics(ProxyNode(name="shipping"), "destination", RequestSeries())
    ex = make_exchange(direction="inbound")
    ex.peer = ("order", "default", "order", "v1")
    ex.extra = {"peer_principal": "cluster.local/ns/default/sa/order"}
    values = dict(zip(LABELS, metrics.label_values(ex), strict=True))
    assert values["source_principal"] == "cluster.local/ns/default/sa/order"
    assert values["connection_security_policy"] == "mutual_tls"
    plain = make_exchange(direction="inbound")
    values = dict(zip(LABELS, metrics.label_values(plain), strict=True))
    assert (values["source_principal"], values["connection_security_policy"]) == ("unknown", "none")
