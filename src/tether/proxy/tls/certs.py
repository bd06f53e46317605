"""Keys, CSRs and PEM handling shared by the proxy (which asks) and the CA (which signs).

Workload keys are ECDSA P-256: small, fast to generate in memory at every rotation, and
what Istio uses by default.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tether.proxy.tls.spiffe import BadIdentity, SpiffeId

PrivateKey = ec.EllipticCurvePrivateKey


def new_key() -> PrivateKey:
    """Return a fresh ECDSA P-256 private key (never written anywhere by this module)."""
    return ec.generate_private_key(ec.SECP256R1())


def key_to_pem(key: PrivateKey) -> bytes:
    """Return ``key`` as unencrypted PKCS#8 PEM."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_csr(key: PrivateKey, ident: SpiffeId) -> str:
    """Return a PEM CSR for ``ident`` (its URI as the only SAN) signed by ``key``."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ident.trust_domain)]))
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(ident.uri)]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def load_csr(pem: str) -> x509.CertificateSigningRequest:
    """Return the CSR in ``pem``; raises BadIdentity when it does not parse or its signature is wrong."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except ValueError as exc:
        raise BadIdentity(f"the CSR does not parse: {exc}") from None
    if not csr.is_signature_valid:
        raise BadIdentity("the CSR's signature does not verify")
    return csr


def load_certs(pem: str | bytes) -> list[x509.Certificate]:
    """Return every certificate in a PEM bundle, in order; raises BadIdentity when there is none."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise BadIdentity(f"no certificate in PEM: {exc}") from None
    return certs


def cert_to_pem(cert: x509.Certificate) -> str:
    """Return ``cert`` as PEM text."""
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def split_pem(pem: str) -> tuple[str, ...]:
    """Return each certificate of a PEM bundle as its own PEM text."""
    return tuple(cert_to_pem(c) for c in load_certs(pem))


def not_after(cert: x509.Certificate) -> float:
    """Return the end of ``cert``'s validity as a Unix time."""
    return cert.not_valid_after_utc.timestamp()


def not_before(cert: x509.Certificate) -> float:
    """Return the start of ``cert``'s validity as a Unix time."""
    return cert.not_valid_before_utc.timestamp()


def utc(ts: float) -> datetime:
    """Return the aware UTC datetime of Unix time ``ts``."""
    return datetime.fromtimestamp(ts, UTC)
