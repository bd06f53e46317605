"""``tether apply/get/delete/describe`` against a control plane running in a thread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tether.cli.main import main
from tether.testing.listings import BOOK_VS
from tether.testing.mesh import ThreadPlane

RULE = """\
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: order, namespace: shop}
spec:
  host: order
  subsets: [{name: v1, labels: {version: v1}}]
"""


@pytest.fixture
def plane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadPlane]:
    running = ThreadPlane(tmp_path / "data", heartbeat_interval=0.5)
    monkeypatch.setenv("TETHER_CONTROL", f"http://127.0.0.1:{running.port}")
    monkeypatch.setenv("TETHER_TOKEN_FILE", str(tmp_path / "data" / "admin.token"))
    try:
        yield running
    finally:
        running.close()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_apply_prints_kubectl_lines(
    plane: ThreadPlane, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    retry = write(tmp_path, "retry.yaml", BOOK_VS)
    assert main(["apply", "-f", retry]) == 0
    assert capsys.readouterr().out == "virtualservice.networking.istio.io/order-retry created\n"
    assert main(["apply", "-f", retry]) == 0
    assert capsys.readouterr().out == "virtualservice.networking.istio.io/order-retry unchanged\n"
    write(tmp_path, "retry.yaml", BOOK_VS.replace("10s", "11s"))
    assert main(["apply", "-f", retry]) == 0
    assert capsys.readouterr().out.endswith("order-retry configured\n")


def test_apply_directory_and_warnings_from_analysis(
    plane: ThreadPlane, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    write(folder, "a.yaml", BOOK_VS)
    write(folder, "b.yaml", RULE)
    write(folder, "notes.txt", "ignored")
    assert main(["apply", "-f", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "virtualservice.networking.istio.io/order-retry created",
        "destinationrule.networking.istio.io/order created",
    ]
    # No workload "order" is registered: analysis warns, apply still succeeds.
    assert "[TTH0101]" in err


def test_invalid_document_refuses_everything(
    plane: ThreadPlane, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = BOOK_VS.replace("attempts: 20", "attempts: many")
    good = write(tmp_path, "good.yaml", RULE)
    wrong = write(tmp_path, "retry.yaml", "---\n" + RULE.replace("name: order,", "name: o2,")
                  + "---\n" + bad)
    assert main(["apply", "-f", good, "-f", wrong]) == 1
    err = capsys.readouterr().err
    assert "retry.yaml doc 2 VirtualService/order-retry: spec.http[0].retries.attempts" in err
    assert "nothing was applied" in err
    assert plane.plane.store.revision == 0


def test_apply_without_token_explains_what_to_do(
    plane: ThreadPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("TETHER_TOKEN_FILE")
    monkeypatch.chdir(tmp_path)
    assert main(["apply", "-f", write(tmp_path, "r.yaml", BOOK_VS)]) == 1
    assert "--token-file" in capsys.readouterr().err


def test_get_table_yaml_json_and_missing(
    plane: ThreadPlane, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["apply", "-f", write(tmp_path, "r.yaml", BOOK_VS), "-f", write(tmp_path, "d.yaml", RULE)])
    capsys.readouterr()
    assert main(["get", "vs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "HOSTS", "REVISION"]
    assert lines[1].split()[:2] == ["order-retry", "order.default.svc.cluster.local"]
    assert main(["get", "VirtualServices", "order-retry", "-o", "yaml"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["spec"]["http"][0]["retries"]["attempts"] == 20
    assert main(["get", "dr", "-n", "shop", "-o", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["order"]
    assert main(["get", "destinationrule", "-A"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:2] == ["shop", "order"]
    assert main(["get", "vs", "nope"]) == 1
    assert 'virtualservices.networking.istio.io "nope" not found' in capsys.readouterr().err
    assert main(["get", "gw"]) == 0
    assert "No resources found" in capsys.readouterr().err


def test_unknown_kind_is_a_user_error(
    plane: ThreadPlane, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["get", "pods"]) == 1
    assert "unknown resource kind 'pods'" in capsys.readouterr().err


def test_delete_by_name_and_by_file(
    plane: ThreadPlane, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    retry = write(tmp_path, "r.yaml", BOOK_VS)
    rule = write(tmp_path, "d.yaml", RULE)
    main(["apply", "-f", retry, "-f", rule])
    capsys.readouterr()
    assert main(["delete", "vs", "order-retry"]) == 0
    assert capsys.readouterr().out == 'virtualservice.networking.istio.io "order-retry" deleted\n'
    assert main(["delete", "-f", rule]) == 0
    assert capsys.readouterr().out == 'destinationrule.networking.istio.io "order" deleted\n'
    assert main(["delete", "vs", "order-retry"]) == 1
    assert "NotFound" in capsys.readouterr().err
    assert plane.plane.store.list() == []


def test_describe_shows_spec_and_findings(
    plane: ThreadPlane, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["apply", "-f", write(tmp_path, "r.yaml", BOOK_VS)])
    capsys.readouterr()
    assert main(["describe", "vs", "order-retry"]) == 0
    out = capsys.readouterr().out
    assert "Name:         order-retry" in out
    assert "attempts: 20" in out
    assert "TTH0101" in out


def test_unreachable_control_plane(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TETHER_CONTROL", "http://127.0.0.1:9")
    assert main(["get", "vs"]) == 1
    assert "cannot reach the control plane at http://127.0.0.1:9" in capsys.readouterr().err


def test_apply_of_nothing_is_an_error(
    plane: ThreadPlane, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "-f", write(tmp_path, "empty.yaml", "---\n")]) == 1
    assert "no objects passed to apply" in capsys.readouterr().err
