"""The shared HTML layout of the demo pages: one small inline stylesheet, no assets.

Every link and form target is relative so the pages work on the service's own port and
behind the ingress gateway's prefixes (``/order/``, ``/shipping/``, ``/invoicing/``).
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1f2933; background: #f5f7fa; }
header { background: #243b53; color: #fff; padding: 0.8rem 2rem; display: flex;
         align-items: baseline; gap: 1.5rem; }
header h1 { font-size: 1.3rem; margin: 0; }
header a { color: #bcccdc; text-decoration: none; }
header a:hover { color: #fff; }
main { max-width: 1100px; margin: 1.5rem auto; padding: 0 2rem; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: 0.5rem 0 1rem; }
th, td { text-align: left; padding: 0.45rem 0.7rem; border-bottom: 1px solid #d9e2ec; }
th { background: #e4e7eb; font-weight: 600; }
td.num, th.num { text-align: right; }
form.inline { display: inline; }
fieldset { border: 1px solid #d9e2ec; background: #fff; margin: 0 0 1rem; padding: 0.8rem 1rem; }
legend { font-weight: 600; }
label { display: inline-block; min-width: 9rem; }
input, select { padding: 0.25rem 0.4rem; margin: 0.2rem 0; font: inherit; }
button { font: inherit; padding: 0.3rem 0.9rem; border: 1px solid #486581; background: #486581;
         color: #fff; border-radius: 3px; cursor: pointer; }
button.secondary { background: #fff; color: #243b53; }
a.button { display: inline-block; padding: 0.3rem 0.9rem; background: #486581; color: #fff;
           border-radius: 3px; text-decoration: none; }
.bar { display: flex; align-items: center; gap: 1rem; margin: 0.5rem 0 1rem; }
button.danger { background: #ba2525; border-color: #ba2525; }
.note { color: #52606d; }
.ok { background: #e3f9e5; border-left: 4px solid #3f9142; padding: 0.5rem 0.8rem; margin: 0 0 1rem; }
.error { background: #ffe3e3; border-left: 4px solid #ba2525; padding: 0.5rem 0.8rem; margin: 0 0 1rem; }
dl { display: grid; grid-template-columns: 12rem 1fr; gap: 0.3rem 1rem; background: #fff;
     padding: 0.8rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
"""


def esc(value: object) -> str:
    """Return ``value`` as text escaped for HTML content and attribute values."""
    return _html.escape(str(value), quote=True)


def page(service: str, title: str, body: str, nav: Sequence[tuple[str, str]] = ()) -> str:
    """Return a complete HTML document: header with ``service`` and ``nav`` links, then ``body``.

    ``nav`` holds (relative href, label) pairs; ``body`` is trusted HTML built by the caller.
    """
    links = "".join(f'<a href="{esc(href)}">{esc(label)}</a>' for href, label in nav)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · {esc(service)}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>{esc(service)}</h1>{links}</header>"
        f"<main><h2>{esc(title)}</h2>\n{body}\n</main></body></html>\n"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """Return an HTML table; cells are trusted HTML, columns in ``numeric`` align right."""

    def cls(index: int) -> str:
        return ' class="num"' if index in numeric else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def definitions(items: Iterable[tuple[str, str]]) -> str:
    """Return a ``<dl>`` of (term, trusted HTML) pairs."""
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def when(timestamp: float | None) -> str:
    """Return a Unix time as ``YYYY-MM-DD HH:MM:SS UTC`` (``never`` for None)."""
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def when_iso(text: str) -> str:
    """Return an ISO-8601 timestamp like :func:`when` does, or ``text`` itself if unreadable."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return when(parsed.timestamp())


def money(amount: float) -> str:
    """Return an amount with two decimals (the catalogue has no currency on purpose)."""
    return f"{amount:,.2f}"
