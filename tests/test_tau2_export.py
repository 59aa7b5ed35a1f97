"""Exported tasks earn in tau2-bench's own evaluator what they earn here: its gold reward is 1.

Slow: synthesises a small set per domain, exports it with `export-tau2` and runs
benchmarks/tau2_crosscheck.py, which plays each gold in tau2-bench's environment (its own
Python, $EIGENDSL_TAU2_PYTHON, default /tmp/tau2-venv/bin/python) and scores it with its
`evaluate_simulation`. Skips when tau2-bench's source (../shared/tau2/bench) or a Python
with it installed is absent.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import DEEP
from eigendsl.cli import main
from eigendsl.synth.portable import copy_domain

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("tau2_crosscheck", ROOT / "benchmarks" / "tau2_crosscheck.py")
crosscheck = importlib.util.module_from_spec(spec)
spec.loader.exec_module(crosscheck)


# Tasks synthesised per domain: a handful in the default run, each domain and both kinds of data
# still played in tau2-bench; the full set with EIGENDSL_DEEP=1 (scripts/deep_checks.sh).
SYNTH_TASKS = 24 if DEEP else 8


@pytest.fixture(scope="module")
def tau2():
    why = crosscheck.tau2_missing()
    if why:
        pytest.skip(why)
    return crosscheck.TAU2_DIR


def synthesised_export(tmp_path: Path, domain: str, *data: str) -> list[Path]:
    out = tmp_path / domain
    args = ["synth", str(ROOT / "domains" / f"{domain}.eig"), "--out", str(out), "--tasks", str(SYNTH_TASKS), "--seed", "5",
            "--workers", "1", "--no-progress", *data]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    exported = []
    for tasks_eig in sorted((out / "tasks").glob("round_*.eig")):
        target = tasks_eig.with_suffix(".json")
        result = CliRunner().invoke(main, ["export-tau2", str(tasks_eig), "-o", str(target)])
        assert result.exit_code == 0, result.output
        exported.append(target)
    assert exported
    return exported


def assert_gold_earns_one(exported: list[Path], *data: str) -> None:
    rows = []
    for path in exported:
        rows += crosscheck.check(path, None, *data) if data else crosscheck.check(path, None, None, None)
    assert len(rows) == sum(len(json.loads(p.read_text())) for p in exported)
    wrong = [f"{r['task_id']}: ours {r['ours']}, tau2 {r['tau2']}: {r['difference']}" for r in rows
             if r["tau2"] != 1.0 or r["ours"] != 1.0]
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.parametrize("domain", ["airline", "retail", "telecom"])
def test_exported_golds_earn_one_in_tau2(tau2, tmp_path, domain):
    assert_gold_earns_one(synthesised_export(tmp_path, domain))


@pytest.mark.slow
@pytest.mark.parametrize("domain", ["airline", "retail", "telecom"])
def test_tasks_over_the_benchmarks_data_run_in_stock_tau2(tau2, tmp_path, domain):
    # synth over the benchmark's own data gives tasks stock tau2-bench runs as they are
    db = tau2 / domain / "db.json"
    user_db = tau2 / domain / "user_db.json"
    data = ["--db", str(db)] + (["--user-db", str(user_db)] if user_db.is_file() else [])
    exported = synthesised_export(tmp_path, domain, *data)
    assert_gold_earns_one(exported, str(db), str(user_db) if user_db.is_file() else None)


def test_crosscheck_says_when_tau2_is_absent(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EIGENDSL_TAU2_PYTHON", str(tmp_path / "no-python"))
    assert crosscheck.main([str(tmp_path / "tasks.json")]) == crosscheck.UNAVAILABLE
    assert "tau2-bench is not available, nothing checked" in capsys.readouterr().err


TASKS = '''import "telecom.eig"

task "tops-up" {
  user { reason "Your data ran out." }
  gold {
    get_customer_by_id(customer_id: "C2046")
    refuel_data(customer_id: "C2046", line_id: "L2098", gb_amount: 1.0)
  }
  reward { DB }
}

task "refused" {
  user { reason "You want more data." }
  gold { get_customer_by_id(customer_id: "C2045") }
  reward { DB, ACTION, POLICY }
}
'''


def test_export_scores_account_writes_of_a_synced_domain_without_db(tmp_path):
    # tau2 rebuilds its DB reference without syncing the phone to the account: a gold that
    # changes the account is scored by what tau2 reproduces (ACTION); one that does not keeps DB
    copy_domain(ROOT / "domains" / "telecom.eig", tmp_path)
    (tmp_path / "tasks.eig").write_text(TASKS, encoding="utf-8")
    result = CliRunner().invoke(main, ["export-tau2", str(tmp_path / "tasks.eig"), "-o", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    basis = {t["id"]: t["evaluation_criteria"]["reward_basis"] for t in json.loads((tmp_path / "out.json").read_text())}
    assert basis == {"tops-up": ["ACTION"], "refused": ["DB", "ACTION"]}


def test_synth_data_travels_with_the_kept_tasks(tmp_path):
    db, user_db = tmp_path / "db.json", tmp_path / "user_db.json"
    db.write_text('{"plans": []}', encoding="utf-8")
    user_db.write_text('{"device": {}}', encoding="utf-8")
    copy = copy_domain(ROOT / "domains" / "telecom.eig", tmp_path / "out", str(db), str(user_db))
    assert (copy.parent / "telecom.data.json").read_text() == '{"plans": []}'
    assert (copy.parent / "telecom.user_data.json").read_text() == '{"device": {}}'
    copy_domain(ROOT / "domains" / "telecom.eig", tmp_path / "own")
    assert (tmp_path / "own" / "telecom.data.json").read_bytes() == (ROOT / "domains" / "telecom.data.json").read_bytes()
