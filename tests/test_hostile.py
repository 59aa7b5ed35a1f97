"""A corpus of hostile .eig files: each gets a located diagnostic, quickly, with no traceback and nothing leaked.

The small cases live in tests/data/hostile/, each with `# expect: TEXT` on its first line (TEXT
must appear in the output; empty means any located diagnostic). The big ones (huge literals,
deep nesting, many files) are generated here. A few go through `eigendsl check` in a
subprocess, the rest in-process; both under a time limit.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT, Hang, cpu_time_limit
from eigendsl.cli import main
from eigendsl.confine import MAX_SOURCE_BYTES, MAX_SOURCE_FILES
from eigendsl.syntax.literals import MAX_STRING_CHARS

CORPUS = ROOT / "tests" / "data" / "hostile"
TIME_LIMIT_S = 30  # CPU seconds in process (wall seconds for a subprocess); each case takes about a second alone
IN_SUBPROCESS = {"import_absolute.eig", "invalid_utf8.eig", "terminal_escape.eig", "bidi_comment.eig"}
LOCATED = re.compile(r"^\S+:\d+:\d+: (error|warning|note): .+", re.M)
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
H = 'domain d "D" {}\n'
DEEP = "nested too deeply"


def many_imports(folder: Path) -> Path:
    for i in range(MAX_SOURCE_FILES + 5):
        (folder / f"m{i}.eig").write_text(f'import "m{i + 1}.eig"\n')
    (folder / f"m{MAX_SOURCE_FILES + 5}.eig").write_text(H)
    return folder / "m0.eig"


GENERATED = {
    "deep_list": (H + "const x = " + "[" * 3000 + "]" * 3000 + "\n", DEEP),
    "deep_map": (H + "const x = " + '{"a": ' * 2000 + "1" + "}" * 2000 + "\n", DEEP),
    "deep_blocks": (H + "fn f(x: int) -> int {\n" + "if x > 0 {\n" * 1500 + "return 1\n" + "}\n" * 1500 + "return 0\n}\n", DEEP),
    "deep_if_expr": (H + "const x = " + "if true then 1 else " * 3000 + "2\n", DEEP),
    "deep_not": (H + "const x = " + "not " * 5000 + "true\n", DEEP),
    "deep_type": (H + "const x: " + "list<" * 3000 + "int" + ">" * 3000 + " = []\n", DEEP),
    "long_sum": (H + "const x = " + " + ".join(["1"] * 5000) + "\n", DEEP),
    "deep_quantifiers": (H + "record R { n: int }\nstate { rs: map<str, R> }\nfn f() -> bool { return "
                         + "".join(f"any(x{i} in rs: " for i in range(500)) + "true" + ")" * 500 + " }\n", DEEP),
    "huge_string": (H + 'const x = "' + "A" * (MAX_STRING_CHARS + 10) + '"\n', "string literal is too long"),
    "huge_doc": (H + 'record R """' + "d\n" * MAX_STRING_CHARS + '""" { n: int }\n', "string literal is too long"),
    "huge_file": (H + "# pad\n" * (MAX_SOURCE_BYTES // 6 + 1), "is larger than the limit"),
    "many_errors": ("".join(f"enum E{i} {{ a b c ! }}\n" for i in range(20000)), "1:17: error: unexpected character '!'"),
    "many_holes": (H + 'const x = "' + "{1}" * 30000 + '"\n', "too many {holes}"),
    "many_imports": (many_imports, "too many source files"),
}


def corpus_cases() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.eig"))


def expectation(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect:"), f"{path.name} lacks its `# expect:` line"
    return first[len("# expect:"):].strip()


def check_in_process(path: Path) -> tuple[int, str]:
    try:
        with cpu_time_limit(TIME_LIMIT_S):
            result = CliRunner().invoke(main, ["check", str(path)])
    except Hang:
        pytest.fail(f"{path.name}: no answer within {TIME_LIMIT_S}s of CPU time")
    if isinstance(result.exception, Hang):  # raised inside the command, caught by the runner
        pytest.fail(f"{path.name}: no answer within {TIME_LIMIT_S}s of CPU time")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail(f"{path.name}: {type(result.exception).__name__}: {result.exception}")
    return result.exit_code, result.output


def check_in_subprocess(path: Path) -> tuple[int, str]:
    try:
        done = subprocess.run([sys.executable, "-m", "eigendsl.cli", "check", str(path)], cwd=ROOT,
                              capture_output=True, text=True, errors="replace", timeout=TIME_LIMIT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path.name}: no answer within {TIME_LIMIT_S}s")
    return done.returncode, done.stdout + done.stderr


def assert_diagnosed(name: str, code: int, output: str, expected: str) -> None:
    assert "Traceback" not in output, output[-2000:]
    assert code in (0, 1), (code, output[-2000:])
    assert LOCATED.search(output), output[:2000]
    assert expected in output, (expected, output[:2000])
    assert not UNSAFE.search(output), f"{name}: the output carries control or bidi characters"
    assert "root:" not in output  # nothing of /etc/passwd
    assert len(output) < 20_000, f"{name}: {len(output)} characters of output"


@pytest.mark.parametrize("name", corpus_cases())
def test_hostile_file_gets_a_diagnostic(name):
    path = CORPUS / name
    run = check_in_subprocess if name in IN_SUBPROCESS else check_in_process
    code, output = run(path.relative_to(ROOT) if name in IN_SUBPROCESS else path)
    assert_diagnosed(name, code, output, expectation(path))


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_hostile_file_gets_a_diagnostic(name, tmp_path):
    make, expected = GENERATED[name]
    if callable(make):
        path = make(tmp_path)
    else:
        path = tmp_path / f"{name}.eig"
        path.write_text(make, encoding="utf-8")
    run = check_in_subprocess if name in ("deep_blocks", "many_errors") else check_in_process
    code, output = run(path)
    assert code == 1
    assert_diagnosed(name, code, output, expected)


def test_corpus_is_what_it_says():
    """Every file of the corpus states its expectation, and the corpus covers each kind of attack."""
    names = corpus_cases()
    for prefix in ("import_", "data_", "bidi_", "homoglyph_", "huge_", "guard_"):
        assert any(n.startswith(prefix) for n in names), prefix
    for name in names:
        expectation(CORPUS / name)


def test_the_hang_guard_counts_cpu_time_and_fires():
    # the guard the cases above rely on: a busy loop is stopped after its CPU allowance, while
    # sleeping (wall time without CPU, as on a loaded machine) does not trip it
    import time

    with pytest.raises(Hang):
        with cpu_time_limit(0.3):
            while True:
                pass
    with cpu_time_limit(0.3):
        time.sleep(0.5)
