"""Runs people can trust: endpoint failures are not results, results files survive damage, errors are sentences."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chat_server import ChatServer, completion, overloaded
from conftest import ROOT, SHARED, root_for
from eigendsl.cli import main
from eigendsl.episode.users import ScriptedUser
from eigendsl.eval.runner import read_done
from eigendsl.compiler import load_domain

AIRLINE = ROOT / "compiled" / "airline"


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def no_retries(tmp_path, side: str = "agent") -> Path:
    """A config file that turns the client's own retries off and calls an endpoint down after
    half a second without an answer, so failures show at once."""
    path = tmp_path / f"{side}.toml"
    path.write_text(f"[{side}]\nmax_retries = 0\noverload_wait = 5\ndown_after = 0.5\ndown_tries = 2\n")
    return path


def gold_player():
    """A deterministic model for the chat server: it recognises the task from the user's first
    message and plays its gold actions on half the tasks, and apologises on the other half."""
    domain = load_domain(AIRLINE)
    plans = {}
    for task in domain.ir.tasks:
        user = ScriptedUser()
        user.reset(task, domain)
        solve = int(hashlib.sha256(task.id.encode()).hexdigest(), 16) % 2 == 0
        plans[user.opening()] = ([c for c in task.gold if c.actor == "agent"] if solve else None, list(task.communicate))

    def handler(request, n):
        messages = request["messages"]
        opening = next(m["content"] for m in messages if m["role"] == "user")
        plan, communicate = plans[opening]
        if plan is None:
            return completion("Sorry, I cannot do that. Goodbye.")
        done = sum(1 for m in messages if m["role"] == "assistant" and m.get("tool_calls"))
        if done < len(plan):
            return completion(tool_calls=[{"name": plan[done].name, "arguments": dict(plan[done].args)}])
        return completion(("All done. " + " ".join(communicate)).strip())

    return handler, len(plans)


def episodes(out: Path) -> dict:
    return {(e["task_id"], e["trial"]): (e["reward"], e["termination"]) for e in read_done(out.with_name(out.name + ".jsonl"))}


def eval_args(server_url: str, out: Path, config: Path, *extra) -> list:
    return ["eval", AIRLINE, "--agent", "openai:test-model", "--agent-base-url", server_url, "--config", config,
            "--out", out, "--no-progress", *extra]


def test_unreachable_agent_stops_the_run_and_a_rerun_runs_every_episode(tmp_path):
    handler, n_tasks = gold_player()
    with ChatServer(handler) as probe:
        port = probe.httpd.server_address[1]
        url = probe.base_url
    out = tmp_path / "results.json"
    down = run_cli(*eval_args(url, out, no_retries(tmp_path), "--trials", "2"))
    assert down.exit_code == 1
    message = down.output.strip()
    assert message.startswith(f"error: cannot reach the agent endpoint {url} (model test-model)"), message
    assert "The run stopped after 3 episodes failed on the endpoint" in message
    assert f"{2 * n_tasks} of {2 * n_tasks} are still to run" in message and "Traceback" not in message
    assert episodes(out) == {}
    with ChatServer(handler, port=port):
        back = run_cli(*eval_args(url, out, no_retries(tmp_path), "--trials", "2"))
    assert back.exit_code == 0, back.output
    assert len(episodes(out)) == 2 * n_tasks
    assert json.loads(out.read_text())["summary"]["terminations"] == {"user_stop": 2 * n_tasks}


def test_unreachable_user_stops_the_run(tmp_path):
    with ChatServer(lambda req, n: completion("hi")) as probe:
        url = probe.base_url
    out = tmp_path / "results.json"
    result = run_cli("eval", AIRLINE, "--user", "openai:user-model", "--user-base-url", url, "--config",
                     no_retries(tmp_path, "user"), "--out", out, "--no-progress")
    assert result.exit_code == 1 and f"cannot reach the user endpoint {url} (model user-model)" in result.output
    assert episodes(out) == {}


def test_refused_credentials_and_garbage_are_not_results(tmp_path):
    out = tmp_path / "results.json"
    with ChatServer(lambda req, n: ("status", 401, {"error": {"message": "invalid api key"}})) as server:
        denied = run_cli(*eval_args(server.base_url, out, no_retries(tmp_path)))
    assert denied.exit_code == 1 and "refused the credentials (401: invalid api key)" in denied.output
    assert len(server.requests) == 3 and episodes(out) == {}
    with ChatServer(lambda req, n: ("raw", "<html>502 bad gateway</html>")) as server:
        garbage = run_cli(*eval_args(server.base_url, tmp_path / "garbage.json", no_retries(tmp_path)))
    assert garbage.exit_code == 1 and "answers something that is not a chat completion" in garbage.output
    assert episodes(tmp_path / "garbage.json") == {}


def test_an_overloaded_endpoint_gives_the_same_scores(tmp_path):
    handler, n_tasks = gold_player()
    calm = tmp_path / "calm.json"
    with ChatServer(handler) as server:
        assert run_cli(*eval_args(server.base_url, calm, no_retries(tmp_path), "--trials", "2")).exit_code == 0

    def loaded(request, n):  # two of every five requests are turned away as the server would under load
        if n % 5 == 1:
            return ("status", 503, {"error": {"message": "overloaded"}}, {"Retry-After": "0"})
        if n % 5 == 3:
            return ("status", 429, {"error": {"message": "slow down"}}, {"retry-after-ms": "20"})
        return handler(request, n)

    busy = tmp_path / "busy.json"
    with ChatServer(loaded) as server:
        result = run_cli(*eval_args(server.base_url, busy, no_retries(tmp_path), "--trials", "2", "--concurrency", "3"))
    assert result.exit_code == 0, result.output
    assert episodes(busy) == episodes(calm)
    assert 0 < sum(r for r, _ in episodes(calm).values()) < 2 * n_tasks  # the scores are not trivial


def test_a_flaky_endpoint_under_many_episodes_finishes_in_one_go(tmp_path):
    # 64 episodes at once; two requests in five are turned away (503 with Retry-After) and one in
    # seven has its connection reset: each is retried while the others get through, and the
    # scores are the calm run's. Down is only when nothing gets through (the test below).
    handler, n_tasks = gold_player()
    calm = tmp_path / "calm.json"
    with ChatServer(handler) as server:
        assert run_cli(*eval_args(server.base_url, calm, no_retries(tmp_path), "--trials", "8")).exit_code == 0
    config = tmp_path / "flaky.toml"
    config.write_text("[agent]\nmax_retries = 0\ndown_after = 30\n")
    flaky = tmp_path / "flaky.json"
    loaded = overloaded(handler, busy=0.4, resets=1 / 7)
    with ChatServer(loaded) as server:
        result = run_cli(*eval_args(server.base_url, flaky, config, "--trials", "8", "--concurrency", "64"))
    turned_away = loaded.refused
    assert result.exit_code == 0, result.output
    assert episodes(flaky) == episodes(calm) and len(episodes(calm)) == 8 * n_tasks
    assert turned_away["503"] > 20 and turned_away["reset"] > 10, turned_away


def test_a_dead_endpoint_stops_the_run_with_one_line(tmp_path):
    out = tmp_path / "results.json"
    config = tmp_path / "dead.toml"
    config.write_text("[agent]\nmax_retries = 0\ndown_after = 1\ndown_tries = 3\n")
    with ChatServer(overloaded(lambda req, n: completion("hi"), busy=0.5, resets=0.5)) as server:
        result = run_cli(*eval_args(server.base_url, out, config, "--trials", "4", "--concurrency", "8"))
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "it is down: " in lines[0] and "Traceback" not in result.output
    assert episodes(out) == {}


def test_overload_past_the_wait_is_an_endpoint_failure(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text("[agent]\nmax_retries = 0\noverload_wait = 0.3\n")
    out = tmp_path / "results.json"
    with ChatServer(lambda req, n: ("status", 503, {"error": {"message": "overloaded"}}, {"retry-after-ms": "50"})) as server:
        result = run_cli(*eval_args(server.base_url, out, config))
    assert result.exit_code == 1 and "is still overloaded after" in result.output and episodes(out) == {}


def fsize_limit(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_an_unwritable_results_file_stops_the_run_cleanly(tmp_path):
    out = tmp_path / "results.json"
    command = [sys.executable, "-m", "eigendsl.cli", "eval", str(AIRLINE), "--trials", "4", "--concurrency", "2",
               "--out", str(out), "--no-progress"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc cut short
    full = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, preexec_fn=fsize_limit(20_000))
    assert full.returncode == 1, full.stderr
    assert "error: cannot write the results to" in full.stderr and "File too large" in full.stderr
    assert "Traceback" not in full.stderr
    kept = episodes(out)
    assert 0 < len(kept) < 32
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(kept)} episode(s) done, {32 - len(kept)} to run" in resumed.stdout
    lines = out.with_name(out.name + ".jsonl").read_text().splitlines()
    assert sorted((json.loads(x)["task_id"], json.loads(x)["trial"]) for x in lines) == sorted(episodes(out))
    assert len(lines) == 32


def test_a_damaged_results_log_is_repaired_without_loss_or_duplicates(tmp_path):
    out = tmp_path / "results.json"
    command = ["eval", AIRLINE, "--trials", "2", "--out", out, "--no-progress"]
    assert run_cli(*command).exit_code == 0
    log = out.with_name(out.name + ".jsonl")
    lines = log.read_text().splitlines(keepends=True)
    whole = sorted(episodes(out))

    def resume(damaged: str, to_run: int):
        log.write_text(damaged)
        result = run_cli(*command)
        assert result.exit_code == 0 and f"{len(lines) - to_run} episode(s) done, {to_run} to run" in result.output
        after = [json.loads(x) for x in log.read_text().splitlines()]
        assert sorted((e["task_id"], e["trial"]) for e in after) == whole

    # The last finished episode lost its newline and the next one was never written.
    resume("".join(lines[:-2]) + lines[-2].rstrip("\n"), 1)
    # A record cut in the middle, and one written twice with the next run onto it.
    resume("".join(lines[:3]) + lines[3][: len(lines[3]) // 2] + "\n" + lines[4].rstrip("\n") + "".join(lines[4:]), 1)


def test_bad_models_configs_and_paths_are_one_line(tmp_path):
    for spec, said in [("hf:/nonexistent/model", "error: no model folder at /nonexistent/model"),
                       (f"hf:{tmp_path}", f"error: {tmp_path} is not a transformers model folder (it has no config.json)")]:
        result = run_cli("eval", AIRLINE, "--agent", spec, "--out", tmp_path / "r.json", "--no-progress")
        assert result.exit_code == 1 and result.output.strip() == said
    (tmp_path / "typo.json").write_text('{"agent": {"kind": "openai", "modle": "x"}}')
    (tmp_path / "broken.toml").write_text("agent = [")
    for args, said in [(["--config", tmp_path / "typo.json"], "error: agent.modle is not a setting"),
                       (["--config", tmp_path / "broken.toml"], "is not valid TOML"),
                       (["--trials", "0"], "error: setting trials: input should be greater than or equal to 1"),
                       (["--tasks", tmp_path / "none.json"], f"error: no such task file: {tmp_path / 'none.json'}"),
                       (["--out", tmp_path / "file.json" / "inside.json"], "error: cannot use")]:
        (tmp_path / "file.json").write_text("")
        result = run_cli("eval", AIRLINE, "--no-progress", *args)
        assert result.exit_code == 1 and said in result.output and len(result.output.strip().splitlines()) == 1, result.output


SHOP = """
tool buy(id: str, qty: int) -> int writes "Buy." {
  counter.hits += qty
  return counter.hits
}
policy small_orders "At most 3 at a time." guard buy { qty <= 3 }
policy known_items "Only listed items." enforce guard buy { id in items }

