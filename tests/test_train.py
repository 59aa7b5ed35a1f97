"""eigendsl train: token masks, user-model dialogues, group advantages, dynamic filtering, rollouts, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from eigendsl.train.rollouts import Group, Rollout, fill_batch, group_advantages

TINYSHOP = ROOT / "tests" / "data" / "tinyshop.eig"
EIGENDSL = Path(sys.executable).parent / "eigendsl"


def rollout(task: str, reward: float) -> Rollout:
    return Rollout(task, reward, {"DB": reward}, "user_stop", 4, [1], [2], [1], [-0.5])


def group(task: str, *rewards: float) -> Group:
    return Group(task, [rollout(task, r) for r in rewards])


def test_group_advantages_are_relative_to_each_group():
    adv = group_advantages([1, 0, 0, 0, 1, 1, 1, 1], 4)
    assert adv[4:] == [0, 0, 0, 0]  # an all-success group teaches nothing
    assert adv[0] == pytest.approx(1.5, rel=1e-3) and adv[1] == pytest.approx(-0.5, rel=1e-3)  # std 0.5, as torch.std
    assert sum(adv[:4]) == pytest.approx(0)
    assert group_advantages([1, 0], 2, scale=False) == [0.5, -0.5]


def test_dynamic_filtering_drops_exactly_the_zero_variance_groups_and_refills():
    groups = [group("a", 1, 1), group("b", 1, 0), group("c", 0, 0), group("d", 0, 1)]
    fresh = iter([group("e", 0, 0), group("f", 1, 0), group("g", 0, 1)])
    asked = []

    def refill(n):
        asked.append(n)
        return [next(fresh) for _ in range(n)]

    batch, dropped = fill_batch(groups, 4, refill, rounds=3)
    assert [g.task_id for g in batch] == ["b", "d", "f", "g"]  # size kept, every group varies
    assert asked == [2, 1]
    assert dropped == pytest.approx(3 / 7)  # a, c, e of 7 generated
    # when refilling cannot find enough varying groups, dropped ones pad the batch to its size
    batch, dropped = fill_batch([group("a", 1, 1), group("b", 0, 1)], 2, lambda n: [group("z", 0, 0)] * n, rounds=1)
    assert [g.task_id for g in batch] == ["b", "a"] and dropped == pytest.approx(2 / 3)
    batch, dropped = fill_batch([group("a", 0, 1)], 1, refill, rounds=2)
    assert [g.task_id for g in batch] == ["a"] and dropped == 0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("trl")
    from eigendsl.compiler import load_domain
    from eigendsl.train.data import oracle_dialogues
    from eigendsl.train.run import corpus, load_tokenizer
    from eigendsl.train.tiny import build_tiny_model

    domain = load_domain(TINYSHOP)
    tasks = list(domain.ir.tasks)[:4]
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", corpus(domain, oracle_dialogues(domain, tasks)))
    return domain, tasks, folder, load_tokenizer(str(folder))


def spans_of(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Character spans of PIECES, found in order in TEXT."""
    out, at = [], 0
    for piece in pieces:
        start = text.index(piece, at)
        out.append((start, start + len(piece)))
        at = start + len(piece)
    return out


CONVERSATION = [
    {"role": "system", "content": "You cancel pending orders."},
    {"role": "assistant", "content": "Hi! How can I help you today?"},
    {"role": "user", "content": "I want to cancel order 07."},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "cancel_order", "arguments": '{"order_id": "07"}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": '{"order_id": "07", "status": "cancelled"}'},
    {"role": "assistant", "content": "All done, order 07 is cancelled."},
    {"role": "user", "content": "Thanks! ###STOP###"},
]


