"""`eigendsl report`, checked in a real headless Chromium: the page loads clean and shows the run right."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser

import pytest

from browser import Browser, find_chromium
from chat_server import ChatServer
from test_runs import AIRLINE, episodes, eval_args, gold_player, no_retries, run_cli


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        if os.environ.get("EIGENDSL_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (EIGENDSL_REQUIRE_BROWSER is set) but was not found")
        pytest.skip("no Chromium found: `apt-get install chromium` (or set CHROMIUM) to run the browser tests")
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A known eval run: a deterministic model that solves about half the airline tasks, two trials each."""
    tmp = tmp_path_factory.mktemp("run")
    handler, _ = gold_player()
    out = tmp / "results.json"
    with ChatServer(handler) as server:
        assert run_cli(*eval_args(server.base_url, out, no_retries(tmp), "--trials", "2")).exit_code == 0
    return out


def visible(b: Browser, selector: str) -> int:
    return b.eval(f"[...document.querySelectorAll({json.dumps(selector)})].filter(e => e.offsetParent !== null).length")


def test_eval_report_in_a_browser(browser, results, tmp_path):
    page = tmp_path / "report.html"
    made = run_cli("report", results, "-o", page)
    assert made.exit_code == 0 and f"-> {page}" in made.output
    html = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the page must not load anything from the network"
    data = json.loads(results.read_text())
    summary, runs = data["summary"], data["episodes"]
    tasks = data["config"]["tasks"]
    failing_tasks = {e["task_id"] for e in runs if e["reward"] < 1}
    assert 0 < len(failing_tasks) < len(tasks)

    browser.open(page.as_uri())
    assert browser.errors == []
    assert browser.eval("document.title") == "eval airline"
    cards = browser.eval("Object.fromEntries([...document.querySelectorAll('.card')].map(c => [c.querySelector('.k').textContent, c.querySelector('.v').textContent]))")
    assert cards["pass^1"] == f"{summary['pass_hat_k']['1']:.3f}" and cards["pass^2"] == f"{summary['pass_hat_k']['2']:.3f}"
    assert cards["episodes"] == str(len(runs)) and cards["tasks"] == str(len(tasks))
    rows = browser.eval("[...document.querySelectorAll('#task-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    headers = browser.eval("[...document.querySelectorAll('#task-table th')].map(c => c.textContent)")
    assert [r[0] for r in rows] == tasks and headers[:4] == ["task", "trials", "solved", "mean reward"]
    for row in rows:
        mine = [e for e in runs if e["task_id"] == row[0]]
        assert row[2] == str(sum(e["reward"] == 1 for e in mine))
        for name in mine[0]["components"]:
            values = [e["components"][name] for e in mine if e["components"][name] is not None]
            assert row[headers.index(name)] == (f"{sum(values) / len(values):.3f}" if values else "-")

    # The failure filter and the task search.
    assert visible(browser, "#task-table tbody tr") == len(tasks) and visible(browser, "details.episode") == len(runs)
    browser.eval("document.getElementById('only-failures').click()")
    assert visible(browser, "#task-table tbody tr") == len(failing_tasks)
    assert visible(browser, "details.episode") == sum(e["reward"] < 1 for e in runs)
    browser.eval("document.getElementById('only-failures').click()")
    search = tasks[0][:-1]  # a prefix of one id
    type_in = "(value => { const s = document.getElementById('search'); s.value = value; s.dispatchEvent(new Event('input')); })"
    browser.eval(f"{type_in}({json.dumps(search)})")
    assert visible(browser, "#task-table tbody tr") == sum(t.startswith(search) or search in t for t in tasks)
    browser.eval(f"{type_in}('')")

    # One failed episode, opened from its task's row: dialogue, tool calls, findings, termination.
    failed = next(e for e in runs if e["reward"] < 1 and e["details"])
    anchor = browser.eval(f"[...document.querySelectorAll('#task-table a')].find(a => a.textContent === {json.dumps(failed['task_id'])}).getAttribute('href')")
    browser.eval(f"document.querySelector('a[href=\"{anchor}\"]').click()")
    first = next(e for e in runs if e["task_id"] == failed["task_id"])
    episode = f"document.getElementById('ep-{failed['task_id']}-{failed['trial']}')"
    assert browser.eval(f"document.getElementById('ep-{first['task_id']}-{first['trial']}').open") is True
    browser.eval(f"{episode}.open = true")
    assert browser.eval(f"{episode}.querySelectorAll('.msg').length") == len(failed["messages"])
    assert browser.eval(f"{episode}.querySelector('.termination').textContent") == failed["termination"]
    findings = browser.eval(f"[...{episode}.querySelectorAll('.finding')].map(f => f.textContent)")
    for name, detail in failed["details"].items():
        assert any(f.startswith(name) for f in findings)
    calls = [c["name"] for m in failed["messages"] for c in m.get("tool_calls", [])]
    shown = browser.eval(f"[...{episode}.querySelectorAll('.call')].map(c => c.textContent)")
    assert [s.split("(")[0].lstrip("→ ") for s in shown] == calls
    badges = browser.eval(f"Object.fromEntries([...{episode}.querySelectorAll('.component')].map(b => [b.dataset.component, b.textContent]))")
    assert set(badges) == set(failed["components"])
    assert browser.errors == []


def test_a_results_log_renders_too(browser, results, tmp_path):
    log = results.with_name(results.name + ".jsonl")
    torn = tmp_path / "torn.jsonl"
    torn.write_text(log.read_text() + '{"task_id": "cut sh')
    page = tmp_path / "log.html"
    assert run_cli("report", torn, "-o", page).exit_code == 0
    browser.open(page.as_uri())
    assert browser.errors == []
    assert browser.eval("document.querySelectorAll('details.episode').length") == len(episodes(results))
    assert "1 unreadable line skipped" in browser.eval("document.querySelector('.sub').textContent")


def test_synth_and_train_reports_chart_what_they_have(browser, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"rounds": [
        {"round": 1, "attempted": 10, "kept": 4, "rejections": {"gold_fails": 4, "duplicate": 2}, "yield": 0.4, "pass_rate": 0.5},
        {"round": 2, "attempted": 12, "kept": 9, "rejections": {"gold_fails": 3}, "yield": 0.75},
        {"round": 3, "attempted": 8, "kept": 6, "rejections": {}, "yield": 0.75, "pass_rate": 0.25, "seconds": 12.5},
    ], "kept": 19}))
    page = tmp_path / "synth.html"
    assert run_cli("report", report, "-o", page).exit_code == 0
    browser.open(page.as_uri())
    assert browser.errors == []
    charts = browser.eval("[...document.querySelectorAll('svg.chart')].map(s => [s.dataset.series, s.querySelectorAll('circle').length])")
    assert dict(charts[:5]) == {"yield": 3, "pass_rate": 2, "kept": 3, "attempted": 3, "seconds": 1}
    assert ["gold_fails", 3] in charts and ["duplicate", 3] in charts  # a round without a reason had none
    rejections = browser.eval("[...document.querySelectorAll('#rejection-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    assert rejections == [["gold_fails", "4", "3", "0"], ["duplicate", "2", "0", "0"]]

    metrics = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"step": s, "reward": s / 10, "pass_rate": s / 20, "components": {"GOAL": 0.5}}) for s in range(1, 6)]
    lines[2] = json.dumps({"step": 3, "loss": 1.5})  # a step without reward: a gap, not a crash
    metrics.write_text("\n".join(lines) + "\n{\"step\": 6, \"rew")
    page = tmp_path / "train.html"
    assert run_cli("report", metrics, "-o", page).exit_code == 0
    browser.open(page.as_uri())
    assert browser.errors == []
    charts = dict(browser.eval("[...document.querySelectorAll('svg.chart')].map(s => [s.dataset.series, s.querySelectorAll('circle').length])"))
    assert charts == {"reward": 4, "pass_rate": 4, "loss": 1, "components.GOAL": 4}
    last = browser.eval("[...document.querySelectorAll('#series-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    assert last[0] == ["reward", "0.500", "0.100", "0.500"]


# a synth report.json's quality figures, as eigendsl/synth/engine.py writes them
QUALITY_ROUNDS = [
    {"scenarios": 40, "tool_language": 1.0, "foreign_ids": 0.325, "identical_masked": 0.25, "identical_masked_reason": 0.8,
     "undetermined": 0.0, "label_agreement": 1.0, "labelled": 9, "label_basis": {"gold": 9}},
    {"scenarios": 35, "tool_language": 0.5, "foreign_ids": 0.2, "identical_masked": 0.1, "identical_masked_reason": 0.6,
     "undetermined": 0.125, "label_agreement": 0.75, "labelled": 8, "label_basis": {"declared": 6, "gold": 2}},
]
QUALITY_RUN = {"scenarios": 75, "tool_language": 0.7667, "foreign_ids": 0.2667, "identical_masked": 0.2, "identical_masked_reason": 0.72,
               "undetermined": 0.0617, "label_agreement": 0.8824, "labelled": 17, "label_basis": {"declared": 6, "gold": 11},
               "held": ["users"], "declared_outcomes": True}
QUALITY_TABLE = [["1", "40", "100.0%", "32.5%", "25.0%", "80.0%", "0.0%", "100.0%", "gold 9"],
                 ["2", "35", "50.0%", "20.0%", "10.0%", "60.0%", "12.5%", "75.0%", "declared 6, gold 2"],
                 ["run", "75", "76.7%", "26.7%", "20.0%", "72.0%", "6.2%", "88.2%", "declared 6, gold 11"]]


def quality_report(tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"rounds": [{"round": i + 1, "attempted": 90, "kept": q["scenarios"], "rejections": {}, "quality": q}
                                             for i, q in enumerate(QUALITY_ROUNDS)], "quality": QUALITY_RUN, "kept": 75}))
    return report


