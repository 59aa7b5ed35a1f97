"""Replaying the benchmark's tasks and random call sequences gives the reference records."""

from __future__ import annotations

import pytest

from conftest import DOMAINS, shared_dir, train_ids
from eigendsl.interop.conformance import compare, read_jsonl
from eigendsl.interop.tau2 import load_tasks, replay


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("which", ["train", "sequences"])
def test_replay_matches_reference(domain, which, reference_domains):
    shared = shared_dir(domain)
    compiled = reference_domains(domain)
    if which == "train":
        ids = train_ids(domain)
        tasks = [t for t in load_tasks(shared / "tasks.json") if t.id in ids]
        expected = read_jsonl(shared / "expected_train.jsonl")
    else:
        tasks = load_tasks(shared / "sequences.json")
        expected = read_jsonl(shared / "expected_sequences.jsonl")
    report = compare(list(replay(compiled, tasks)), expected)
    print(domain, which, report.summary())
    assert not report.missing
    assert report.matched == report.records, report.mismatches[:5]
    # The stricter figures: every state hash agrees with the reference's.
    assert report.hashes_equal == report.hashes_total
    assert report.user_hashes_equal == report.user_hashes_total


def test_domain_errors_use_the_reference_wording(reference_domains):
    """Failures raised by tool bodies read exactly as the reference's; only argument checks differ."""
    shared = shared_dir("airline")
    records = {r["task_id"]: r for r in replay(reference_domains("airline"), load_tasks(shared / "sequences.json"))}
    differing = []
    for e in read_jsonl(shared / "expected_sequences.jsonl"):
        for got, want in zip(records[e["task_id"]]["actions"], e["actions"]):
            if not want["ok"] and got["content"] != want["content"]:
                differing.append((want["content"], got["content"]))
    assert differing, "expected some argument-validation messages in the project's own words"
    for want, got in differing:
        assert "argument" in got, (want, got)
