"""`score` agrees with tau2-bench on trajectories with real models' habits, frozen from tau2 itself.

tests/data/tau2_habits/DOMAIN.json is what benchmarks/tau2_habits.py made with tau2's own
environment and evaluator (regenerate it there; this test needs no tau2): per write tool of the
domain, one benchmark task played with several calls per message under unique, repeated and
missing ids, ids reused across messages, `content: ""` beside calls, unknown keys inside object
arguments, wrong and right calls in one message, and the OpenAI wire form, each with tau2's
reward. The files are tau2 results files, so the leaderboard check (pass^k) is tested on them too.
"""

from __future__ import annotations

import copy
import json
import math
import re

import pytest
from click.testing import CliRunner

from conftest import DOMAINS, ROOT, shared_dir
from eigendsl.cli import main

HABITS = ROOT / "tests" / "data" / "tau2_habits"


def frozen(domain: str) -> dict:
    return json.loads((HABITS / f"{domain}.json").read_text(encoding="utf-8"))


def score(domain: str, simulations, out, tasks=None):
    shared = shared_dir(domain)
    args = ["score", str(ROOT / "compiled" / domain), "--simulations", str(simulations), "--db", str(shared / "db.json"),
            "--out", str(out)] + ([] if tasks is False else ["--tasks", str(tasks or simulations)])
    if (shared / "user_db.json").is_file():
        args += ["--user-db", str(shared / "user_db.json")]
    return CliRunner().invoke(main, args)


@pytest.mark.parametrize("domain", DOMAINS)
def test_score_agrees_with_every_frozen_tau2_reward(domain, tmp_path, capsys):
    data = frozen(domain)
    result = score(domain, HABITS / f"{domain}.json", tmp_path / "s.jsonl")
    assert result.exit_code == 0 and "skipped 0" in result.output, (result.output, result.stderr)
    mine = {x["id"]: x["reward"] for x in map(json.loads, (tmp_path / "s.jsonl").read_text().splitlines())}
    theirs = {s["id"]: s["reward_info"]["reward"] for s in data["simulations"]}
    assert set(mine) == set(theirs)
    differ = {k: (mine[k], theirs[k]) for k in theirs if mine[k] != theirs[k]}
    assert not differ, differ
    assert {1.0, 0.0} <= set(theirs.values())
    covered = [t for t in data["info"]["coverage"] if t["task"]]
    habits = {h for t in covered for h, _, _ in t["habits"]}
    assert {"one-message", "one-per-message", "wrong-and-right", "openai-wire"} <= habits
    with capsys.disabled():
        print(f"\n{domain}: score agrees with tau2 on {len(theirs)}/{len(theirs)} frozen runs "
              f"({sum(v == 1.0 for v in theirs.values())} rewarded) over {len(covered)}/{len(data['info']['coverage'])} write tools")


def test_the_habits_are_all_there():
    ids = {s["id"] for d in DOMAINS for s in frozen(d)["simulations"]}
    for habit in ("one-message:unique", "one-message:repeated", "one-message:missing", "one-per-message:reused",
                  "unknown-keys-inside:repeated", "object-missing-a-key:repeated", "wrong-and-right:repeated",
                  "wrong-only:repeated", "write-left-out:repeated", "openai-wire:repeated"):
        assert any(i.endswith(":" + habit) for i in ids), habit
    sims = [s for d in DOMAINS for s in frozen(d)["simulations"]]
    assert any(m.get("content") == "" and m.get("tool_calls") and len(m["tool_calls"]) > 1 for s in sims for m in s["messages"])
    assert any(isinstance(c.get("function", {}).get("arguments"), str) for s in sims for m in s["messages"] for c in m.get("tool_calls") or [])


# ---------------------------------------------------------------- check a published result (pass^k)

def leaderboard_pass_k(rewards: dict[str, list[float]], k: int) -> float:
    """The leaderboard's pass^k, written out here: mean over tasks of C(successes, k) / C(trials, k)."""
    return sum(math.comb(sum(r == 1.0 for r in v), k) / math.comb(len(v), k) for v in rewards.values()) / len(rewards)


def test_a_published_results_file_with_several_trials(tmp_path):
    data = frozen("airline")
    sims = []
    for trial in range(3):
        for s in data["simulations"]:
            s = copy.deepcopy(s)
            s["id"], s["trial"] = f"{s['id']}#{trial}", trial
            if trial == 2 and s["reward_info"]["reward"] == 1.0 and s["id"].startswith("book_reservation:one-message:unique"):
                s["termination_reason"], s["reward_info"]["reward"] = "max_steps", 0.0  # a trial cut short
            sims.append(s)
    infra = copy.deepcopy(sims[0])
    infra["id"], infra["termination_reason"] = "infra", "infrastructure_error"
    broken = copy.deepcopy(sims[1])
    broken["id"] = "broken"
    broken["messages"].insert(3, {"role": "assistant", "content": "One moment."})  # between calls and results
    results = {"timestamp": "2025-01-01T00:00:00", "info": {"num_trials": 3, "environment_info": {"domain_name": "airline"}},
               "tasks": data["tasks"], "simulations": sims + [infra, broken]}
    path = tmp_path / "published.json"
    path.write_text(json.dumps(results))
    result = score("airline", path, tmp_path / "s.jsonl", tasks=False)  # the file's own tasks, as it is
    assert result.exit_code == 0, (result.output, result.stderr)
    assert f"tasks: the {len(data['tasks'])} the results file carries" in result.output
    rewards: dict[str, list[float]] = {}
    for s in sims:
        rewards.setdefault(s["task_id"], []).append(s["reward_info"]["reward"])
    expected = "  ".join(f"pass^{k} {leaderboard_pass_k(rewards, k):.4f}" for k in (1, 2, 3))
    assert f"airline pass^k scored here:  {expected}" in result.output, result.output
    rewards[broken["task_id"]].append(broken["reward_info"]["reward"])  # the file's own figures count every record it ran
    recorded = "  ".join(f"pass^{k} {leaderboard_pass_k(rewards, k):.4f}" for k in (1, 2, 3))
    assert f"airline pass^k as recorded:  {recorded}" in result.output, result.output
    assert "1 infrastructure error(s) left out" in result.output
    assert "success differs from the recorded reward on 0 simulation(s)" in result.output
    assert re.search(r"airline could not score 1 record\(s\): 1x message N: a tool result for no tool call", result.output), result.output
