"""The benchmark's reward rules, in one place: how a run ended, ACTION matching, state equality.

Every reward of the project goes through these (the task checker, `Episode.result()`,
`eigendsl score`, evaluation, and whatever scores rollouts for synthesis or training), so a
rule changes here or nowhere.

- A run that did not end normally scores 0 before anything is looked at (tau2-bench's
  `evaluate_simulation`): only the user's or the agent's own stop counts as an ending; a
  transfer or an out-of-scope answer is the user's stop. Step limits, too many tool errors,
  an agent or user that failed, and any reason not known here score 0.
- A gold action matches a call by name; without `compare` it compares the arguments the
  *call* gives (so a call leaving an argument out can match, one adding an argument cannot);
  with `compare` it compares those. Values compare as JSON values (1 == 1.0); an argument
  that is a JSON text compares by what it parses to.
- Final states compare as JSON text compares: an int and a float are different values
  (the benchmark hashes `json.dumps` of its db, where `2` and `2.0` differ).
"""

from __future__ import annotations

import json
from typing import Any

NORMAL_ENDINGS = frozenset({"user_stop", "agent_stop", "transfer", "out_of_scope"})
PREMATURE_ENDINGS = ("max_steps", "too_many_errors", "agent_error", "user_error")
NOT_ENDED = ("running", None)


def ended_prematurely(termination: str | None) -> bool:
    """True when a run's ending forfeits its reward; a run still going is judged on its state."""
    return termination not in NOT_ENDED and termination not in NORMAL_ENDINGS


def premature_note(termination: str) -> str:
    return f"the run ended prematurely ({termination}); the benchmark scores such a run 0"


def _arg_value(value: Any) -> Any:
    """An argument as the comparison sees it: a JSON text inside an argument by its content."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return _arg_value(json.loads(text))
            except ValueError:
                return value
        return value
    if isinstance(value, dict):
        return {k: _arg_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_arg_value(v) for v in value]
    return value


def call_arguments(arguments: Any) -> dict:
    """A call's arguments as a dict (a JSON object text is parsed; anything else is no arguments)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return {}
    return arguments if isinstance(arguments, dict) else {}


def action_matches(gold_name: str, gold_args: dict, compare: tuple[str, ...] | list[str] | None,
                   name: str, arguments: Any) -> bool:
    """Does a call (name, raw arguments) match a gold action, by the benchmark's rule?"""
    if name != gold_name:
        return False
    args = call_arguments(arguments)
    keys = set(args) if compare is None else set(compare)
    if not keys:
        return True
    mine = {k: _arg_value(v) for k, v in args.items() if k in keys}
    theirs = {k: _arg_value(v) for k, v in gold_args.items() if k in keys}
    return mine == theirs


def same_json(a: Any, b: Any) -> bool:
    """Equal as the benchmark's db hash sees them: equal values with the same JSON text."""
    if a != b:
        return False
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
