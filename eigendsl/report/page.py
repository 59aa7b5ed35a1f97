"""The page around every report: one HTML file with its CSS, script and charts inline (no network)."""

from __future__ import annotations

import math
from html import escape

CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #1f2328; }
h1 { font-size: 22px; margin: 4px 0 2px; } h2 { font-size: 17px; margin: 22px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.sub { color: var(--muted); margin-bottom: 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px; background: var(--bg); }
.card .v { font-size: 20px; font-weight: 600; } .card .k { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); } .muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 6px; border-radius: 10px; font-size: 12px; border: 1px solid currentColor; margin: 0 2px 2px 0; }
.controls { display: flex; gap: 16px; align-items: center; margin: 8px 0; }
body.only-failures .pass { display: none; }
details.episode { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; }
details.episode > summary { cursor: pointer; padding: 6px 10px; background: var(--bg); }
details.episode[open] > summary { border-bottom: 1px solid var(--line); }
.body { padding: 8px 12px; }
.msg { margin: 6px 0; padding: 6px 10px; border-radius: 6px; max-width: 85%; white-space: pre-wrap; word-wrap: break-word; }
.msg.assistant { background: #ddf4ff; } .msg.user { background: #fff8c5; margin-left: auto; }
.msg.tool { background: var(--bg); font-family: ui-monospace, monospace; font-size: 12px; max-height: 14em; overflow: auto; }
.msg.tool.error { background: #ffebe9; } .msg.failure { background: #ffebe9; border: 1px solid var(--bad); }
.who { font-size: 11px; color: var(--muted); display: block; }
code, .call { font-family: ui-monospace, monospace; font-size: 12px; }
.call { display: block; }
ul.findings { margin: 4px 0 8px; padding-left: 20px; }
svg.chart { border: 1px solid var(--line); border-radius: 6px; background: #fff; margin: 4px 8px 4px 0; }
.charts { display: flex; flex-wrap: wrap; }
"""

SCRIPT = """
(function () {
  var body = document.body;
  var only = document.getElementById('only-failures');
  var search = document.getElementById('search');
  function apply() {
    body.classList.toggle('only-failures', !!(only && only.checked));
    var q = search ? search.value.trim().toLowerCase() : '';
    document.querySelectorAll('[data-task]').forEach(function (el) {
      el.style.display = (!q || el.getAttribute('data-task').toLowerCase().indexOf(q) >= 0) ? '' : 'none';
    });
  }
  if (only) only.addEventListener('change', apply);
  if (search) search.addEventListener('input', apply);
  function openNamed(hash) {  // the episode a link or the page's address names
    if (!hash || hash.indexOf('#ep-') !== 0) return;
    var target = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (target) { target.open = true; target.scrollIntoView(); }
  }
  document.querySelectorAll('a[href^="#ep-"]').forEach(function (a) {
    a.addEventListener('click', function () { openNamed(a.getAttribute('href')); });
  });
  window.addEventListener('hashchange', function () { openNamed(location.hash); });
  apply();
  openNamed(location.hash);
  body.setAttribute('data-ready', String(Math.round(performance.now())));
})();
"""


def page(title: str, subtitle: str, sections: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
        f"<h1>{escape(title)}</h1><div class=\"sub\">{subtitle}</div>\n"
        + "\n".join(sections)
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def fmt(value) -> str:
    """A number as a person reads it; anything else as text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def cards(items: list[tuple[str, object]]) -> str:
    return "<div class=\"cards\">" + "".join(
        f"<div class=\"card\"><div class=\"v\">{fmt(v)}</div><div class=\"k\">{escape(k)}</div></div>" for k, v in items) + "</div>"


def table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), attrs: list[str] | None = None, id: str = "") -> str:
    """Rows are HTML already; `attrs` gives each row's attributes (class, data-*)."""
    head = "".join(f"<th class=\"num\">{escape(h)}</th>" if i in numeric else f"<th>{escape(h)}</th>" for i, h in enumerate(headers))
    out = [f"<table{f' id={chr(34)}{id}{chr(34)}' if id else ''}><thead><tr>{head}</tr></thead><tbody>"]
    for r, row in enumerate(rows):
        cells = "".join(f"<td class=\"num\">{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        out.append(f"<tr {attrs[r] if attrs else ''}>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def line_chart(title: str, xs: list[float], ys: list[float], width: int = 360, height: int = 180) -> str:
    """An inline SVG line chart of one series (points where the series has a value)."""
    points = [(x, y) for x, y in zip(xs, ys) if isinstance(y, (int, float)) and not isinstance(y, bool) and math.isfinite(y)]
    pad_l, pad_r, pad_t, pad_b = 44, 10, 22, 24
    out = [f"<svg class=\"chart\" data-series=\"{escape(title)}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" "
           f"role=\"img\" aria-label=\"{escape(title)}\"><text x=\"{pad_l}\" y=\"15\" font-size=\"12\" font-weight=\"600\">{escape(title)}</text>"]
    if not points:
        out.append(f"<text x=\"{pad_l}\" y=\"{height // 2}\" font-size=\"12\" fill=\"#57606a\">no values</text></svg>")
        return "".join(out)
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if y0 == y1:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if x0 == x1:
        x0, x1 = x0 - 0.5, x1 + 0.5

    def sx(x):
        return pad_l + (x - x0) / (x1 - x0) * (width - pad_l - pad_r)

    def sy(y):
        return height - pad_b - (y - y0) / (y1 - y0) * (height - pad_t - pad_b)

    out.append(f"<line x1=\"{pad_l}\" y1=\"{height - pad_b}\" x2=\"{width - pad_r}\" y2=\"{height - pad_b}\" stroke=\"#d0d7de\"/>")
    out.append(f"<line x1=\"{pad_l}\" y1=\"{pad_t}\" x2=\"{pad_l}\" y2=\"{height - pad_b}\" stroke=\"#d0d7de\"/>")
    for y in (y0, y1):
        out.append(f"<text x=\"{pad_l - 4}\" y=\"{sy(y) + 4:.1f}\" font-size=\"10\" text-anchor=\"end\" fill=\"#57606a\">{y:.3g}</text>")
    for x in (x0, x1):
        out.append(f"<text x=\"{sx(x):.1f}\" y=\"{height - 8}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#57606a\">{x:.4g}</text>")
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
    out.append(f"<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\" points=\"{path}\"/>")
    if len(points) <= 60:
        out += [f"<circle cx=\"{sx(x):.1f}\" cy=\"{sy(y):.1f}\" r=\"2.5\" fill=\"#0969da\"><title>{x:g}: {y:g}</title></circle>" for x, y in points]
    out.append("</svg>")
    return "".join(out)
