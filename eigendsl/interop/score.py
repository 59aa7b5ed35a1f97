"""The benchmark's reward for trajectories produced anywhere: `eigendsl score` and its Python API.

    scorer = Scorer.load("compiled/airline", "tasks.json", db="db.json")   # or Scorer(domain, tasks)
    for line in scorer.score_all(records):        # records: dicts, as read from a results file
        ...                                       # {"id", "task_id", "reward", "components", ...}
    scorer.score(record)                          # one record; RecordError when it is malformed

A record is a tau2-bench `SimulationRun` (`task_id`, `messages` in tau2's format,
`termination_reason`, optional `id`), or the same with OpenAI-format messages (tool calls as
`{"id", "type": "function", "function": {"name", "arguments": "<json>"}}`, tool results as
`{"role": "tool", "tool_call_id", "content"}`), or an episode of this project's `eval`
(`termination` instead of `termination_reason`). A file is tau2-bench's results JSON (its
`simulations` list), a JSON list of records, or JSON lines of records.

Tool results are paired with calls as the benchmark pairs them: the results that follow a
message with calls answer those calls in order, whatever the ids (unique, every call `"-1"`,
none, one reused across messages); see `answered_call`.

Each record's tool calls are replayed in order on a fresh environment in the task's initial
state: the assistant's on the agent side, the user's (a tool call in a user message) on the user
side. As the benchmark does, calls of tools that only read are not re-run (they cannot change
the state; they still count for ACTION), unless `check_reads` asks for every result to be
checked, or the task's reward counts POLICY (a guard may watch a read). The final state, the
calls and the agent's messages are scored by the task's checker under the benchmark's rules
(verify/rules.py). A recorded tool result that disagrees with the replay is reported in
`details.replay`; where the call writes, the benchmark refuses the replay and so the reward is
0. Error results agree when both sides failed (the wording is each side's own).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from .. import ir
from ..runtime.environment import CompiledDomain, TraceEntry
from ..compiler import load_domain
from ..verify import rules
from ..episode.judge import JudgeError
from ..verify.reward import TaskChecker, TaskSetupError
from .tau2 import content_json

ROLES = {"assistant": "agent", "user": "user"}


class RecordError(Exception):
    """A record that cannot be scored; the message says what is wrong with it."""


class ScoreInputError(Exception):
    """A simulations file that cannot be read at all."""


@dataclass
class ToolCallRecord:
    id: str | None
    name: str
    arguments: Any
    actor: str
    recorded: dict | None = None  # the tool message that answered it, if any


@dataclass
class Trajectory:
    """A record reduced to what scoring reads."""

    id: Any
    task_id: str
    termination: str | None
    calls: list[ToolCallRecord] = field(default_factory=list)
    agent_texts: list[str] = field(default_factory=list)
    replied: bool = False  # the agent said something after its last tool call
    conversation: list[dict] = field(default_factory=list)


def read_simulations(path: str | Path) -> list[Any]:
    """The records of a simulations file (tau2 results JSON, a JSON list, or JSON lines)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScoreInputError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ScoreInputError(f"{path}: not UTF-8 text") from None
    records = whole_file_records(path, text)
    if records is None:
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as e:
                records.append(RecordError(f"line {n} is not JSON ({e.msg} at column {e.colno})"))
    if not records:
        raise ScoreInputError(f"{path} holds no simulations")
    return records


def whole_file_records(path: Path, text: str) -> list[Any] | None:
    """The records of a file that is one JSON document, or None for JSON lines."""
    try:
        data = json.loads(text)
    except ValueError:
        return None  # JSON lines start with "{" too
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("simulations", "episodes"):  # tau2-bench's results; this project's eval results
            if isinstance(data.get(key), list):
                return data[key]
        if "messages" in data or "task_id" in data:
            return [data]
    raise ScoreInputError(f"{path}: not simulations: expected tau2-bench results (a simulations list), eval results "
                          "(an episodes list), a JSON list of records or JSON lines of them")


def _tool_calls(message: dict, where: str) -> list[dict]:
    raw = message.get("tool_calls") or []
    if not isinstance(raw, list):
        raise RecordError(f"{where}: tool_calls is not a list")
    out = []
    for i, call in enumerate(raw):
        if not isinstance(call, dict):
            raise RecordError(f"{where}: tool call {i} is not an object")
        fn = call.get("function") if isinstance(call.get("function"), dict) else call
        name = fn.get("name")
        if not isinstance(name, str):
            raise RecordError(f"{where}: tool call {i} has no name")
        out.append({"id": call.get("id"), "name": name, "arguments": fn.get("arguments", {}),
                    "requestor": call.get("requestor")})
    return out


