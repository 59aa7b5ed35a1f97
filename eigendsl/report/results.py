"""The report of an eval run: summary and pass^k, a task table with reward components, every episode."""

from __future__ import annotations

import json
from html import escape

from ..ir import Side
from .page import cards, fmt, line_chart, page, table

SOLVED = 1.0 - 1e-9


def render(data: dict, source: str, skipped: int = 0) -> str:
    config, summary, episodes = data.get("config") or {}, data.get("summary") or {}, data["episodes"]
    order = {t: i for i, t in enumerate(config.get("tasks") or [])}
    episodes = sorted(episodes, key=lambda e: (order.get(e["task_id"], len(order)), str(e["task_id"]), e.get("trial", 0)))
    who = " · ".join(f"{side} <code>{escape(describe(config.get(side)))}</code>" for side in ("agent", "user") if config.get(side))
    domain = config.get("domain")
    subtitle = f"{escape(source)}" + (f" · domain <b>{escape(str(domain))}</b>" if domain else "") + (f" · {who}" if who else "")
    if skipped:
        subtitle += f" · <span class=\"warn\">{skipped} unreadable line{'s' if skipped != 1 else ''} skipped</span>"
    sections = [summary_section(summary, episodes), tasks_section(episodes),
                "<h2>Episodes</h2>" + "".join(episode_section(e) for e in episodes)]
    return page(f"eval {domain or ''}".strip(), subtitle, sections)


def describe(side) -> str:
    if not isinstance(side, dict):
        return str(side)
    return ":".join(str(side[k]) for k in ("kind", "model", "path") if side.get(k))


def summary_section(summary: dict, episodes: list[dict]) -> str:
    rewards = [e["reward"] for e in episodes]
    items = [("episodes", len(episodes)), ("tasks", len({e["task_id"] for e in episodes})),
             ("trials", summary.get("trials")), ("average reward", sum(rewards) / len(rewards) if rewards else None)]
    pass_k = {int(k): v for k, v in (summary.get("pass_hat_k") or {}).items() if str(k).isdigit()}
    shown = sorted(pass_k) if len(pass_k) <= 4 else sorted({1, 2, 4, max(pass_k)} & set(pass_k))
    items += [(f"pass^{k}", pass_k[k]) for k in shown]
    expected = summary.get("episodes_expected")
    if expected and expected > len(episodes):
        items.append(("episodes still to run", expected - len(episodes)))
    terminations: dict[str, int] = {}
    for e in episodes:
        terminations[e.get("termination", "?")] = terminations.get(e.get("termination", "?"), 0) + 1
    ends = " ".join(f"<span class=\"badge {'ok' if t == 'user_stop' else 'warn'}\">{escape(t)} {n}</span>"
                    for t, n in sorted(terminations.items()))
    tokens = summary.get("tokens") or {}
    used = " · ".join(f"{side}: {fmt(t.get('prompt'))} prompt / {fmt(t.get('completion'))} completion tokens"
                      for side, t in tokens.items() if isinstance(t, dict) and (t.get("prompt") or t.get("completion")))
    violations = summary.get("policy_violations") or {}
    if violations:
        extra_violations = " ".join(f"<span class=\"badge bad\">{escape(str(p))} {n}</span>" for p, n in violations.items())
    flags = summary.get("fidelity_flags")
    extra = f"<p>ended by: {ends}</p>" + (f"<p class=\"muted\">{used}</p>" if used else "")
    if violations:
        extra += f"<p id=\"violations\">calls violating a policy: {extra_violations}</p>"
    if flags:
        extra += f"<p class=\"warn\">{flags} fidelity flag(s) on the simulated user in {summary.get('episodes_with_fidelity_flags')} episode(s)</p>"
    curve = line_chart("pass^k by k", sorted(pass_k), [pass_k[k] for k in sorted(pass_k)], width=480) if len(pass_k) > 4 else ""
    return "<h2 id=\"summary\">Summary</h2>" + cards(items) + curve + extra


def tasks_section(episodes: list[dict]) -> str:
    by_task: dict[str, list[dict]] = {}
    for e in episodes:
        by_task.setdefault(str(e["task_id"]), []).append(e)
    components = []
    for e in episodes:
        for c in e.get("components") or {}:
            if c not in components:
                components.append(c)
    rows, attrs = [], []
    for task, runs in by_task.items():
        solved = sum(e["reward"] >= SOLVED for e in runs)
        cells = [f"<a href=\"#ep-{anchor(task, runs[0].get('trial', 0))}\">{escape(task)}</a>", fmt(len(runs)),
                 f"<span class=\"{'ok' if solved == len(runs) else 'bad'}\">{solved}</span>",
                 fmt(sum(e["reward"] for e in runs) / len(runs))]
        for c in components:
            values = [e["components"][c] for e in runs if isinstance((e.get("components") or {}).get(c), (int, float))]
            mean = sum(values) / len(values) if values else None
            cells.append(f"<span class=\"{'ok' if mean == 1 else 'bad' if mean is not None else 'muted'}\">{fmt(mean)}</span>")
        ends = sorted({e.get("termination", "?") for e in runs})
        cells.append(" ".join(escape(t) for t in ends))
        rows.append(cells)
        attrs.append(f"class=\"task {'pass' if solved == len(runs) else 'fail'}\" data-task=\"{escape(task)}\"")
    headers = ["task", "trials", "solved", "mean reward", *components, "ended by"]
    numeric = {1, 2, 3, *range(4, 4 + len(components))}
    controls = ("<div class=\"controls\"><label><input type=\"checkbox\" id=\"only-failures\"> only failures</label>"
                "<label>task <input type=\"search\" id=\"search\" placeholder=\"filter by task id\"></label></div>")
    return "<h2 id=\"tasks\">Tasks</h2>" + controls + table(headers, rows, numeric, attrs, id="task-table")


