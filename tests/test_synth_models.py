"""Model roles of `eigendsl synth` against the local chat server: held-out model answers are kept
or rejected with the right reason, every role survives bad answers (each recorded with its
reason, no traceback), and the paraphraser keeps only rewrites that state every value."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from chat_server import ChatServer, completion
from conftest import ROOT

from eigendsl.cli import main
from eigendsl.compiler import compile_file
from eigendsl.synth.models import extract_json, extract_task
from eigendsl.synth.portable import task_files

sys.path.insert(0, str(ROOT / "scripts"))
from play_model_answers import INDEX, outcomes, play  # noqa: E402  (the held-out answers and how they are played)

AIRLINE = str(ROOT / "domains" / "airline.eig")
PREFIXES = {"You plan test tasks": "planner", "You write test tasks": "writer", "You review a test task": "critic",
            "You improve the instructions": "reflector", "You rewrite what a simulated customer": "paraphraser",
            "You are playing a customer": "user"}


def role_of(request: dict) -> str:
    first = request["messages"][0]
    system = first["content"] if first["role"] == "system" else ""
    return next((role for prefix, role in PREFIXES.items() if system.startswith(prefix)), "agent")


def synth(server, out: Path, *options: str):
    result = CliRunner().invoke(main, ["synth", AIRLINE, "--out", str(out), "--no-progress", "--workers", "1",
                                       "--base-url", server.base_url, "--api-key", "test", *options])
    assert result.exception is None or (isinstance(result.exception, SystemExit) and result.exit_code == 0), \
        f"{result.output}\n{result.exception!r}"
    assert "Traceback" not in result.output
    return json.loads((out / "report.json").read_text())


def kept_text(out: Path) -> str:
    return "".join(p.read_text() for p in task_files(out / "tasks"))


# ---------------------------------------------------------------- one rule for fenced answers


def test_fenced_blocks_of_the_right_language_are_read_and_chatter_is_not():
    task = 'task "t" {\n  gold { }\n}'
    assert extract_task(f"Sure! Here it is:\n```eig\n{task}\n```\nWant another?") == task
    assert extract_task(f"```json\n{{\"a\": 1}}\n```\nand the task:\n```\n{task}\n```") == task
    assert extract_task(f"```python\n{task}\n```") is None  # a block in another language is not read
    assert extract_task(task + "\n") == task  # no fence: the answer is read whole
    assert extract_task("The customer wants a refund.") is None
    assert extract_json('Here you go:\n```json\n{"realistic": true}\n```\nHope it helps') == {"realistic": True}
    assert extract_json('{"plans": []} and some words after it') == {"plans": []}
    assert extract_json('My verdict {as asked}: {"realistic": false}') == {"realistic": False}
    with pytest.raises(ValueError):
        extract_json('{"plans": [{"id": "x", "write": ')


# ---------------------------------------------------------------- held-out answers


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("held_out") / "run"
    result, report = play(out)
    assert result.exception is None or (isinstance(result.exception, SystemExit) and result.exit_code == 0), \
        f"{result.output}\n{result.exception!r}"
    assert "Traceback" not in result.output
    return out, report, {a["file"]: what for a, what in outcomes(out, report)}


@pytest.mark.parametrize("answer", INDEX, ids=[a["file"].removesuffix(".txt") for a in INDEX])
def test_held_out_answer_is_kept_or_rejected_for_its_reason(held_out, answer):
    _, report, got = held_out
    if answer.get("after"):
        pytest.xfail(f"expected to pass after {answer['after']}")
    why = [r for r in report["model_rejections"] if r["role"] == "writer" and r.get("name") == answer["name"]]
    if answer["expect"] == "kept":
        assert got[answer["file"]] == "kept", why
    else:
        assert got[answer["file"]].startswith(answer["expect"]), why


def test_held_out_run_keeps_every_good_answer_once(held_out):
    out, report, got = held_out
    compiled = [compile_file(p) for p in task_files(out / "tasks")]
    assert all(c.ok for c in compiled)
    ids = [t.id for c in compiled for t in c.domain.tasks]
    # every kept task is one of the good answers (no defective one slips through), kept once
    assert report["kept"] == len(ids) == list(got.values()).count("kept")
    assert list(got.values()).count("kept") >= sum(a["expect"] == "kept" and not a.get("after") for a in INDEX)


# ---------------------------------------------------------------- every role, bad answers


def cycle(variants: list):
    """A handler part: the next variant for each new request; a request asked again (the
    client's retry of an unusable reply or of a 5xx) gets the variant it got before."""
    lock, state = threading.Lock(), {"count": 0, "last": None}

    def next_variant(request: dict):
        asked = json.dumps(request["messages"])
        with lock:
            if asked != state["last"]:
                state["count"] += 1
                state["last"] = asked
            return variants[(state["count"] - 1) % len(variants)]
    return next_variant


NOT_TEXT = ("raw", json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                               "choices": [{"index": 0, "message": {"role": "assistant", "content": 42}, "finish_reason": "stop"}]}))
HTTP_500 = ("status", 500, {"error": {"message": "internal error"}})
HUGE = "All good. " * 8000
PLAN = {"id": "model-plan", "write": "cancel_reservation", "workflow": ["get_reservation_details", "cancel_reservation"],
        "branch": "allow", "operator": "retarget", "seed": "cancel-within-a-day", "partner": "insured-cancel-for-health"}