def parse_record(record: Any) -> Trajectory:
    """A record as a Trajectory; RecordError names what is missing or malformed."""
    if isinstance(record, RecordError):
        raise record
    if not isinstance(record, dict):
        raise RecordError("a record must be a JSON object")
    task_id = record.get("task_id")
    if task_id is None:
        raise RecordError("the record has no task_id")
    if not isinstance(task_id, (str, int)) or isinstance(task_id, bool):
        raise RecordError(f"task_id must be a string or an integer, not {json.dumps(task_id)[:40]}")
    messages = record.get("messages")
    if not isinstance(messages, list):
        raise RecordError("the record has no messages list")
    termination = record.get("termination_reason", record.get("termination"))
    if isinstance(termination, dict):  # an enum serialised with its value
        termination = termination.get("value")
    if termination is not None and not isinstance(termination, str):
        raise RecordError("termination_reason must be a string")
    t = Trajectory(record.get("id"), str(task_id), termination)
    block: list[ToolCallRecord] = []  # the calls of the last message with calls still unanswered
    for i, m in enumerate(messages):
        where = f"message {i}"
        if not isinstance(m, dict):
            raise RecordError(f"{where} is not an object")
        role = m.get("role")
        content = m.get("content")
        if content is not None and not isinstance(content, str):
            content = json.dumps(content) if role == "tool" else None
        if role != "tool":
            # Calls left without a result (a cut run, OpenAI lists that keep only the calls) are
            # replayed without one (docs/conformance.md); later results cannot answer them.
            block = []
        if role in ROLES:
            calls = _tool_calls(m, where)
            for c in calls:
                actor = ROLES.get(c["requestor"], ROLES[role])
                call = ToolCallRecord(c["id"], c["name"], c["arguments"], actor)
                t.calls.append(call)
                block.append(call)
            if content:
                t.conversation.append({"role": role, "content": content})
                if role == "assistant":
                    t.agent_texts.append(content)
            if role == "assistant":  # REPLY: text after the agent's last tool call
                if calls:
                    t.replied = False
                elif content and content.strip():
                    t.replied = True
        elif role == "tool":
            ident = m.get("tool_call_id", m.get("id"))
            call = answered_call(block, ident, where)
            block.remove(call)
            call.recorded = {"content": content, "error": bool(m.get("error", False))}
        elif role not in ("system", None):
            raise RecordError(f"{where}: unknown role {role!r}")
    return t


def answered_call(block: list[ToolCallRecord], ident: Any, where: str) -> ToolCallRecord:
    """The call a tool result answers, paired as the benchmark pairs them (environment.set_state):
    the results that follow a message with calls answer its calls in order, whatever the ids
    (every call `"-1"`, none at all), as long as a given id is the call's. Where the ids are
    unique and a result names a later call of the same message (OpenAI's pairing by id, results
    out of order), it answers that call."""
    if not block:
        raise RecordError(f"{where}: a tool result for no tool call (id {ident!r})")
    nxt = block[0]
    if ident is None or nxt.id is None or str(ident) == str(nxt.id):
        return nxt
    named = [c for c in block if c.id is not None and str(c.id) == str(ident)]
    if len(named) == 1:
        return named[0]
    raise RecordError(f"{where}: a tool result with id {ident!r} where the next call without a result is "
                      f"{nxt.name!r} with id {nxt.id!r} (the benchmark's evaluator refuses such a trajectory)")


def recorded_value(recorded: dict) -> tuple[bool, Any]:
    """(ok, content as JSON) of a recorded tool result."""
    content = recorded.get("content")
    ok = not recorded.get("error") and not (isinstance(content, str) and content.startswith("Error:"))
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            pass
    return ok, content


