"""``tether gateway``'s flags: the shape handed to the proxy helpers, and the gateway node."""

from __future__ import annotations

import argparse

import pytest

from tether.cli.gateway import GATEWAY_KIND, gateway_args
from tether.cli.main import build_parser
from tether.cli.proxy import node_from_args, settings_from_args
from tether.core.errors import UsageError


def parse(*argv: str) -> argparse.Namespace:
    return build_parser(["gateway"]).parse_args(["gateway", *argv])


def test_defaults_follow_the_contract() -> None:
    args = parse("--config", "gw.yaml")
    assert (args.port, args.name, args.namespace, args.admin_port) == (8080, "ingressgateway", "default", 15000)


def test_gateway_port_is_the_outbound_listener_and_there_is_no_app() -> None:
    shaped = gateway_args(parse("--control", "http://127.0.0.1:15010", "--port", "9090", "--admin-port", "0"))
    settings = settings_from_args(shaped)
    assert (settings.outbound_port, settings.inbound_port, settings.admin_port) == (9090, 0, 0)
    assert settings.app_port is None


def test_node_is_a_gateway_with_its_labels() -> None:
    shaped = gateway_args(parse("--config", "gw.yaml", "--name", "edge", "--namespace", "shop",
                                "--labels", "istio=ingressgateway,zone=a"))
    node = node_from_args(shaped, kind=GATEWAY_KIND)
    assert (node.name, node.namespace, node.kind) == ("edge", "shop", "gateway")
    assert node.labels == {"istio": "ingressgateway", "zone": "a"}


def test_the_parsed_flags_are_left_alone() -> None:
    args = parse("--config", "gw.yaml", "--port", "0")
    gateway_args(args)
    assert not hasattr(args, "outbound_port")


@pytest.mark.parametrize(("argv", "message"), [
    (("--config", "gw.yaml", "--port", "70000"), "--port: expected 0..65535"),
    (("--config", "gw.yaml", "--port", "-1"), "--port: expected 0..65535"),
])
def test_usage_errors(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        gateway_args(parse(*argv))


def test_control_plane_defaults_to_env_then_the_default_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TETHER_CONTROL", raising=False)
    assert gateway_args(parse()).control == "http://127.0.0.1:15010"
    monkeypatch.setenv("TETHER_CONTROL", "http://127.0.0.1:9")
    assert gateway_args(parse()).control == "http://127.0.0.1:9"
    assert gateway_args(parse("--config", "gw.yaml")).control is None


def test_config_and_control_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--config", "gw.yaml", "--control", "http://127.0.0.1:15010")
    assert "not allowed with" in capsys.readouterr().err