BAD = {
    "planner": [completion("Here are some ideas: cancel trips, add bags."), completion(""), completion('{"plans": [{"id": "x", "write": '),
                completion("Sure:\n```json\n" + json.dumps({"plans": [PLAN]}) + "\n```\nThese should help."),
                completion(HUGE), completion(json.dumps({"plans": [{**PLAN, "id": "typed", "workflow": "cancel"}]})),
                completion(json.dumps({"plans": [{**PLAN, "id": "teleport", "write": "teleport_member"}]})), NOT_TEXT, HTTP_500,
                completion(json.dumps({"plans": [{**PLAN, "id": "two\nlines", "partner": None}]}))],
    "reflector": [completion("OK."), completion(HUGE), NOT_TEXT, HTTP_500,
                  completion("Write one task per answer and state every fact the policy reads in the customer's reason.")],
    "critic": [completion("Looks realistic to me."), completion(""), completion('{"realistic": tr'), completion(HUGE),
               completion('{"realistic": "yes", "solvable": 1}'), NOT_TEXT, HTTP_500,
               completion('Verdict:\n```json\n{"realistic": true, "solvable": true, "why": "a plain request"}\n```\nThanks!')],
    "writer": [completion("The customer wants to change a booking."), completion(""), completion('```eig\ntask "x" {\n  user {'),
               completion(HUGE), NOT_TEXT, HTTP_500,
               completion('```eig\ntask "x" {\n  user { reason "Refund me." }\n  gold { refund_everything(user_id: "a") }\n'
                          '  reward { DB, ACTION }\n}\n```')],
    "agent": [completion("Let me think about that."), completion(""), completion("x" * 70_000), NOT_TEXT, HTTP_500,
              completion(None, tool_calls=[{"name": "teleport_member", "arguments": {"to": "Mars"}}]),
              completion(None, tool_calls=[{"name": "get_user_details", "arguments": '{"user_id": '}])],
    "user": [completion(""), NOT_TEXT, HTTP_500, completion("x" * 70_000), completion("Thanks, that is all. ###STOP###")],
}
EXPECTED = {
    "planner": {"plans are not valid JSON of the plan model", "answer too long", "unknown write tool", "unusable reply", "endpoint",
                "plan id is not a short name"},
    "reflector": {"the new instructions are empty or too long", "answer too long", "unusable reply", "endpoint"},
    "critic": {"verdict is not valid JSON of the verdict model", "answer too long", "unusable reply", "endpoint"},
    "writer": {"prose instead of code after 0 repair(s)", "does not compile after 0 repair(s)", "answer too long", "unusable reply",
               "endpoint"},
    "agent": {"endpoint"},
    "user": {"endpoint"},
}
RUNS = {  # a run long enough for the role to be asked every variant
    "planner": ["--tasks", "10", "--rounds", "10", "--batch", "8"],
    "reflector": ["--tasks", "5", "--rounds", "5", "--batch", "8"],
    "critic": ["--tasks", "10", "--rounds", "1", "--batch", "20"],
    "writer": ["--tasks", "4", "--rounds", "1", "--batch", "16", "--repairs", "0"],
    "agent": ["--tasks", "8", "--rounds", "1", "--batch", "12"],
    "user": ["--tasks", "3", "--rounds", "1", "--batch", "8"],
}


@pytest.mark.parametrize("role", list(BAD))
def test_every_role_survives_bad_answers(role, tmp_path):
    bad = cycle(BAD[role])

    def handler(request, n):
        asked = role_of(request)
        if asked == role:
            return bad(request)
        if asked == "user":  # the user role's partner when the agent is the model on trial, and vice versa
            return completion("I need help with my reservation. ###STOP###")
        return completion("Sorry, I cannot help with that today.")

    with ChatServer(handler) as server:
        report = synth(server, tmp_path / role, f"--{role}", f"openai:{role}-model", "--concurrency", "1", *RUNS[role])
    reasons = {r["reason"] for r in report["model_rejections"] if r["role"] == role}
    assert EXPECTED[role] <= reasons, reasons
    if role == "planner":  # the fenced plan with chatter around it was taken
        assert "model-plan" in {p["id"] for p in json.loads((tmp_path / role / "state.json").read_text())["plans"]}
    if role == "critic":  # the fenced verdict with chatter was read: some task was judged and kept
        assert report["kept"] >= 1
    if role == "agent":  # the bad answers that are episodes are the agent's failures
        assert sum(r["attributed"].get("agent", 0) for r in report["rounds"]) >= 1
    if role == "user":
        assert sum(r["user_attributed"] for r in report["rounds"]) >= 1