class Scorer:
    """Scores trajectories against one domain's tasks; build once, score many (thread-compatible)."""

    def __init__(self, domain: CompiledDomain, tasks: Iterable[ir.TaskDef], judge=None, check_reads: bool = False):
        self.domain = domain
        self.tasks = {t.id: t for t in tasks}
        self.judge = judge
        self.check_reads = check_reads
        self.checkers: dict[str, TaskChecker] = {}
        self.writes = {(f.actor, f.name) for f in domain.ir.tools if f.effect == ir.Effect.WRITES}
        self.reads = {(f.actor, f.name) for f in domain.ir.tools if f.effect != ir.Effect.WRITES}

    @classmethod
    def load(cls, target: str | Path, tasks_file: str | Path | None = None, db: str | None = None,
             user_db: str | None = None, judge=None, check_reads: bool = False) -> "Scorer":
        """A scorer for TARGET (compiled folder or .eig) and its own tasks or those of a task file."""
        from ..syntax.diagnostics import CompileError
        from .task_source import task_file_compilation

        if tasks_file is None:
            domain = load_domain(target, db, user_db)
            return cls(domain, domain.ir.tasks, judge, check_reads)
        c = task_file_compilation(target, tasks_file, db, user_db)
        if not c.ok:
            raise CompileError(c.diagnostics)
        return cls(CompiledDomain.from_compilation(c), c.domain.tasks, judge, check_reads)

    def checker(self, task_id: str) -> TaskChecker:
        checker = self.checkers.get(task_id)
        if checker is None:
            task = self.tasks.get(task_id)
            if task is None:
                raise RecordError(f"unknown task id {task_id!r}")
            checker = self.checkers[task_id] = TaskChecker(self.domain, task, self.judge)
        return checker

    def score(self, record: Any) -> dict:
        """One record's line: {"id", "task_id", "reward", "components", "termination_reason", "details"}."""
        t = parse_record(record)
        checker = self.checker(t.task_id)
        details: dict[str, Any] = {}
        termination = t.termination
        if termination is None:
            termination = "user_stop"
            details["termination"] = "no termination reason recorded; taken as a normal ending"
        if rules.ended_prematurely(termination):
            breakdown = checker.score(None, termination=termination)
            return self._line(t, termination, breakdown.reward, breakdown.components, {**details, **breakdown.details})
        env = checker.start()
        disagreements, refused = [], False
        run_reads = self.check_reads or ir.RewardComponent.POLICY in checker.task.reward
        for i, call in enumerate(t.calls):
            if not run_reads and (call.actor, call.name) in self.reads:
                env.trace.append(TraceEntry(call.actor, "tool", call.name, call.arguments, True, None, None))
                continue
            result = env.call(call.name, call.arguments, call.actor)
            if call.recorded is None:
                continue
            ok, content = recorded_value(call.recorded)
            mine = content_json(result)
            if ok != result.ok or (ok and mine != content):
                writes = (call.actor, call.name) in self.writes
                refused |= writes
                disagreements.append({"call": i, "name": call.name, "writes": writes,
                                      "recorded": str(call.recorded.get("content"))[:200], "replayed": str(mine)[:200]})
        try:
            breakdown = checker.score(env, t.agent_texts, termination, t.conversation, t.replied)
        except JudgeError as e:
            raise RecordError(f"the judge failed: {e}") from None
        details.update(breakdown.details)
        reward = breakdown.reward
        if disagreements:
            details["replay"] = disagreements[:20]
            if refused:
                details["replay_note"] = "a write's recorded result disagrees with the replay; the benchmark refuses such a trajectory (reward 0)"
                reward = 0.0
        return self._line(t, termination, reward, breakdown.components, details)

    @staticmethod
    def _line(t: Trajectory, termination: str, reward: float, components: dict, details: dict) -> dict:
        return {"id": t.id, "task_id": t.task_id, "reward": reward, "components": components,
                "termination_reason": termination, "details": details}

    def score_all(self, records: Iterable[Any]) -> Iterator[dict | RecordError]:
        """Every record's line, or the RecordError that says why it was skipped (with its number)."""
        for n, record in enumerate(records, 1):
            try:
                yield self.score(record)
            except (RecordError, TaskSetupError) as e:  # a task that cannot start is its records' problem
                ident = record.get("id") if isinstance(record, dict) else None
                yield RecordError(f"record {n}" + (f" (id {ident})" if ident is not None else "") + f": {e}")


def score_file(scorer: Scorer, simulations: str | Path, out: str | Path, on_error=None,
               collect: list | None = None) -> tuple[int, int]:
    """Score a simulations file into OUT (JSON lines, written atomically): (scored, skipped).
    `collect`, when given, receives every line written."""
    from .tau2 import write_jsonl_atomic

    skipped = [0]

    def lines():
        for item in scorer.score_all(read_simulations(simulations)):
            if isinstance(item, RecordError):
                skipped[0] += 1
                if on_error is not None:
                    on_error(str(item))
                continue
            if collect is not None:
                collect.append(item)
            yield item

    scored = write_jsonl_atomic(out, lines())
    return scored, skipped[0]
