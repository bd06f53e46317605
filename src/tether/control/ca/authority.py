"""The mesh's certificate authority: a signing key and certificate, and the trust bundle.

``load_or_create`` finds the root in ``<data>/ca/`` (``root-cert.pem``, ``root-key.pem``, the
key with mode 0600) or creates one on first start; a user-supplied ``--ca-cert``/``--ca-key``
(a root, or an intermediate with its chain up to the root in the same file) takes its place.
Extra trusted roots (``<data>/ca/trusted/*.pem``, ``--ca-trust``) join the trust bundle: that
is how a root is rotated with an overlap (docs/security.md).

``sign`` is pure given ``now``: it issues a short-lived workload certificate whose only SAN
is the SPIFFE URI the caller was entitled to.
"""

from __future__ import annotations

import glob
import ipaddress
import os
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tether.core.errors import TetherError
from tether.proxy.tls.certs import cert_to_pem, load_certs, load_csr, new_key, utc
from tether.proxy.tls.spiffe import BadIdentity, SpiffeId, id_of_certificate

ROOT_CERT = "root-cert.pem"
ROOT_KEY = "root-key.pem"
ROOT_LIFETIME_S = 10 * 365 * 86400
BACKDATE_S = 60  # tolerate clocks a little behind the control plane's
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class CaError(TetherError):
    """The CA's files are missing, unreadable or do not belong together."""


@dataclass(frozen=True)
class Authority:
    """A signing certificate with its key, the chain above it, and every trusted root."""

    cert: x509.Certificate
    key: SigningKey
    chain: tuple[x509.Certificate, ...]  # issuers above ``cert`` up to the root (empty for a root)
    trusted: tuple[x509.Certificate, ...]  # roots the mesh trusts: the signing root first
    trust_domain: str = "cluster.local"

    @property
    def bundle(self) -> tuple[str, ...]:
        """Return the trust bundle: every trusted root as PEM, the current root first."""
        return tuple(cert_to_pem(c) for c in self.trusted)

    def sign(self, csr_pem: str, ident: SpiffeId, ttl_s: float, now: float) -> str:
        """Return a PEM chain (leaf, then intermediates) for the CSR's key, naming ``ident`` only.

        Raises BadIdentity when the CSR does not parse, or names any identity but ``ident``.
        """
        csr = load_csr(csr_pem)
        try:
            sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            raise BadIdentity("the CSR names no identity (no URI SAN)") from None
        asked = [str(v) for v in sans.get_values_for_type(x509.UniformResourceIdentifier)]
        if asked != [ident.uri] or sans.get_values_for_type(x509.DNSName):
            raise BadIdentity(f"the CSR asks for {', '.join(asked) or 'nothing'}; this token grants {ident.uri} only")
        public = csr.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
            raise BadIdentity("the CSR's key type is not supported (use ECDSA, RSA or Ed25519)")
        end = min(now + ttl_s, self.cert.not_valid_after_utc.timestamp())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ident.trust_domain)]))
            .issuer_name(self.cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(utc(now - BACKDATE_S))
            .not_valid_after(utc(end))
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(ident.uri)]), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
        )
        try:  # lets a verifier tell two roots of one trust domain apart during a rotation
            ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            leaf = leaf.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        except x509.ExtensionNotFound:
            pass
        signed = leaf.sign(self.key, _hash_for(self.key))
        chain = [signed] + ([self.cert] if self.chain else []) + [c for c in self.chain[:-1]]
        return "".join(cert_to_pem(c) for c in chain)


def issue_server(authority: Authority, hosts: list[str], ident: SpiffeId, key: ec.EllipticCurvePrivateKey,
                 ttl_s: float, now: float) -> str:
    """Return a PEM chain for a server reachable as ``hosts`` (DNS names or IP addresses) that is
    also ``ident`` (the control plane's own certificate for ``--tls``)."""
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(ident.uri)]
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tether control")]))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc(now - BACKDATE_S))
        .not_valid_after(utc(min(now + ttl_s, authority.cert.not_valid_after_utc.timestamp())))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    leaf = builder.sign(authority.key, _hash_for(authority.key))
    chain = [leaf] + ([authority.cert] if authority.chain else []) + list(authority.chain[:-1])
    return "".join(cert_to_pem(c) for c in chain)


def _hash_for(key: SigningKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def create_root(trust_domain: str, now: float, lifetime_s: float = ROOT_LIFETIME_S,
                key: ec.EllipticCurvePrivateKey | None = None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Return a new self-signed root certificate for ``trust_domain`` and its key."""
    key = key or new_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, trust_domain),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"Tether root CA {int(now)}")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc(now - BACKDATE_S))
        .not_valid_after(utc(now) + timedelta(seconds=lifetime_s))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def write_private(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 (created so, never world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _read_key(path: str) -> SigningKey:
    try:
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CaError(f"cannot read the CA key {path}: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise CaError(f"{path}: the CA key must be ECDSA, RSA or Ed25519")
    return key


def _read_certs(path: str) -> list[x509.Certificate]:
    try:
        with open(path, "rb") as f:
            return load_certs(f.read())
    except (OSError, BadIdentity) as exc:
        raise CaError(f"cannot read certificates from {path}: {exc}") from None


def _same_key(cert: x509.Certificate, key: SigningKey) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def load_or_create(data_dir: str, trust_domain: str, now: float, *, ca_cert: str | None = None,
                   ca_key: str | None = None, extra_roots: tuple[str, ...] = ()) -> Authority:
    """Return the authority of ``data_dir`` (creating a root on first start) or of the given files.

    Raises CaError when the files are unreadable or the key does not match the certificate.
    """
    if (ca_cert is None) != (ca_key is None):
        raise CaError("--ca-cert and --ca-key go together")
    ca_dir = os.path.join(data_dir, "ca")
    os.makedirs(ca_dir, exist_ok=True)
    if ca_cert is None or ca_key is None:
        ca_cert, ca_key = os.path.join(ca_dir, ROOT_CERT), os.path.join(ca_dir, ROOT_KEY)
        if not os.path.exists(ca_cert):
            root, root_key = create_root(trust_domain, now)
            write_private(ca_key, root_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
            with open(ca_cert, "w", encoding="ascii") as f:
                f.write(cert_to_pem(root))
    certs = _read_certs(ca_cert)
    key = _read_key(ca_key)
    if not _same_key(certs[0], key):
        raise CaError(f"{ca_key} is not the key of the first certificate in {ca_cert}")
    constraints = certs[0].extensions.get_extension_for_class(x509.BasicConstraints).value
    if not constraints.ca:
        raise CaError(f"{ca_cert}: the first certificate is not a CA certificate")
    extra: list[x509.Certificate] = []
    for path in [*sorted(glob.glob(os.path.join(ca_dir, "trusted", "*.pem"))), *extra_roots]:
        extra.extend(_read_certs(path))
    root = certs[-1]
    trusted = [root, *(c for c in extra if c != root)]
    return Authority(cert=certs[0], key=key, chain=tuple(certs[1:]), trusted=tuple(trusted),
                     trust_domain=trust_domain)


def check_identity_certificate(pem: str) -> SpiffeId:
    """Return the SPIFFE ID of the leaf in ``pem`` (used by tests and ``tether`` diagnostics)."""
    return id_of_certificate(load_certs(pem)[0])