def test_a_runaway_user_message_is_checked_for_identifiers_in_linear_time():
    from eigendsl.episode.fidelity import identifiers

    start = time.perf_counter()
    assert identifiers("x" * 70_000) == []  # took a minute: the email pattern retried every character
    assert identifiers("write to ana.li+x@mail.example.com now") == [("email", "ana.li+x@mail.example.com")]
    assert time.perf_counter() - start < 2.0


# ---------------------------------------------------------------- the paraphraser


def rewrite(texts: dict, how: str) -> dict:
    if how == "good":  # other words around every value
        return {k: "To put it another way: " + v.replace("You want this done:", "What you need is this:") for k, v in texts.items()}
    if how == "drops":  # the sentence with the first id or number goes
        return {k: re.sub(r"[^.]*\d[^.]*\.", "", v, count=1) or "Help me." for k, v in texts.items()}
    if how == "changes":  # one number changes
        return {k: re.sub(r"\d+", lambda m: str(int(m.group()) + 1), v, count=1) for k, v in texts.items()}
    return {}


def test_paraphraser_keeps_rewrites_that_state_every_value(tmp_path):
    kinds = cycle(["good", "drops", "changes", "garbage"])

    def handler(request, n):
        assert role_of(request) == "paraphraser"
        kind = kinds(request)
        texts = json.loads(re.search(r"^Texts: (\{.*\})$", request["messages"][-1]["content"], re.M).group(1))
        if kind == "garbage":
            return completion("I'd rather write a poem about airports.")
        return completion(json.dumps(rewrite(texts, kind)))

    out = tmp_path / "para"
    with ChatServer(handler) as server:
        report = synth(server, out, "--paraphraser", "openai:para-model", "--tasks", "12", "--rounds", "1", "--batch", "16",
                       "--concurrency", "1")
    rejected = [r for r in report["model_rejections"] if r["role"] == "paraphraser"]
    reasons = {r["reason"] for r in rejected}
    assert {"a stated value is lost or changed", "not the texts as JSON"} <= reasons, reasons
    text = kept_text(out)
    rewritten = text.count("paraphraser openai:para-model")
    assert rewritten >= 1 and text.count("To put it another way: ") >= rewritten
    # every kept task, rewritten or not, still compiles with the domain's copy
    assert all(compile_file(p).ok for p in task_files(out / "tasks"))
    # a rewrite that loses a value is never kept: every kept scenario keeps the original's figures
    assert report["kept"] >= 1 and len(rejected) >= 2


def test_paraphraser_is_part_of_the_configuration_a_run_resumes_with(tmp_path):
    from eigendsl.synth.command import load_config
    from eigendsl.synth.engine import SynthConfig, config_hash

    toml = tmp_path / "synth.toml"
    toml.write_text('[synth]\nparaphraser = "openai:m"\n')
    with_model = load_config(str(toml), AIRLINE, {})
    assert with_model.paraphraser == "openai:m"
    assert load_config(str(toml), AIRLINE, {"paraphraser": "offline"}).paraphraser == "offline"  # the option wins
    offline = SynthConfig(target=AIRLINE)
    assert config_hash(offline, "x") != config_hash(with_model, "x")
    assert "paraphraser" not in offline.deciding()  # runs made before the role resume as before


def test_a_rewrite_must_state_every_value_and_replaces_only_the_scenario_texts():
    from eigendsl.compiler import load_domain
    from eigendsl.synth.paraphrase import lost_values, reworded
    from eigendsl.synth.render import Draft

    task = next(t for t in load_domain(ROOT / "domains" / "airline.eig").ir.tasks if t.id == "add-paid-bags")
    original = {k: task.user.texts[k] for k in ("reason", "known", "instructions")}
    kept = {k: "Put another way: " + v for k, v in original.items()}
    assert lost_values(task, original, kept) == []
    moved = dict(kept, known=kept["known"].replace("ending in 8746", "ending in 8764"))
    assert lost_values(task, original, moved) == ["8746"]
    # the date goes with the reason; the cities and the companion's name are no value the gold uses
    dropped = dict(kept, reason="You need more bags on your trip.")
    assert set(lost_values(task, original, dropped)) == {"21", "may"}
    # in a model's eig text only the user block's texts change, not a word inside another string
    text = ('task "t" {\n  purpose "what the reason known is"\n  user {\n    reason "Old reason."\n'
            '    known "Old known."\n  }\n  gold { }\n}')
    draft = Draft("p", "model", "s", "allow", {}, {}, {}, (), (), text=text)
    new = reworded(draft, {"reason": 'New "reason".', "known": "New known."}, "m").text
    assert 'purpose "what the reason known is"' in new
    assert 'reason "New \\"reason\\"."' in new and 'known "New known."' in new and "Old" not in new
