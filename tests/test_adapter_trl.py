"""The TRL door: an environment_factory whose methods are the domain's tools and whose get_reward is the
checker's; TRL's own GRPOTrainer runs two steps through it on the tiny shop."""

from __future__ import annotations

import inspect

import pytest

from conftest import ROOT

TINYSHOP = ROOT / "tests" / "data" / "tinyshop.eig"
RL_TASKS = ROOT / "tests" / "data" / "tinyshop_rl.eig"


def test_the_tools_are_methods_with_schemas_and_the_gold_earns_1():
    from transformers.utils import get_json_schema

    from eigendsl.adapters.trl import environment_factory

    airline = environment_factory(ROOT / "compiled" / "airline")
    schema = get_json_schema(airline.get_reservation_details)["function"]
    assert schema["parameters"]["required"] == ["reservation_id"] and schema["description"]
    assert {m for m, _ in inspect.getmembers(airline, inspect.isfunction) if not m.startswith("_")} == \
        {t["function"]["name"] for t in airline.domain.tools} | {"reset", "get_reward"}
    shop = environment_factory(TINYSHOP, RL_TASKS)
    env = shop()
    env.reset(task_id="rl-cancel-51", prompt=[])
    assert env.get_reward() == 0.0  # nothing done yet
    assert '"cancelled"' in env.cancel_order() and env.get_reward() == 1.0
    env.reset(task_id="rl-cancel-51")
    assert env.get_reward() == 0.0  # a reset is a fresh environment
    assert env.hold_order() and env.get_reward() == 0.0
    assert airline().get_user_details(user_id="nobody").startswith("Error:")  # no task: the domain's data


def test_grpo_trainer_runs_two_steps_through_the_factory(tmp_path, monkeypatch):
    pytest.importorskip("trl")
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer
    from trl.chat_template_utils import qwen3_chat_template

    from eigendsl.adapters.trl import environment_factory, task_dataset, task_rows
    from eigendsl.train.tiny import build_tiny_model

    factory = environment_factory(TINYSHOP, RL_TASKS)
    corpus = [m["content"] for row in task_rows(factory.domain) for m in row["prompt"]]
    folder = build_tiny_model(tmp_path / "tiny", corpus, "tiny:hidden=32,layers=1,heads=2,vocab=300,positions=4096")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = qwen3_chat_template  # a template TRL parses tool calls of
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder)
    dataset = task_dataset(factory.domain)
    args = GRPOConfig(output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=2, num_generations=2,
                      max_completion_length=16, learning_rate=1e-4, report_to="none", logging_steps=1,
                      save_strategy="no", use_cpu=True, disable_tqdm=True)
    trainer = GRPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                          environment_factory=factory)
    assert {t.__name__ for t in trainer.tools} == {"cancel_order", "return_order", "hold_order"}  # the factory's tools
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert trainer.state.global_step == 2 and len(logged) == 2
    assert any(k.startswith("rewards/TinyshopEnvironment") for k in logged[0])
