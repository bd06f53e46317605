"""SPIFFE identities: ``spiffe://<trust domain>/ns/<namespace>/sa/<service account>``.

A workload certificate names its workload in exactly one URI SAN of that shape. The
*principal* is the same string without ``spiffe://``, as Istio's metrics and
AuthorizationPolicy ``principals`` show it (``cluster.local/ns/default/sa/order``).

A proxy reads its peers' IDs from what ``ssl`` already parsed (``id_of_peercert``); only
the CA and tests parse certificates themselves, with ``cryptography``, imported on first
use so that a sidecar never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

from tether.core.errors import TetherError

if TYPE_CHECKING:
    from cryptography import x509

SCHEME = "spiffe://"
DEFAULT_TRUST_DOMAIN = "cluster.local"
_LABEL = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_TRUST_DOMAIN = re.compile(r"[a-z0-9][a-z0-9._-]*")
_PATH = re.compile(rf"ns/({_LABEL})/sa/({_LABEL})")


class BadIdentity(TetherError):
    """A string or certificate that does not carry a well-formed workload SPIFFE ID."""


class SpiffeId(msgspec.Struct, frozen=True, kw_only=True):
    """A workload identity: trust domain, namespace, service account."""

    trust_domain: str
    namespace: str
    service_account: str

    @property
    def uri(self) -> str:
        """Return ``spiffe://<td>/ns/<ns>/sa/<sa>``."""
        return f"{SCHEME}{self.principal}"

    @property
    def principal(self) -> str:
        """Return ``<td>/ns/<ns>/sa/<sa>`` (Istio's principal notation)."""
        return f"{self.trust_domain}/ns/{self.namespace}/sa/{self.service_account}"


def check_trust_domain(trust_domain: str) -> str:
    """Return ``trust_domain``; raises BadIdentity when it is not a lower-case DNS-like name."""
    if not _TRUST_DOMAIN.fullmatch(trust_domain):
        raise BadIdentity(f"trust domain {trust_domain!r}: expected lower-case letters, digits, '.', '-', '_'")
    return trust_domain


def make_id(trust_domain: str, namespace: str, service_account: str) -> SpiffeId:
    """Return the SpiffeId of a workload; raises BadIdentity on a malformed part."""
    ident = SpiffeId(trust_domain=check_trust_domain(trust_domain), namespace=namespace,
                     service_account=service_account)
    parse_id(ident.uri)
    return ident


def parse_id(text: str) -> SpiffeId:
    """Return the SpiffeId in ``spiffe://td/ns/N/sa/S`` or ``td/ns/N/sa/S``; raises BadIdentity."""
    body = text[len(SCHEME):] if text.startswith(SCHEME) else text
    trust_domain, sep, path = body.partition("/")
    match = _PATH.fullmatch(path) if sep else None
    if match is None or not _TRUST_DOMAIN.fullmatch(trust_domain):
        raise BadIdentity(f"{text!r} is not a workload SPIFFE ID (spiffe://<trust domain>/ns/<ns>/sa/<sa>)")
    return SpiffeId(trust_domain=trust_domain, namespace=match[1], service_account=match[2])


def _one_id(uris: list[str], what: str) -> SpiffeId:
    spiffe = [u for u in uris if u.startswith(SCHEME)]
    if len(spiffe) != 1:
        raise BadIdentity(f"{what} has {len(spiffe)} SPIFFE URI SANs, expected exactly one")
    return parse_id(spiffe[0])


def id_of_peercert(cert: Mapping[str, object] | None) -> SpiffeId:
    """Return the one SPIFFE ID of a verified TLS peer, from ``SSLObject.getpeercert()`` (a dict
    whose ``subjectAltName`` holds ``("URI", "spiffe://...")`` pairs). Raises BadIdentity when
    there is no verified certificate or it names no or several SPIFFE IDs."""
    if not cert:  # None: no certificate; {}: one that was not verified
        raise BadIdentity("the peer presented no verified certificate")
    sans = cert.get("subjectAltName", ())
    uris = [str(pair[1]) for pair in sans if isinstance(pair, tuple) and len(pair) == 2 and pair[0] == "URI"] \
        if isinstance(sans, tuple | list) else []
    return _one_id(uris, "the peer certificate")


def uri_sans(cert: x509.Certificate) -> list[str]:
    """Return the URI subject alternative names of ``cert`` (empty when it has none)."""
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(v) for v in ext.value.get_values_for_type(x509.UniformResourceIdentifier)]


def id_of_certificate(cert: x509.Certificate) -> SpiffeId:
    """Return the one SPIFFE ID ``cert`` names; raises BadIdentity when it has none or several."""
    return _one_id(uri_sans(cert), "certificate")
