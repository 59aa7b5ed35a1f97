"""Offline reflection of `eigendsl synth`: plan weights that see a plan's pool running out,
draft shares steered by yield within the coverage floors, and a run whose later rounds
yield more than its first."""

from __future__ import annotations

import math

import pytest

from conftest import ROOT

from eigendsl.synth.engine import Engine, SynthConfig
from eigendsl.synth.reflect import FLOORS, pool_size, reflect, steer_shares


def test_pool_size_inverts_the_expected_distinct_count():
    assert math.isinf(pool_size(40, 40))  # nothing repeated: no sign of a bound
    for pool in (20.0, 150.0, 900.0):
        drawn = 120
        distinct = pool * -math.expm1(-drawn / pool)
        assert pool_size(drawn, round(distinct)) == pytest.approx(pool, rel=0.05)


def test_a_plan_running_out_of_new_tasks_loses_weight_and_is_retired_when_spent():
    # both plans kept 30 of 50 last round; one lost its 20 to verification, the other to
    # duplicates, so only the second has fewer new tasks left to find
    rounds = [{"verifies_badly": {"attempted": 50, "kept": 30, "rejections": {"information_flow": 20}},
               "repeats": {"attempted": 50, "kept": 30, "rejections": {"duplicate": 20}},
               "spent": {"attempted": 60, "kept": 3, "rejections": {"duplicate": 57}}}]
    ops = {"verifies_badly": "retarget", "repeats": "compose", "spent": "compose"}
    weights, retired, updates, _ = reflect(rounds, {}, [], ops)
    assert weights["repeats"] < weights["verifies_badly"]
    assert retired == ["spent"]
    why = next(u for u in updates if u.get("plan") == "spent")
    assert "pool of tasks is spent" in why["because"] and why["evidence"]["rejections"] == {"duplicate": 57}
    # the more drafts the next round will give it, the less it is expected to yield on average
    many, *_ = reflect(rounds, {}, [], ops, draws={"repeats": 80.0})
    assert many["repeats"] < weights["repeats"]


def test_a_plan_whose_every_draft_was_a_duplicate_has_no_new_task_left():
    # a model writer that answers the same task every time: nothing written is new, the pool
    # of distinct tasks is estimated at 0 (this divided by zero before), and the plan retires
    rounds = [{"echo": {"attempted": 8, "kept": 0, "rejections": {"duplicate": 8}}}]
    weights, retired, updates, _ = reflect(rounds, {}, [], {"echo": "fresh"}, draws={"echo": 5.0})
    assert retired == ["echo"]
    update = next(u for u in updates if u.get("plan") == "echo")
    assert update["evidence"]["new"] == 0.0 and "pool of tasks is spent" in update["because"]


def test_shares_follow_yield_but_hold_the_kept_set_floors():
    configured = {"multi": 0.45, "refusal": 0.2, "single": 0.35}
    makes = {"multi": {"multi_write": 1.0, "refusal": 0.0}, "refusal": {"multi_write": 0.0, "refusal": 1.0},
             "single": {"multi_write": 0.0, "refusal": 0.0}}
    yields = {"multi": 0.3, "refusal": 0.9, "single": 0.7}
    # plenty of multi-write tasks kept already: draws move to the groups that yield more
    shares, update = steer_shares(configured, yields, makes, {"multi_write": 600, "refusal": 200}, 1000, 500)
    assert shares["multi"] < configured["multi"] and shares["refusal"] > configured["refusal"]
    assert update["action"] == "shares" and update["evidence"]["projected"]["multi_write"] >= FLOORS["multi_write"]
    # few kept so far: moved back toward the configured shares until the projection holds
    held, update = steer_shares(configured, yields, makes, {"multi_write": 450, "refusal": 200}, 1000, 500)
    assert shares["multi"] < held["multi"] <= configured["multi"]
    assert update["evidence"]["projected"]["multi_write"] == pytest.approx(FLOORS["multi_write"], abs=0.002)


@pytest.mark.slow
def test_round_three_yields_more_than_round_one(tmp_path):
    config = SynthConfig(target=str(ROOT / "domains" / "retail.eig"), tasks=300, seed=0)
    report = Engine(config, tmp_path / "retail").run()
    first, _, third = report["rounds"]
    assert third["yield"] > first["yield"] + 0.05
    # the report holds the updates behind it: plans re-weighted or retired on what they kept,
    # duplicated and failed, and the draft shares of the next round
    for r in report["rounds"][:2]:
        actions = {u["action"] for u in r["reflection"]}
        assert {"reweight", "shares"} <= actions
        assert all("new" in u["evidence"] and "rejections" in u["evidence"] for u in r["reflection"] if u["action"] in ("reweight", "retire"))
    cov = report["coverage"]
    assert not cov["write_tools"]["missing"] and cov["multi_write_share"] >= 0.3 and cov["refusal_or_transfer_share"] >= 0.1
