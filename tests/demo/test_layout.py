from __future__ import annotations

from tether.demo.layout import definitions, esc, money, page, table, when


def test_escapes_content_and_attributes() -> None:
    assert esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"


def test_page_has_title_nav_and_style() -> None:
    document = page("Order", "New <order>", "<p>body</p>", [("./", "List")])
    assert document.startswith("<!doctype html>")
    assert "<title>New &lt;order&gt; · Order</title>" in document
    assert '<a href="./">List</a>' in document
    assert "<style>" in document and "<p>body</p>" in document


def test_table_marks_numeric_columns() -> None:
    rendered = table(["A", "B"], [("x", "1")], numeric=(1,))
    assert '<th class="num">B</th>' in rendered
    assert '<td>x</td><td class="num">1</td>' in rendered


def test_small_formatters() -> None:
    assert when(None) == "never"
    assert when(0) == "1970-01-01 00:00:00 UTC"
    assert money(1664) == "1,664.00"
    assert definitions([("Id", "1")]) == "<dl><dt>Id</dt><dd>1</dd></dl>"
