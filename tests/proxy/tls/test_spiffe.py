"""SPIFFE IDs: parsing, formatting, and reading them from certificates and TLS peers."""

from __future__ import annotations

import pytest

from tether.proxy.tls.certs import load_certs
from tether.proxy.tls.devpki import DevCa
from tether.proxy.tls.spiffe import BadIdentity, id_of_certificate, id_of_peercert, make_id, parse_id


def test_round_trip_and_principal() -> None:
    ident = make_id("cluster.local", "default", "order")
    assert ident.uri == "spiffe://cluster.local/ns/default/sa/order"
    assert ident.principal == "cluster.local/ns/default/sa/order"
    assert parse_id(ident.uri) == ident == parse_id(ident.principal)


@pytest.mark.parametrize("text", ["spiffe://cluster.local/ns/default", "spiffe://Cluster.Local/ns/a/sa/b",
                                  "spiffe://td/ns/a/sa/b/c", "https://td/ns/a/sa/b", "", "spiffe:///ns/a/sa/b"])
def test_malformed_ids_are_refused(text: str) -> None:
    with pytest.raises(BadIdentity):
        parse_id(text)


def test_the_id_of_a_workload_certificate() -> None:
    creds = DevCa("example.org").credentials("shop", "cart")
    leaf = load_certs(creds.chain_pem)[0]
    assert id_of_certificate(leaf).uri == "spiffe://example.org/ns/shop/sa/cart"
    root = load_certs(DevCa().bundle[0])[0]
    with pytest.raises(BadIdentity, match="0 SPIFFE URI SANs"):
        id_of_certificate(root)


def test_the_id_of_a_tls_peer_from_what_ssl_parsed() -> None:
    uri = "spiffe://cluster.local/ns/default/sa/order"
    peer = {"subject": ((("organizationName", "cluster.local"),),),
            "subjectAltName": (("DNS", "order"), ("URI", "https://example.org/"), ("URI", uri))}
    assert id_of_peercert(peer).uri == uri
    with pytest.raises(BadIdentity, match="no verified certificate"):
        id_of_peercert(None)
    with pytest.raises(BadIdentity, match="no verified certificate"):
        id_of_peercert({})
    with pytest.raises(BadIdentity, match="0 SPIFFE URI SANs"):
        id_of_peercert({"subject": ()})
    with pytest.raises(BadIdentity, match="2 SPIFFE URI SANs"):
        id_of_peercert({"subjectAltName": (("URI", uri), ("URI", uri.replace("order", "other")))})
    with pytest.raises(BadIdentity, match="not a workload SPIFFE ID"):
        id_of_peercert({"subjectAltName": (("URI", "spiffe://cluster.local/admin"),)})