@pytest.mark.parametrize("template", ["tiny", "default"])
def test_mask_is_one_over_policy_tokens_and_zero_over_tool_results_and_user(tiny, template):
    from eigendsl.episode.local import DEFAULT_TEMPLATE
    from eigendsl.train.masks import mask_conversation, render

    domain, _, _, tokenizer = tiny
    if template == "default":
        tokenizer = type(tokenizer).from_pretrained(tiny[2])
        tokenizer.chat_template = DEFAULT_TEMPLATE
    tools = domain.tool_schemas("agent")
    masked = mask_conversation(tokenizer, CONVERSATION, tools)
    text = render(tokenizer, CONVERSATION, tools)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    assert masked.input_ids == encoded["input_ids"]  # masking does not change the tokens
    given = spans_of(text, ["You cancel pending orders.", "I want to cancel order 07.",
                            '{"order_id": "07", "status": "cancelled"}', "Thanks! ###STOP###"])
    own = spans_of(text, ["Hi! How can I help you today?", '<tool_call>{"name": "cancel_order", "arguments": {"order_id": "07"}}</tool_call>',
                          "All done, order 07 is cancelled."])
    for (start, end), bit in zip(encoded["offset_mapping"], masked.mask):
        if any(s <= start and end <= e for s, e in given):
            assert bit == 0, text[start:end]
        if any(s <= start and end <= e for s, e in own):
            assert bit == 1, text[start:end]
    trained = tokenizer.decode([t for t, m in zip(masked.input_ids, masked.mask) if m])
    assert "07" in trained and "cancel_order" in trained and "All done" in trained
    assert "I want" not in trained and "status" not in trained and "STOP" not in trained
    assert masked.input_ids[masked.mask.index(1) - 1] == tokenizer.convert_tokens_to_ids("<|assistant|>") or template == "default"


def test_user_model_sft_trains_only_user_turns(tiny):
    from eigendsl.train.data import oracle_dialogues
    from eigendsl.train.masks import mask_conversation

    domain, tasks, _, tokenizer = tiny
    dialogue = oracle_dialogues(domain, tasks[:1], side="user")[0]
    assert dialogue["messages"][0]["role"] == "system" and "Your scenario" in dialogue["messages"][0]["content"]
    masked = mask_conversation(tokenizer, dialogue["messages"], dialogue["tools"])
    trained = tokenizer.decode([t for t, m in zip(masked.input_ids, masked.mask) if m])
    given = tokenizer.decode([t for t, m in zip(masked.input_ids, masked.mask) if not m])
    opening = tasks[0].user.texts["reason"]
    assert opening in trained and "###STOP###" in trained
    assert "How can I help" not in trained and "anything else" not in trained and "customer" not in trained
    assert "How can I help" in given and "anything else" in given  # the agent's closing question is given


def test_rollouts_mask_what_the_environment_and_user_said(tiny):
    import torch

    from eigendsl.episode.users import ScriptedUser
    from eigendsl.train.rollouts import RolloutPlayer, Timers, TransformersGenerator
    from transformers import AutoModelForCausalLM

    domain, tasks, folder, tokenizer = tiny
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(folder)
    player = RolloutPlayer(domain, tasks[:2], tokenizer, ScriptedUser, max_steps=6)
    timers = Timers()
    rollouts = player.play([tasks[0].id, tasks[0].id, tasks[1].id], TransformersGenerator(model, tokenizer, 12, 1.0), timers)
    assert [r.task_id for r in rollouts] == [tasks[0].id, tasks[0].id, tasks[1].id]
    for r in rollouts:
        assert r.reward == 0.0 and len(r.completion_ids) == len(r.env_mask) and r.env_mask[-1] == 1
        prompt = tokenizer.decode(r.prompt_ids)
        assert prompt.endswith("<|assistant|>") and "I want to" in prompt
        assert "How can I help" in prompt and r.env_mask[0] == 1  # the greeting is given, the first reply trained
    assert timers.generation > 0 and timers.environment >= 0 and timers.user > 0


def runs_of_ones(mask: list[int], values: list) -> list[list]:
    """The stretches of VALUES where MASK is 1, in order."""
    out, last = [], 0
    for m, v in zip(mask, values):
        if m and not last:
            out.append([])
        if m:
            out[-1].append(v)
        last = m
    return out


class OddlyTokenizedAgent:
    """A scripted policy that samples its turns one character token at a time (a tokenization the
    tokenizer itself never produces): a tool call, then a closing line. Plays one episode and
    records what it sampled."""

    def __init__(self, tokenizer):
        self.tokenizer, self.sampled = tokenizer, []

    def generate(self, prompts: list[list[int]], max_new_tokens: int | None = None):
        from eigendsl.train.rollouts import Sample

        [prompt] = prompts
        text = '<tool_call>{"name": "cancel_order", "arguments": {}}</tool_call>' if not self.sampled else "All done."
        ids = [i for ch in text for i in self.tokenizer(ch, add_special_tokens=False)["input_ids"]]
        ids.append(self.tokenizer.eos_token_id)
        self.sampled.append(ids)
        return [Sample(ids, [-0.25] * len(ids), text, True)]