def anchor(task: str, trial) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in f"{task}-{trial}")


def episode_section(e: dict) -> str:
    passed = e["reward"] >= SOLVED
    status = "pass" if passed else "fail"
    head = (f"<summary><b>{escape(str(e['task_id']))}</b> trial {fmt(e.get('trial'))} · reward "
            f"<span class=\"{'ok' if passed else 'bad'}\">{fmt(float(e['reward']))}</span> · ended by "
            f"<span class=\"termination\">{escape(str(e.get('termination', '?')))}</span> · {fmt(e.get('steps'))} steps"
            + (f" · {fmt(e.get('tool_errors'))} tool errors" if e.get("tool_errors") else "") + "</summary>")
    parts = [components_line(e), findings(e), fidelity(e), dialogue(e)]
    return (f"<details class=\"episode {status}\" id=\"ep-{anchor(str(e['task_id']), e.get('trial', 0))}\" "
            f"data-task=\"{escape(str(e['task_id']))}\">{head}<div class=\"body\">{''.join(parts)}</div></details>")


def components_line(e: dict) -> str:
    badges = []
    for name, value in (e.get("components") or {}).items():
        cls = "muted" if value is None else "ok" if value >= SOLVED else "bad"
        badges.append(f"<span class=\"badge component {cls}\" data-component=\"{escape(name)}\">{escape(name)} {fmt(value)}</span>")
    return "<p>" + "".join(badges) + "</p>" if badges else ""


def findings(e: dict) -> str:
    """What the checker saw: the state diff against the gold outcome, failed goals, missing actions..."""
    details = e.get("details") or {}
    items = []
    for name, detail in details.items():
        for line in finding_lines(name, detail):
            items.append(f"<li class=\"finding\" data-component=\"{escape(name)}\"><b>{escape(name)}</b> {line}</li>")
    return "<ul class=\"findings\">" + "".join(items) + "</ul>" if items else ""


def finding_lines(name: str, detail) -> list[str]:
    if not isinstance(detail, dict):
        return [escape(str(detail))]
    lines = []
    labels = {"differs": "differs from the gold outcome:", "failed": "failed:", "missing": "missing:", "violated": "violated:",
              "not_evaluated": "not evaluated:"}
    for key, value in detail.items():
        label = labels.get(key, f"{key}:")
        values = value if isinstance(value, list) else [value]
        for v in values:
            lines.append(f"{escape(label)} {describe_finding(v)}")
    return lines


def describe_finding(v) -> str:
    if isinstance(v, dict):
        parts = []
        where = v.get("at")
        if where:
            parts.append(f"<span class=\"muted\">{escape(str(where))}</span>")
        for key in ("goal", "assertion", "policy", "call"):
            if key in v:
                parts.append(f"<code>{escape(str(v[key]))}</code>")
        for key in ("saw", "got", "expected", "message", "error"):
            if key in v:
                parts.append(f"{key} <code>{escape(short(v[key]))}</code>")
        rest = {k: x for k, x in v.items() if k not in ("at", "goal", "assertion", "policy", "call", "saw", "got", "expected", "message", "error")}
        if rest:
            parts.append(f"<code>{escape(short(rest))}</code>")
        return " ".join(parts)
    return f"<code>{escape(str(v))}</code>"


def short(value, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def fidelity(e: dict) -> str:
    flags = e.get("fidelity_flags") or []
    if not flags:
        return ""
    return "<p class=\"warn\">simulated user said what its scenario does not: " + ", ".join(
        f"<code>{escape(str(f.get('value', f)))}</code>" for f in flags) + "</p>"


def dialogue(e: dict) -> str:
    out = ["<div class=\"dialogue\">"]
    for m in e.get("messages") or []:
        role = m.get("role", "?")
        usage = m.get("usage") or {}
        if usage.get("error"):
            out.append(f"<div class=\"msg failure\"><span class=\"who\">{escape(role)} failed</span>{escape(str(usage['error']))}</div>")
            continue
        if role == "tool":
            side = m.get("side", "agent")
            guards = "".join(guard_badge(g) for g in m.get("guards") or [])
            cls = "msg tool error" if m.get("error") else "msg tool"
            out.append(f"<div class=\"{cls}\"><span class=\"who\">{'result' if side == Side.AGENT else 'user device result'}{guards}</span>"
                       f"{escape(str(m.get('content', '')))}</div>")
            continue
        who = "agent" if role == "assistant" else "user"
        text = escape(m["content"]) if m.get("content") else ""
        calls = "".join(f"<span class=\"call\">→ {escape(str(c.get('name')))}({escape(arguments(c.get('arguments')))})</span>"
                        for c in m.get("tool_calls") or [])
        out.append(f"<div class=\"msg {role}\"><span class=\"who\">{who}</span>{text}{calls}</div>")
    out.append(f"<p class=\"muted\">ended by <b>{escape(str(e.get('termination', '?')))}</b> after {fmt(e.get('steps'))} steps"
               + (f" in {e['seconds']:.2f}s" if isinstance(e.get("seconds"), (int, float)) else "") + "</p></div>")
    return "".join(out)


def guard_badge(g: dict) -> str:
    verdict = g.get("verdict", "?")
    mode = "enforce" if g.get("enforce") else "monitor"
    cls = "ok" if verdict == "ok" else "bad"
    outcome = f", {escape(str(g['outcome']))} declared" if g.get("outcome") else ""  # refuse | transfer
    return f" <span class=\"badge guard {cls}\">policy {escape(str(g.get('policy')))}: {escape(verdict)}{outcome} ({mode})</span>"


def arguments(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in value.items())
    return str(value)
