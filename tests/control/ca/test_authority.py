"""The CA: root created on first start (key 0600), user-supplied roots and intermediates, signing rules."""

from __future__ import annotations

import os
import re
import ssl
import stat
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tether.control.ca.authority import ROOT_CERT, ROOT_KEY, Authority, CaError, create_root, load_or_create
from tether.proxy.tls.certs import cert_to_pem, load_certs, make_csr, new_key
from tether.proxy.tls.spiffe import BadIdentity, id_of_certificate, make_id

NOW = time.time()
ORDER = make_id("cluster.local", "default", "order")


def _pem_key(key: object) -> bytes:
    assert hasattr(key, "private_bytes")
    data: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return data


def test_first_start_creates_a_root_with_a_private_key_and_reuses_it(tmp_path: Path) -> None:
    first = load_or_create(str(tmp_path), "cluster.local", NOW)
    key_path = tmp_path / "ca" / ROOT_KEY
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert (tmp_path / "ca" / ROOT_CERT).exists()
    again = load_or_create(str(tmp_path), "cluster.local", NOW)
    assert again.cert == first.cert and again.bundle == first.bundle
    assert first.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_signed_certificate_names_only_the_granted_identity_and_expires(tmp_path: Path) -> None:
    ca = load_or_create(str(tmp_path), "cluster.local", NOW)
    chain = load_certs(ca.sign(make_csr(new_key(), ORDER), ORDER, 3600, NOW))
    assert len(chain) == 1
    leaf = chain[0]
    assert id_of_certificate(leaf) == ORDER
    assert leaf.not_valid_after_utc.timestamp() == pytest.approx(NOW + 3600, abs=1)
    assert leaf.issuer == ca.cert.subject
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in eku and x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in eku


def test_a_csr_for_another_identity_is_refused(tmp_path: Path) -> None:
    ca = load_or_create(str(tmp_path), "cluster.local", NOW)
    other = make_id("cluster.local", "default", "shipping")
    with pytest.raises(BadIdentity, match=re.escape("grants spiffe://cluster.local/ns/default/sa/order only")):
        ca.sign(make_csr(new_key(), other), ORDER, 3600, NOW)
    with pytest.raises(BadIdentity, match="does not parse"):
        ca.sign("not a csr", ORDER, 3600, NOW)


def test_a_user_supplied_intermediate_signs_and_the_chain_reaches_the_root(tmp_path: Path) -> None:
    root_cert, root_key = create_root("cluster.local", NOW)
    root = Authority(cert=root_cert, key=root_key, chain=(), trusted=(root_cert,))
    # An intermediate: a CA certificate issued by the root (built by hand, as an operator's PKI would).
    inter_key = new_key()
    inter = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "inter")]))
        .issuer_name(root_cert.subject).public_key(inter_key.public_key()).serial_number(7)
        .not_valid_before(root_cert.not_valid_before_utc).not_valid_after(root_cert.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(inter_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    (tmp_path / "inter.pem").write_text(cert_to_pem(inter) + cert_to_pem(root_cert))
    (tmp_path / "inter.key").write_bytes(_pem_key(inter_key))
    ca = load_or_create(str(tmp_path / "data"), "cluster.local", NOW, ca_cert=str(tmp_path / "inter.pem"),
                        ca_key=str(tmp_path / "inter.key"))
    assert ca.bundle == root.bundle
    chain = ca.sign(make_csr(new_key(), ORDER), ORDER, 3600, NOW)
    assert [c.subject for c in load_certs(chain)][1:] == [inter.subject]
    # OpenSSL builds the path leaf → intermediate → root from the bundle.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata="".join(ca.bundle))
    assert ctx.cert_store_stats()["x509_ca"] == 1


def test_mismatched_or_partial_files_are_refused(tmp_path: Path) -> None:
    cert, _ = create_root("cluster.local", NOW)
    _, other_key = create_root("cluster.local", NOW)
    (tmp_path / "c.pem").write_text(cert_to_pem(cert))
    (tmp_path / "k.pem").write_bytes(_pem_key(other_key))
    with pytest.raises(CaError, match="is not the key"):
        load_or_create(str(tmp_path), "cluster.local", NOW, ca_cert=str(tmp_path / "c.pem"),
                       ca_key=str(tmp_path / "k.pem"))
    with pytest.raises(CaError, match="go together"):
        load_or_create(str(tmp_path), "cluster.local", NOW, ca_cert=str(tmp_path / "c.pem"))
    with pytest.raises(CaError, match="cannot read"):
        load_or_create(str(tmp_path), "cluster.local", NOW, ca_cert=str(tmp_path / "nope.pem"),
                       ca_key=str(tmp_path / "k.pem"))


def test_extra_roots_join_the_bundle_for_a_rotation_overlap(tmp_path: Path) -> None:
    old = load_or_create(str(tmp_path / "old"), "cluster.local", NOW)
    (tmp_path / "old.pem").write_text(cert_to_pem(old.cert))
    new = load_or_create(str(tmp_path / "new"), "cluster.local", NOW, extra_roots=(str(tmp_path / "old.pem"),))
    assert new.bundle == (cert_to_pem(new.cert), cert_to_pem(old.cert))
    (tmp_path / "new" / "ca" / "trusted").mkdir()
    (tmp_path / "new" / "ca" / "trusted" / "old.pem").write_text(cert_to_pem(old.cert))
    assert load_or_create(str(tmp_path / "new"), "cluster.local", NOW).bundle == new.bundle
