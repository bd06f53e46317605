"""HTTPS to the control plane: which CA bundle verifies it, the client TLS context, clear errors.

``tether control --tls`` serves a certificate from the mesh CA, whose root is
``<data>/ca/root-cert.pem``. A client verifies it with ``--ca-file PATH``, else env
``TETHER_CA_FILE``, else ``<dir of the token file>/ca/root-cert.pem`` when that exists (the
admin token lives in ``<data>/``), else the system's trust store.
"""

from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

from tether.core.errors import UsageError

ENV_CA_FILE = "TETHER_CA_FILE"
ROOT_CERT = os.path.join("ca", "root-cert.pem")
SCHEMES = {"http": 80, "https": 443}


def parse_control_url(url: str, what: str = "control URL") -> tuple[str, str, int]:
    """Return ``(scheme, host, port)`` of ``http[s]://HOST[:PORT]`` (no scheme: http).

    Raises UsageError for another scheme or a URL without a host.
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in SCHEMES or not parts.hostname or port == -1:
        raise UsageError(f"{what} must look like http://HOST:PORT or https://HOST:PORT, got {url!r}")
    return parts.scheme, parts.hostname, port or SCHEMES[parts.scheme]


def resolve_ca_file(explicit: str | None, *token_files: str | None) -> str | None:
    """Return the CA bundle to verify the control plane with: ``explicit`` (``--ca-file``), else
    env TETHER_CA_FILE, else the first ``<dir of a token file>/ca/root-cert.pem`` that exists;
    None means the system's trust store.

    Raises UsageError when a bundle named explicitly (flag or env) does not exist.
    """
    named = explicit or os.environ.get(ENV_CA_FILE)
    if named:
        if not os.path.isfile(named):
            raise UsageError(f"CA file {named} does not exist (--ca-file / {ENV_CA_FILE})")
        return named
    for token_file in token_files:
        if token_file:
            candidate = os.path.join(os.path.dirname(token_file) or ".", ROOT_CERT)
            if os.path.isfile(candidate):
                return candidate
    return None


def client_context(ca_file: str | None) -> ssl.SSLContext:
    """Return a TLS client context checking the server's chain against ``ca_file`` (None: the
    system store) and its name against the host in the URL; TLS 1.2 at least.

    Raises UsageError when ``ca_file`` holds no usable certificate.
    """
    try:
        ctx = ssl.create_default_context(cafile=ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise UsageError(f"CA file {ca_file} holds no usable certificate: {exc}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def describe_tls_failure(exc: BaseException, url: str, ca_file: str | None) -> str | None:
    """Return one line saying why a TLS connection to ``url`` failed and what to do, or None
    when ``exc`` is not a TLS failure."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        source = f"CA file {ca_file}" if ca_file else "the system trust store"
        return (f"cannot verify the control plane at {url}: {reason} (checked with {source}); pass the "
                f"mesh's root with --ca-file <data>/ca/root-cert.pem or {ENV_CA_FILE}")
    if isinstance(exc, ssl.SSLError):
        hint = " (does it serve plain http? then use http://)" if "WRONG_VERSION" in str(exc) else ""
        return f"TLS with the control plane at {url} failed: {getattr(exc, 'reason', None) or exc}{hint}"
    return None
