"""The key generator child: a fresh key and a CSR naming the identity, over a pipe."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tether.proxy.tls.certs import load_csr
from tether.proxy.tls.keygen import KEY_BEGIN, KeygenFailed, generate, main, split_output
from tether.proxy.tls.spiffe import make_id

ORDER = make_id("cluster.local", "default", "order")


async def test_each_run_makes_a_new_key_and_a_csr_for_the_identity() -> None:
    first, second = await generate(ORDER), await generate(ORDER)
    assert first.key_pem != second.key_pem
    assert "PRIVATE KEY" not in repr(first)
    csr = load_csr(first.csr_pem)
    assert csr.subject.rfc4514_string() == "O=cluster.local"
    key = serialization.load_pem_private_key(first.key_pem, password=None)
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert csr.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.UniformResourceIdentifier) == [ORDER.uri]


def test_the_output_must_be_one_key_then_one_csr() -> None:
    csr = b"-----BEGIN CERTIFICATE REQUEST-----\nx\n-----END CERTIFICATE REQUEST-----\n"
    key = KEY_BEGIN + b"\nk\n-----END PRIVATE KEY-----\n"
    assert split_output(key + csr).key_pem == key
    for bad in (b"", csr, key, csr + key, key + csr + csr, b"Traceback"):
        with pytest.raises(KeygenFailed):
            split_output(bad)


def test_a_malformed_identity_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spiffe://cluster.local/admin"]) == 1
    assert main([]) == 1
    assert "usage: python -m tether.proxy.tls.keygen" in capsys.readouterr().err


async def test_a_failing_or_hanging_generator_is_reported(tmp_path: Path) -> None:
    with pytest.raises(KeygenFailed, match="cannot start"):
        await generate(ORDER, python=str(tmp_path / "missing"))
    failing = tmp_path / "failing"
    failing.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    hanging = tmp_path / "hanging"
    hanging.write_text("#!/bin/sh\nexec sleep 30\n")
    for script in (failing, hanging):
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(KeygenFailed, match="broken"):
        await generate(ORDER, python=str(failing))
    with pytest.raises(KeygenFailed, match="took longer than"):
        await generate(ORDER, limit=0.2, python=str(hanging))