def test_rollouts_train_on_the_ids_the_policy_sampled(tiny):
    from eigendsl.episode.users import ScriptedUser
    from eigendsl.train.rollouts import RolloutPlayer, Timers

    domain, tasks, _, tokenizer = tiny
    agent = OddlyTokenizedAgent(tokenizer)
    player = RolloutPlayer(domain, tasks[:1], tokenizer, ScriptedUser, max_steps=8)
    [r] = player.play([tasks[0].id], agent, Timers())
    sampled = agent.sampled
    canonical = tokenizer('<tool_call>{"name": "cancel_order", "arguments": {}}</tool_call>', add_special_tokens=False)["input_ids"]
    assert len(sampled) == 2 and sampled[0][:-1] != canonical  # the sampled ids are not what re-tokenizing would give
    assert runs_of_ones(r.env_mask, r.completion_ids) == sampled  # trained: exactly the sampled ids, turn by turn
    assert runs_of_ones(r.env_mask, r.logprobs) == [[-0.25] * len(s) for s in sampled]
    given = tokenizer.decode([t for t, m in zip(r.completion_ids, r.env_mask) if not m])
    assert '"status": "cancelled"' in given and "All done" not in given  # the tool result is given, not trained
    assert all(lp == 0.0 for lp, m in zip(r.logprobs, r.env_mask) if not m)


def test_sampling_logprobs_are_the_models_own_on_the_trained_sequence(tiny):
    import torch

    from eigendsl.episode.users import ScriptedUser
    from eigendsl.train.rollouts import RolloutPlayer, Timers, TransformersGenerator
    from transformers import AutoModelForCausalLM

    domain, tasks, folder, tokenizer = tiny
    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(folder)
    player = RolloutPlayer(domain, tasks[:2], tokenizer, ScriptedUser, max_steps=6)
    rollouts = player.play([tasks[0].id, tasks[1].id], TransformersGenerator(model, tokenizer, 10, 0.7), Timers())
    for r in rollouts:
        ids = torch.tensor([r.prompt_ids + r.completion_ids])
        with torch.no_grad():
            logps = torch.log_softmax(model(ids).logits[0, :-1] / 0.7, dim=-1)
        p = len(r.prompt_ids)
        expected = [logps[p + k - 1, t].item() for k, (t, m) in enumerate(zip(r.completion_ids, r.env_mask)) if m]
        got = [lp for lp, m in zip(r.logprobs, r.env_mask) if m]
        assert got == pytest.approx(expected, abs=1e-4) and all(lp < 0 for lp in got)


def test_oracle_dialogues_teach_a_model_to_finish_turns(tiny):
    from eigendsl.train.data import oracle_dialogues
    from eigendsl.train.sft import tokenize_dialogues

    domain, tasks, _, tokenizer = tiny
    rows = tokenize_dialogues(tokenizer, oracle_dialogues(domain, tasks), 1024)
    end = tokenizer.eos_token_id
    for row in rows:
        ends = [i for i, t in enumerate(row["input_ids"]) if t == end]
        trained_ends = [i for i in ends if row["assistant_masks"][i]]
        assert len(trained_ends) == 2  # tool call and closing, each through its end of turn; the greeting is given