class Cells(HTMLParser):
    """The rows of one table of a page, as the cells' text."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def test_synth_report_renders_its_quality_figures_per_round(tmp_path):
    page = tmp_path / "synth.html"
    assert run_cli("report", quality_report(tmp_path), "-o", page).exit_code == 0
    cells = Cells("quality-table")
    cells.feed(page.read_text())
    assert cells.rows[0][:3] == ["round", "scenarios", "tool language"] and cells.rows[0][-1] == "label basis"
    assert cells.rows[1:] == QUALITY_TABLE
    series = re.findall(r'data-series="([^"]+)"', page.read_text())
    assert {"tool language", "ids customers lack", "identical masked", "undetermined choices", "label agreement"} <= set(series)
    assert "quality.tool_language" not in series  # shown once, in its own section


def test_synth_report_quality_in_a_browser(browser, tmp_path):
    page = tmp_path / "synth.html"
    assert run_cli("report", quality_report(tmp_path), "-o", page).exit_code == 0
    browser.open(page.as_uri())
    assert browser.errors == []
    rows = browser.eval("[...document.querySelectorAll('#quality-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    assert rows == QUALITY_TABLE
    charts = dict(browser.eval("[...document.querySelectorAll('#quality ~ .charts svg.chart')].map(s => [s.dataset.series, s.querySelectorAll('circle').length])"))
    assert charts["tool language"] == 2 and charts["label agreement"] == 2


def test_report_errors_are_sentences(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    (tmp_path / "bad.json").write_text("{")
    for name, said in [("missing.json", "no such file"), ("x.json", "is not an eval results file, a synth report.json or a train metrics.jsonl"),
                       ("bad.json", "is not valid JSON")]:
        result = run_cli("report", tmp_path / name)
        assert result.exit_code == 1 and result.output.startswith("error: ") and said in result.output
        assert len(result.output.strip().splitlines()) == 1


EPISODE = {"task_id": "t", "trial": 0, "reward": 1.0, "components": {}, "details": {}, "termination": "user_stop",
           "steps": 3, "messages": []}


@pytest.mark.parametrize("name, content, said", [
    ("r.json", {"episodes": [{**EPISODE, "reward": "high"}]}, "episodes.0.reward: Input should be a valid number"),
    ("r.json", {"episodes": [{**EPISODE, "components": [1]}]}, "episodes.0.components: Input should be a valid dictionary"),
    ("r.json", {"episodes": [{**EPISODE, "messages": [5]}]}, "episodes.0.messages.0: Input should be a valid dictionary"),
    ("r.json", {"episodes": [{**EPISODE, "messages": [{"role": "assistant", "tool_calls": [5]}]}]},
     "episodes.0.messages.0.tool_calls.0: Input should be a valid dictionary"),
    ("r.json", {"config": 5, "episodes": [EPISODE]}, "config: Input should be a valid dictionary"),
    ("r.json", {"episodes": [{**EPISODE, "task_id": ["t"]}]}, "episodes.0.task_id"),
    ("r.jsonl", {**EPISODE, "trial": -5}, "episode 1: trial: Input should be greater than or equal to 0"),
    ("r.jsonl", {**EPISODE, "reward": float("nan")}, "episode 1: reward: Input should be a finite number"),
    ("r.jsonl", {**EPISODE, "trial": 1e999}, "episode 1: trial: Input should be a finite number"),
    ("report.json", {"rounds": [{"round": 1, "rejections": 5}]}, "rounds.0.rejections: Input should be a valid dictionary"),
    ("report.json", {"rounds": [{"round": 1, "quality": {"tool_language": 1.5}}]},
     "rounds.0.quality.tool_language: Input should be less than or equal to 1"),
])
def test_a_results_file_with_wrong_field_types_is_one_line(tmp_path, name, content, said):
    (tmp_path / name).write_text(json.dumps(content) + "\n")
    result = run_cli("report", tmp_path / name)
    assert result.exit_code == 1 and result.output.startswith("error: ") and said in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / name).with_suffix(".html").exists()


@pytest.mark.parametrize("record, says", [
    ({"task_id": "1", "init": [], "actions": [], "assertions": [], "db_hash": "ab", "db_changes": {}}, "holds gold replay records"),
    ({"task_id": "t", "messages": [], "tools": [], "plan": "p", "round": 1, "variant": 0}, "holds SFT dialogues"),
])
def test_a_file_of_another_kind_gets_a_sentence(tmp_path, record, says):
    # replay's records and synth's SFT dialogues carry task ids but no rewards: not eval episodes
    from click.testing import CliRunner

    from eigendsl.cli import main

    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(record) + "\n")
    result = CliRunner().invoke(main, ["report", str(path), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and says in result.output and "Field required" not in result.output, result.output


def test_the_episode_named_in_the_address_opens(browser, results, tmp_path):
    # a link to one episode (report.html#ep-TASK-TRIAL), shared or bookmarked, opens it
    page = tmp_path / "report.html"
    assert run_cli("report", results, "-o", page).exit_code == 0
    episode = json.loads(results.read_text())["episodes"][-1]
    name = f"ep-{episode['task_id']}-{episode['trial']}"
    browser.open(page.as_uri() + "#" + name)
    assert browser.eval(f"document.getElementById({json.dumps(name)}).open") is True
    assert browser.eval("[...document.querySelectorAll('details.episode')].filter(d => d.open).length") == 1
    assert browser.errors == []
