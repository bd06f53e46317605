"""TLS contexts from credentials, and the peer's SPIFFE ID read after a real (in-memory) handshake."""

from __future__ import annotations

import ssl

import pytest

from tether.proxy.tls.contexts import client_context, load_chain, server_context, verify_peer
from tether.proxy.tls.devpki import DevCa
from tether.proxy.tls.spiffe import BadIdentity

CA = DevCa()
ORDER = CA.credentials("default", "order")
SHIPPING = CA.credentials("default", "shipping")


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> tuple[ssl.SSLObject, ssl.SSLObject]:
    """Return the (server, client) ends of a completed handshake through memory buffers."""
    s_in, s_out, c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    s_obj = server.wrap_bio(s_in, s_out, server_side=True)
    c_obj = client.wrap_bio(c_in, c_out, server_side=False)
    for _ in range(10):
        done = 0
        for obj in (c_obj, s_obj):
            try:
                obj.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if done == 2:
            return s_obj, c_obj
    raise AssertionError("the handshake did not complete")


def test_each_side_reads_the_other_s_spiffe_id() -> None:
    server_end, client_end = _handshake(server_context(SHIPPING), client_context(ORDER))
    assert verify_peer(server_end, None, "cluster.local").uri == "spiffe://cluster.local/ns/default/sa/order"
    assert verify_peer(client_end, "cluster.local/ns/default/sa/shipping").principal == SHIPPING.identity.principal
    assert verify_peer(client_end, "spiffe://cluster.local/ns/default/sa/shipping") == SHIPPING.identity
    with pytest.raises(BadIdentity, match=r"expected spiffe://cluster\.local/ns/default/sa/billing"):
        verify_peer(client_end, "cluster.local/ns/default/sa/billing")
    with pytest.raises(BadIdentity, match=r"outside trust domain example\.org"):
        verify_peer(client_end, None, "example.org")
    with pytest.raises(BadIdentity, match="no verified certificate"):
        verify_peer(None, None)


def test_credentials_carry_what_the_ca_issued_and_hide_the_key() -> None:
    assert ORDER.identity.uri == "spiffe://cluster.local/ns/default/sa/order"
    assert ORDER.not_after > 0 and ORDER.with_bundle(("x",)).bundle == ("x",)
    assert ORDER.with_bundle(("x",)).key_pem == ORDER.key_pem
    assert "PRIVATE" not in repr(ORDER)


def test_a_key_that_is_not_the_certificate_s_is_refused() -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(ssl.SSLError):
        load_chain(ctx, ORDER.chain_pem, SHIPPING.key_pem)
    load_chain(ctx, ORDER.chain_pem, ORDER.key_pem)