def test_importing_the_core_does_not_import_torch():
    code = ("import sys, eigendsl.cli, eigendsl.compiler, eigendsl.runtime.environment, eigendsl.episode.episode, "
            "eigendsl.episode.agents, eigendsl.eval.runner, eigendsl.verify.reward, eigendsl.train.config, "
            "eigendsl.train.command, eigendsl.train.rollouts, eigendsl.train.masks, eigendsl.train.data; "
            "bad = [m for m in ('torch', 'transformers', 'trl') if m in sys.modules]; print(bad); assert not bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


BAD_FILES = {
    "CONFIG": ("train.toml", "[sft]\nlearning_rat = 1\n"),
    "NAN": ("nan.toml", "[sft]\nlearning_rate = nan\n"),
    "NO_GROUPS": ("groups.toml", "[grpo]\nnum_generations = 0\n"),
    "LORA": ("lora.toml", "[lora]\nr = 0\n"),
    "LIST": ("list.json", "[1]"),
    "LATIN1": ("latin1.toml", b"[sft]\n# caf\xe9\n"),
    "DATA": ("sft.jsonl", '{"messages": "nope"}\n'),
    "CALLS": ("calls.jsonl", '{"messages": [{"role": "assistant", "tool_calls": [5]}]}\n'),
    "BYTES": ("bytes.jsonl", b"\xff\n"),
    "FILE": ("file", ""),
    "TRACKER": ("tracker.toml", '[sft]\nreport_to = ["clearml"]\n'),
    "TRL": ("trl.toml", "[grpo.trl]\nsteps_per_generaton = 2\n"),
    "GROUPS": ("groups8.toml", "[grpo]\nnum_generations = 8\nper_device_train_batch_size = 4\n"),
}


@pytest.mark.parametrize("args, message", [
    (["--model", "no/such/model"], "not a model folder"),
    (["--model", "tiny:depth=3"], "bad tiny model setting"),
    (["--model", "tiny:hidden=99999999999"], "tiny model setting hidden=99999999999 is out of range"),
    (["--model", "tiny:hidden=66"], "hidden=66 must be a multiple of heads=4"),
    (["--model", "tiny:", "--config", "CONFIG"], "setting sft.learning_rat"),
    (["--model", "tiny:", "--config", "NAN"], "setting sft.learning_rate: Input should be a finite number"),
    (["--model", "tiny:", "--stage", "grpo", "--config", "NO_GROUPS"], "setting grpo.num_generations: Input should be greater"),
    (["--model", "tiny:", "--config", "LORA"], "setting lora.r: Input should be greater than or equal to 1"),
    (["--model", "tiny:", "--config", "LIST"], "expected a table of stage sections"),
    (["--model", "tiny:", "--config", "LATIN1"], "is not UTF-8 text"),
    (["--model", "tiny:", "--data", "DATA"], ":1: not a dialogue"),
    (["--model", "tiny:", "--data", "CALLS"], ":1: message 0 is not a chat message"),
    (["--model", "tiny:", "--data", "BYTES"], "not UTF-8 text (byte 0)"),
    (["--model", "tiny:", "--out", "FILE/run"], "file is a file, not a folder"),
    (["--model", "tiny:", "--config", "TRACKER"], "clearml is not installed"),
    (["--model", "tiny:", "--stage", "grpo", "--config", "TRL"], "[grpo.trl] steps_per_generaton: not a field of TRL's GRPOConfig"),
    (["--model", "tiny:", "--stage", "grpo", "--config", "GROUPS"], "make it a multiple of 8"),
])
def test_bad_training_input_is_one_clear_error(tmp_path, args, message):
    for name, text in BAD_FILES.values():
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    args = [str(tmp_path / BAD_FILES[a][0]) if a in BAD_FILES else a for a in args]
    args = [str(tmp_path / "file" / "run") if a == "FILE/run" else a for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "run")]
    result = subprocess.run([str(EIGENDSL), "train", str(TINYSHOP), *out, *args],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "run").exists()  # bad input fails before the run claims its folder


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_checkpoint_and_metrics_continue(tmp_path):
    pytest.importorskip("trl")
    config = tmp_path / "train.toml"
    total = 48  # long enough that the kill lands well before the end on any machine
    config.write_text(f"[sft]\nlearning_rate = 1e-3\nmax_steps = {total}\nper_device_train_batch_size = 4\n"
                      "save_steps = 3\nsave_total_limit = 2\n")
    out = tmp_path / "run"
    command = [str(EIGENDSL), "train", str(TINYSHOP), "--model", "tiny:hidden=32", "--out", str(out), "--config", str(config)]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)

    def saved_steps() -> list[int]:  # older checkpoints rotate away (save_total_limit), so take any from step 6 on
        return [int(p.parent.name.split("-")[1]) for p in out.glob("checkpoint-*/trainer_state.json")]

    deadline = time.time() + 240
    while time.time() < deadline and first.poll() is None and not any(s >= 6 for s in saved_steps()):
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (out / "final").exists(), "the run finished before it could be killed"
    assert any(s >= 6 for s in saved_steps()), first.stdout.read()[-2000:]
    before = [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]
    assert before[:6] == [1, 2, 3, 4, 5, 6]
    second = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resumed from" in second.stdout and "checkpoint-" in second.stdout
    steps = [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]
    assert steps == list(range(1, total + 1))  # no gap, no repeat
    assert (out / "final" / "config.json").is_file()
    again = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert again.returncode == 0 and "already trained" in again.stdout


