"""The reports of a synthesis run (per round) and of a training run (per step): tables and line charts."""

from __future__ import annotations

from html import escape

from .page import fmt, line_chart, page, table


def numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def flatten(record: dict, prefix: str = "") -> dict:
    """Numbers of a record, nested objects as "name.key"."""
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        elif numeric(value):
            out[f"{prefix}{key}"] = value
    return out


def series_names(records: list[dict], x: str, first: tuple[str, ...]) -> list[str]:
    names: list[str] = [n for n in first if any(n in r for r in records)]
    for r in records:
        for k in r:
            if k != x and k not in names:
                names.append(k)
    return names


def charts(records: list[dict], x: str, names: list[str]) -> str:
    xs = [r.get(x) for r in records]
    return "<div class=\"charts\">" + "".join(line_chart(n, xs, [r.get(n) for r in records]) for n in names) + "</div>"


def render_synth(report: dict, source: str) -> str:
    rounds = [r for r in report["rounds"] if isinstance(r, dict)]
    for i, r in enumerate(rounds):
        r.setdefault("round", i + 1)
    flat = [flatten({k: v for k, v in r.items() if k not in ("rejections", "quality")}) for r in rounds]
    names = series_names(flat, "round", ("yield", "pass_rate", "kept", "attempted"))
    reasons: list[str] = []
    for r in rounds:
        for reason in r.get("rejections") or {}:
            if reason not in reasons:
                reasons.append(reason)
    rows = [[fmt(f.get("round"))] + [fmt(f.get(n)) for n in names] for f in flat]
    sections = ["<h2 id=\"rounds\">Rounds</h2>" + table(["round", *names], rows, set(range(len(names) + 1)), id="round-table"),
                "<h2 id=\"charts\">Per round</h2>" + charts(flat, "round", names)]
    if reasons:
        rej_rows = [[escape(reason)] + [fmt((r.get("rejections") or {}).get(reason, 0)) for r in rounds] for reason in reasons]
        sections.append("<h2 id=\"rejections\">Rejections by reason</h2>"
                        + table(["reason", *[f"round {fmt(r['round'])}" for r in rounds]], rej_rows, set(range(1, len(rounds) + 1)),
                                id="rejection-table")
                        + charts([{"round": r["round"], **{k: (r.get("rejections") or {}).get(k, 0) for k in reasons}} for r in rounds],
                                 "round", reasons))
    if any(isinstance(r.get("quality"), dict) for r in rounds):
        sections.insert(2, quality_section(report, rounds))
    totals = {k: v for k, v in report.items() if k != "rounds" and (numeric(v) or isinstance(v, str))}
    if totals:
        sections.insert(0, "<h2>Run</h2>" + table(["measure", "value"], [[escape(k), fmt(v)] for k, v in totals.items()], {1}))
    return page("synthesis", f"{escape(source)} · {len(rounds)} round{'s' if len(rounds) != 1 else ''}", sections)


# The quality figures of a synth report, as its rounds give them (eigendsl/synth/quality.py).
QUALITY = (("tool_language", "tool language"), ("foreign_ids", "ids customers lack"), ("identical_masked", "identical masked"),
           ("identical_masked_reason", "identical masked reason"), ("undetermined", "undetermined choices"),
           ("label_agreement", "label agreement"))


def percent(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def quality_section(report: dict, rounds: list[dict]) -> str:
    """A table of the kept tasks' quality figures per round (and for the run), and their charts."""
    def row(name: str, q: dict) -> list[str]:
        basis = ", ".join(f"{escape(k)} {fmt(n)}" for k, n in sorted((q.get("label_basis") or {}).items())) or "-"
        return [name, fmt(q.get("scenarios"))] + [percent(q.get(k)) for k, _ in QUALITY] + [basis]

    rows = [row(fmt(r["round"]), r["quality"]) for r in rounds if isinstance(r.get("quality"), dict)]
    run = report.get("quality")
    if isinstance(run, dict):
        rows.append(row("run", run))
    note = ("<p class=\"muted\">Shares of the kept tasks: scenarios in tool language, holding ids customers lack, equal to another"
            " once ids, numbers and names are masked (the whole scenario, the reason alone); undetermined choices among kept tasks"
            " and such rejections; refusal and transfer labels that agree with the guards (basis: <i>declared</i> outcomes, or the"
            " <i>gold</i>'s shape where none is declared).</p>")
    shares = [{"round": r["round"], **{label: r["quality"].get(k) for k, label in QUALITY}} for r in rounds if isinstance(r.get("quality"), dict)]
    return ("<h2 id=\"quality\">Quality of kept tasks</h2>" + note
            + table(["round", "scenarios", *[label for _, label in QUALITY], "label basis"], rows, set(range(1, len(QUALITY) + 2)),
                    id="quality-table")
            + charts(shares, "round", [label for _, label in QUALITY]))


def render_train(records: list[dict], source: str, skipped: int = 0) -> str:
    flat = [flatten(r) for r in records if numeric(r.get("step"))]
    flat.sort(key=lambda r: r["step"])
    names = series_names(flat, "step", ("reward", "pass_rate", "loss"))
    last = flat[-1] if flat else {}
    rows = [[escape(n), fmt(last.get(n)), fmt(min((r[n] for r in flat if n in r), default=None)),
             fmt(max((r[n] for r in flat if n in r), default=None))] for n in names]
    subtitle = f"{escape(source)} · {len(flat)} step{'s' if len(flat) != 1 else ''}"
    if skipped:
        subtitle += f" · <span class=\"warn\">{skipped} unreadable line{'s' if skipped != 1 else ''} skipped</span>"
    sections = ["<h2 id=\"charts\">Per step</h2>" + charts(flat, "step", names),
                "<h2>Last step</h2>" + table(["series", "last", "min", "max"], rows, {1, 2, 3}, id="series-table")]
    return page("training", subtitle, sections)
