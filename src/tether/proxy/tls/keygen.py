"""A workload key and its CSR, made in a short-lived child process.

Making a key and a CSR needs the ``cryptography`` package, which adds about 10 MB to every
process that imports it, for as long as that process lives; a sidecar needs it for a few
milliseconds per rotation. So ``python -m tether.proxy.tls.keygen <SPIFFE URI>`` makes them
and writes both as PEM (key first) to its stdout, a pipe to the proxy: the key is never
written to a file, and the proxy keeps only its PEM bytes (for ``ssl``) in memory.
Every rotation runs a new child, so every certificate gets a new key.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from dataclasses import dataclass, field

from tether.core.errors import TetherError
from tether.proxy.tls.spiffe import BadIdentity, SpiffeId, parse_id

TIMEOUT_S = 30.0
KEY_BEGIN = b"-----BEGIN PRIVATE KEY-----"
CSR_BEGIN = b"-----BEGIN CERTIFICATE REQUEST-----"


class KeygenFailed(TetherError):
    """The key generator could not be run, failed, timed out, or printed something else."""


@dataclass(frozen=True)
class KeyAndCsr:
    """A fresh private key (PKCS#8 PEM) and the PEM CSR it signed."""

    key_pem: bytes = field(repr=False)
    csr_pem: str


def split_output(out: bytes) -> KeyAndCsr:
    """Return the key and CSR the generator printed; raises KeygenFailed when ``out`` is not
    one key followed by one CSR."""
    at = out.find(CSR_BEGIN)
    if not out.startswith(KEY_BEGIN) or at < 0 or out.count(CSR_BEGIN) != 1 or out.count(KEY_BEGIN) != 1:
        raise KeygenFailed("the key generator printed no key and CSR")
    return KeyAndCsr(key_pem=out[:at], csr_pem=out[at:].decode("ascii"))


async def generate(ident: SpiffeId, limit: float = TIMEOUT_S, python: str = sys.executable) -> KeyAndCsr:
    """Return a new key and a CSR for ``ident``, made by a child process (``python -m`` this module).

    Raises KeygenFailed when the child cannot start, fails or takes longer than ``limit`` seconds.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            python, "-m", "tether.proxy.tls.keygen", ident.uri,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise KeygenFailed(f"cannot start the key generator: {exc}") from None
    try:
        async with asyncio.timeout(limit):
            out, err = await proc.communicate()
    except TimeoutError:
        raise KeygenFailed(f"the key generator took longer than {limit:g}s") from None
    finally:
        if proc.returncode is None:  # timed out or cancelled: do not leave it behind
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise KeygenFailed(err.decode(errors="replace").strip() or f"the key generator exited with {proc.returncode}")
    return split_output(out)


def main(argv: list[str]) -> int:
    """Print a new key and a CSR for the SPIFFE URI ``argv[0]``; a usage error goes to stderr, exit 1."""
    from tether.proxy.tls.certs import key_to_pem, make_csr, new_key

    try:
        (uri,) = argv
        ident = parse_id(uri)
    except (ValueError, BadIdentity) as exc:
        print(f"usage: python -m tether.proxy.tls.keygen spiffe://TD/ns/NS/sa/SA ({exc})", file=sys.stderr)
        return 1
    key = new_key()
    sys.stdout.buffer.write(key_to_pem(key) + make_csr(key, ident).encode("ascii"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
