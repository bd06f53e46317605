"""Output helpers."""

from __future__ import annotations

import yaml

from tether.cli.render import age, short, table, to_json, to_yaml


def test_table_aligns_columns() -> None:
    text = table(["NAME", "STATUS"], [["order", "SYNCED"], ["invoicing-long", "STALE"]])
    assert text.splitlines() == [
        "NAME             STATUS",
        "order            SYNCED",
        "invoicing-long   STALE",
    ]


def test_yaml_keeps_key_order_and_separates_documents() -> None:
    text = to_yaml([{"b": 1, "a": 2}, {"c": 3}])
    assert text == "b: 1\na: 2\n---\nc: 3\n"
    assert list(yaml.safe_load_all(text)) == [{"b": 1, "a": 2}, {"c": 3}]
    assert to_json({"a": [1]}) == '{\n  "a": [\n    1\n  ]\n}'


def test_age_and_short() -> None:
    assert [age(x) for x in (None, 5, 119, 600, 7300, 200000)] == [
        "-", "5s", "119s", "10m", "2h", "2d",
    ]
    assert short("a\n  b") == "a b"
    assert short("x" * 10, 5) == "xxxx…"