def test_tasks_from_a_synth_folder_are_every_rounds(tmp_path):
    # `train --tasks SYNTH_OUT` takes the kept tasks of every round (or merged.eig), one domain
    from eigendsl.synth.engine import Engine, SynthConfig
    from eigendsl.api import task_files

    out = tmp_path / "synth"
    Engine(SynthConfig(target=str(ROOT / "domains" / "airline.eig"), tasks=12, batch=12, seed=1, rounds=2), out).run()
    rounds = sorted((out / "tasks").glob("round_*.eig"))
    assert len(rounds) >= 2 and task_files(str(out)) == [str(p) for p in rounds]
    kept = sum(1 for _ in (out / "rl.jsonl").read_text().splitlines())
    result = subprocess.run([str(EIGENDSL), "train", str(ROOT / "domains" / "airline.eig"), "--tasks", str(out),
                             "--model", "no/such/model", "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert "expected one .eig" not in result.stderr and "not a model folder" in result.stderr  # the tasks loaded
    (out / "tasks" / "merged.eig").write_text(rounds[0].read_text())
    assert task_files(str(out)) == [str(out / "tasks" / "merged.eig")]
    with pytest.raises(Exception, match="not a synth output folder"):
        task_files(str(tmp_path))
    assert kept >= 2


def test_a_run_that_stopped_before_its_first_checkpoint_does_not_block_the_next(tmp_path):
    from eigendsl.train.config import TrainError
    from eigendsl.train.run import check_run

    out = tmp_path / "run"
    check_run(out, {"model": "tiny:", "config": None})
    (out / "base").mkdir()
    check_run(out, {"model": "tiny:", "config": "fixed.toml"})  # the corrected command reuses the folder
    assert not (out / "base").exists()  # the tiny model built for the other spec is not reused
    (out / "checkpoint-5").mkdir()
    (out / "checkpoint-5" / "trainer_state.json").write_text("{}")
    with pytest.raises(TrainError, match="holds another run"):
        check_run(out, {"model": "tiny:", "config": "other.toml"})


class WordyAgent(OddlyTokenizedAgent):
    """Samples a long turn whatever it is asked, up to the tokens it is allowed."""

    def generate(self, prompts: list[list[int]], max_new_tokens: int | None = None):
        from eigendsl.train.rollouts import Sample

        ids = self.tokenizer("Let me look into that for you, one moment please. " * 8, add_special_tokens=False)["input_ids"]
        self.asked = max_new_tokens
        ids = ids[:max_new_tokens] if max_new_tokens else ids
        return [Sample(ids, [-0.5] * len(ids), self.tokenizer.decode(ids), False) for _ in prompts]


@pytest.mark.parametrize("budget", ["completion", "context"])
def test_an_episode_is_cut_at_its_token_budget_and_scored_zero(tiny, budget):
    # the budget rule (docs/training.md): an episode stops where its tokens reach max_completion_length
    # (or the context); it is an early ending (reward 0), and no sampled token lies past the trained part
    from eigendsl.episode.users import ScriptedUser
    from eigendsl.train.rollouts import RolloutPlayer, Timers

    domain, tasks, _, tokenizer = tiny
    [oracle] = RolloutPlayer(domain, tasks[:1], tokenizer, ScriptedUser, max_steps=8).play([tasks[0].id], OddlyTokenizedAgent(tokenizer), Timers())
    assert oracle.reward == 1.0 and not oracle.truncated
    limit = len(oracle.completion_ids) - 3  # the oracle's own episode would not fit
    kwargs = {"max_completion_length": limit} if budget == "completion" else {"max_context": len(oracle.prompt_ids) + limit}
    player = RolloutPlayer(domain, tasks[:1], tokenizer, ScriptedUser, max_steps=8, **kwargs)
    [r] = player.play([tasks[0].id], OddlyTokenizedAgent(tokenizer), Timers())
    assert r.truncated and r.reward == 0.0 and r.termination == "agent_error" and r.scored
    assert len(r.completion_ids) <= limit and r.completion_ids == oracle.completion_ids[: len(r.completion_ids)]
    wordy = WordyAgent(tokenizer)
    [w] = RolloutPlayer(domain, tasks[:1], tokenizer, ScriptedUser, max_steps=8, max_completion_length=20).play(
        [tasks[0].id], wordy, Timers())
    assert wordy.asked == 20 and w.truncated and w.reward == 0.0 and len(w.completion_ids) == 20 == sum(w.env_mask)


def test_a_failed_user_and_an_unevaluated_reward_teach_nothing():
    from eigendsl.train.rollouts import Group

    def r(reward, termination="user_stop", components=None):
        return Rollout("t", reward, {"DB": reward} if components is None else components, termination, 4, [1], [2], [1], [0.0])

    failed_user = r(0.0, "user_error", {"DB": None})
    unevaluated = r(1.0, "user_stop", {"DB": None, "GOAL": None})
    assert not failed_user.scored and not unevaluated.scored and r(0.0, "max_steps", {"DB": None}).scored
    g = Group("t", [r(1.0), r(0.0), failed_user, unevaluated])
    assert g.varies and g.training_rewards() == [1.0, 0.0, 0.5, 0.5]  # at the group's mean: advantage 0
    adv = group_advantages(g.training_rewards(), 4)
    assert adv[2] == adv[3] == 0 and adv[0] > 0 > adv[1]
    assert not Group("t", [r(1.0), unevaluated, failed_user]).varies  # one scored reward: nothing to compare


def test_grpo_episodes_can_be_played_against_a_local_user_model(tiny):
    # user = "hf:PATH": a user model (train --stage user-sft) answers in GRPO's episodes
    import torch

    from eigendsl.episode.local import TransformersUser
    from eigendsl.train.config import GRPOSettings, TrainError
    from eigendsl.train.grpo import make_user_factory
    from eigendsl.train.rollouts import RolloutPlayer, Timers, TransformersGenerator
    from transformers import AutoModelForCausalLM

    domain, tasks, folder, tokenizer = tiny
    make_user = make_user_factory(GRPOSettings(user=f"hf:{folder}", user_max_new_tokens=8, user_temperature=1.0))
    assert isinstance(make_user(), TransformersUser) and make_user().speaker.model is make_user().speaker.model  # loaded once
    torch.manual_seed(0)
    player = RolloutPlayer(domain, tasks[:1], tokenizer, make_user, max_steps=4)
    timers = Timers()
    policy = TransformersGenerator(AutoModelForCausalLM.from_pretrained(folder), tokenizer, 8, 1.0)
    rollouts = player.play([tasks[0].id] * 2, policy, timers)
    assert len(rollouts) == 2 and timers.user > 0 and all(0 <= r.reward <= 1 for r in rollouts)
    user = make_user()
    user.reset(tasks[0], domain)
    before = torch.random.get_rng_state()
    user.respond([{"role": "user", "content": "How can I help?"}], [])
    assert torch.equal(before, torch.random.get_rng_state())  # a sampling user does not reset the policy's sampling
    with pytest.raises(TrainError, match="grpo.user: cannot load a model from"):
        make_user_factory(GRPOSettings(user="hf:/no/such/model"))


def test_a_tiny_model_with_ids_1_holds_each_id_of_the_data_as_one_token(tmp_path):
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    from eigendsl.train.tiny import build_tiny_model, data_ids

    roots = {"users": {"mia_li_3668": {"user_id": "mia_li_3668", "payment_methods": {"credit_card_4421486": {"id": "credit_card_4421486"}}}},
             "lines": [{"line_id": "L1002", "status": "Active"}], "log": ["not an id"]}
    ids = data_ids(roots)
    assert ids == ["mia_li_3668", "credit_card_4421486", "L1002"]  # map keys and *_id / id fields, first met first
    corpus = ["my user id is mia_li_3668 and my card credit_card_4421486"] * 5
    split = AutoTokenizer.from_pretrained(build_tiny_model(tmp_path / "plain", corpus, "tiny:hidden=32,layers=1,heads=2,vocab=300", ids))
    whole = AutoTokenizer.from_pretrained(build_tiny_model(tmp_path / "ids", corpus, "tiny:hidden=32,layers=1,heads=2,vocab=300,ids=1", ids))
    text = '{"user_id": "mia_li_3668", "payment_id": "credit_card_4421486"}'
    pieces = [whole.decode([t]) for t in whole(text)["input_ids"]]
    assert "mia_li_3668" in pieces and "credit_card_4421486" in pieces
    assert whole.decode(whole(text)["input_ids"]) == text
    assert "mia_li_3668" not in [split.decode([t]) for t in split(text)["input_ids"]]  # ids=0 (the default) leaves BPE alone
