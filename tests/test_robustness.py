"""Random mutants of the domain files: each checks clean or fails with a located diagnostic.

Every mutant goes through the real `eigendsl check` command in-process. The only acceptable
outcomes are exit 0, or exit 1 with at least one `path:line:col: error: message` line; a Python
traceback, any other exception, or a run longer than the time limit fails the test.
"""

from __future__ import annotations

import random
import re
import shutil
import signal

import pytest
from click.testing import CliRunner

from conftest import DOMAINS, ROOT, domain_source
from eigendsl.cli import main

MUTANTS = 500  # per domain in the deep run (slow), through the analyses as well
# The fast slice always runs: other mutants, through the front end only (`check --no-data`),
# since the analyses of the mutants that check clean take most of the deep run's time.
FAST = pytest.param(40, ["--no-data"], id="fast")
DEEP = pytest.param(MUTANTS, [], id="deep", marks=pytest.mark.slow)
TIME_LIMIT_S = 10
DIAGNOSTIC = re.compile(r"^\S+:\d+:\d+: error: .+", re.M)
ODD_LITERALS = [
    "0", "-1", "99999999999999999999999999", "1e308", "1.5", "-0.0", '""', '"\\n"', '"{"', '"}"',
    '"\\u"', '"ünïcødé ✈"', '"""x"""', "none", "true", "2024-13-45", "2024-05-15T25:61:61", "[]", "{}",
    '"a" * 3', "((((1))))", '"x" + 1', "[1, \"a\"]",
]
NOISE = list("{}()[]<>:;,.=+-*/%?!@#$&|^~`'\"\\ \n\t") + ["\u00e9", "\u2603", "\x00", "\ufeff"]
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Hang(Exception):
    pass


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random edit of the source text; returns (kind, mutant)."""
    kind = rng.choice(["delete", "insert", "duplicate_line", "swap_chars", "swap_lines", "truncate",
                       "swap_identifiers", "odd_literal", "delete_line", "repeat"])
    n = len(text)
    lines = text.split("\n")
    if kind == "delete":
        i = rng.randrange(n)
        return kind, text[:i] + text[i + rng.randint(1, 40):]
    if kind == "insert":
        i = rng.randrange(n)
        junk = "".join(rng.choice(NOISE) for _ in range(rng.randint(1, 5)))
        return kind, text[:i] + junk + text[i:]
    if kind == "duplicate_line":
        i = rng.randrange(len(lines))
        return kind, "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    if kind == "swap_chars":
        i, j = sorted(rng.sample(range(n), 2))
        chars = list(text)
        chars[i], chars[j] = chars[j], chars[i]
        return kind, "".join(chars)
    if kind == "swap_lines":
        i, j = rng.sample(range(len(lines)), 2)
        lines[i], lines[j] = lines[j], lines[i]
        return kind, "\n".join(lines)
    if kind == "truncate":
        return kind, text[: rng.randrange(n)]
    if kind == "delete_line":
        i = rng.randrange(len(lines))
        return kind, "\n".join(lines[:i] + lines[i + 1:])
    if kind == "repeat":
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 200))
        return kind, text[:j] + text[i:j] * rng.randint(2, 5) + text[j:]
    matches = list(IDENT.finditer(text))
    if kind == "swap_identifiers":
        a = rng.choice(matches)
        b = rng.choice(matches)
        return kind, text[: a.start()] + b.group() + text[a.end():]
    # odd_literal: replace a number, a string or an identifier with an odd literal
    literal = re.compile(r'"(\\.|[^"\\\n])*"|\b\d+(\.\d+)?\b')
    spots = list(literal.finditer(text)) or matches
    m = rng.choice(spots)
    return kind, text[: m.start()] + rng.choice(ODD_LITERALS) + text[m.end():]


def alarm(signum, frame):
    raise Hang()


@pytest.mark.parametrize("count, flags", [FAST, DEEP])
@pytest.mark.parametrize("domain", DOMAINS)
def test_random_mutants_get_diagnostics_not_tracebacks(domain, count, flags, tmp_path):
    source = domain_source(domain)
    text = source.read_text()
    for data in ROOT.glob(f"domains/{domain}.*.json"):
        shutil.copy(data, tmp_path / data.name)
    target = tmp_path / source.name
    rng = random.Random(f"eig-mutants-{domain}" + ("" if count == MUTANTS else f"-{count}"))
    runner = CliRunner()
    outcomes = {"clean": 0, "diagnosed": 0}
    failures = []
    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        for i in range(count):
            kind, mutant = mutate(text, rng)
            target.write_text(mutant, encoding="utf-8")
            signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
            try:
                result = runner.invoke(main, ["check", *flags, str(target)])
            except Hang:
                failures.append((i, kind, "hang"))
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            output = result.output + (result.stderr if result.stderr_bytes is not None else "")
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                failures.append((i, kind, f"exception {type(result.exception).__name__}: {result.exception}"))
            elif "Traceback" in output:
                failures.append((i, kind, "traceback in output"))
            elif result.exit_code == 0:
                outcomes["clean"] += 1
            elif result.exit_code == 1 and DIAGNOSTIC.search(output):
                outcomes["diagnosed"] += 1
            else:
                failures.append((i, kind, f"exit {result.exit_code} without a located diagnostic: {output[:300]!r}"))
    finally:
        signal.signal(signal.SIGALRM, previous)
    print(domain, outcomes)
    assert not failures, failures[:10]
    assert outcomes["clean"] + outcomes["diagnosed"] == count
    assert outcomes["diagnosed"] > count // 2  # the mutants are mostly broken, and each was caught


def test_diagnostic_points_at_the_mistake(tmp_path):
    """A known mistake is reported at its line and column, with the source line and a caret."""
    source = domain_source("airline").read_text().replace(
        "return find_reservation(reservation_id)", "return find_reservaton(reservation_id)", 1)
    for data in ROOT.glob("domains/airline.*.json"):
        shutil.copy(data, tmp_path / data.name)
    target = tmp_path / "airline.eig"
    target.write_text(source)
    result = CliRunner().invoke(main, ["check", str(target)])
    assert result.exit_code == 1
    line_no = next(i for i, line in enumerate(source.split("\n"), 1) if "find_reservaton(" in line)
    col = source.split("\n")[line_no - 1].index("find_reservaton") + 1
    assert f"airline.eig:{line_no}:{col}: error: unknown function 'find_reservaton'; did you mean 'find_reservation'?" in result.output
    assert "^~~~~~~~~~~~~~" in result.output