task big_order {
  user { reason "You want five apples." knows { item: "a" } }
  gold { buy(id: "a", qty: 5) }
  goal { counter.hits == 5 }
  reward { DB, GOAL }
}
"""


def shop(tmp_path) -> Path:
    from test_language import DATA, HEADER

    (tmp_path / "shop.json").write_text(json.dumps(DATA))
    path = tmp_path / "shop.eig"
    path.write_text(HEADER + SHOP)
    return path


def test_failures_read_as_sentences(tmp_path):
    from eigendsl.verify.explain import eig_value
    from eigendsl.verify.reward import TaskChecker

    path = shop(tmp_path)
    compiled = run_cli("compile", path, "-o", tmp_path / "out")
    assert compiled.exit_code == 0 and "2 policies (2 guards), 1 task ->" in compiled.output
    checked = run_cli("check", path)
    assert "policies: Z3 shows the guards on 1 of 1 guarded tool can hold together (buy)" in checked.output
    assert "1 task: gold replay earns reward 1 on 1; 0 errors, 1 warning in task findings" in checked.output
    enforced = run_cli("call", path, "buy", '{"id": "nope", "qty": 1}')
    assert enforced.exit_code == 1 and "policy known_items: violated (enforce)" in enforced.output
    monitored = run_cli("call", path, "buy", '{"id": "a", "qty": 9}')
    assert monitored.exit_code == 0 and "policy small_orders: violated (monitor)" in monitored.output

    domain = load_domain(path)
    checker = TaskChecker(domain, domain.ir.tasks[0])
    nothing_done = checker.score(checker.start(), [])
    line = 1 + (tmp_path / "shop.eig").read_text().splitlines().index("  goal { counter.hits == 5 }")
    assert nothing_done.details["GOAL"] == {"failed": [
        {"at": f"{path}:{line}:10", "goal": "counter.hits == 5", "saw": "0", "expected": "5"}]}
    env = checker.start()
    env.call("buy", {"id": "a", "qty": 4})
    assert checker.c_policy(env, []) == (0.0, {"violated": [
        {"policy": "small_orders", "call": 'buy(id: "a", qty: 4)', "mode": "monitor"}]})
    assert [eig_value(v) for v in (None, True, "x", {"a": [1, None]})] == ["none", "true", '"x"', "{a: [1, none]}"]

    out = tmp_path / "results.json"
    ran = run_cli("eval", path, "--out", out, "--no-progress")
    assert ran.exit_code == 0 and "1 episode (1 task x 1 trial)" in ran.output
    assert "calls violating policy small_orders (monitor)" in ran.output  # the gold itself breaks a monitored policy
    usage = run_cli("eval", path, "--bogus")
    assert usage.exit_code == 2 and "error: No such option '--bogus'" in usage.output and "Error:" not in usage.output


def test_unreachable_judge_stops_the_run(tmp_path):
    """A task whose reward counts NL assertions needs its judge: an unreachable one is not a result."""
    tasks = tmp_path / "judged.eig"
    source = os.path.relpath(ROOT / "domains" / "airline.eig", tmp_path)
    tasks.write_text(f'import "{source}"\n\ntask "judged" {{\n  user {{ persona "A traveller." wants "to say hello" }}\n'
                     '  judge { "The agent greets the customer." }\n  reward { NL_ASSERTION }\n}\n')
    with ChatServer(lambda req, n: completion("hi")) as probe:
        url = probe.base_url
    out = tmp_path / "results.json"
    config = tmp_path / "judge.toml"
    config.write_text("[judge]\nmax_retries = 0\ndown_after = 0.5\ndown_tries = 2\n")
    result = run_cli("eval", AIRLINE, "--tasks", tasks, "--root", root_for(tasks), "--judge", "openai:judge-model",
                     "--judge-base-url", url, "--config", config, "--out", out, "--no-progress")
    assert result.exit_code == 1 and f"cannot reach the judge endpoint {url} (model judge-model)" in result.output, result.output
    assert episodes(out) == {}


def test_benchmark_tasks_on_the_projects_own_data_are_warned_of(tmp_path):
    """The benchmark's tasks run without --db find none of their users: eval says so before it
    runs (the gold actions fail on this data), and says nothing once the tasks' data is given."""
    tasks = SHARED / "airline" / "tasks.json"
    if not tasks.exists():
        pytest.skip("../shared/tau2 is absent")
    common = ["eval", str(ROOT / "compiled" / "airline"), "--tasks", str(tasks), "--task-ids", "1", "--no-progress"]
    foreign = CliRunner().invoke(main, common + ["--out", str(tmp_path / "a.json")])
    assert "warning: the gold actions of 1 of 1 task fail on this data (task 1: get_user_details: User" in foreign.output
    assert "--db" in foreign.output
    own = CliRunner().invoke(main, common + ["--db", str(SHARED / "airline" / "db.json"), "--out", str(tmp_path / "b.json")])
    assert own.exit_code == 0 and "warning" not in own.output
