"""The README's quickstart works as written, on a copy of the project's shipped files."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def test_quickstart_commands(tmp_path):
    for name in ("domains", "examples", "compiled", "tests/data"):
        shutil.copytree(ROOT / name, tmp_path / name)
    quickstart = README.split("## Quickstart", 1)[1]
    commands = re.findall(r"```\n(.*?)```", quickstart, re.S)[0].strip().splitlines()
    bin_dir = Path(sys.executable).parent
    if not importable("trl"):  # the core without the train extra: no local models
        commands = [c for c in commands if " train " not in c and "hf:" not in c]
    for command in commands:
        argv = command.split(" ", 1)[1]
        executable = bin_dir / "eigendsl"
        result = subprocess.run(f"{executable} {argv}", shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        expect_failure = '"NOPE"' in command
        assert (result.returncode != 0) == expect_failure, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    assert (tmp_path / "compiled" / "airline" / "ir.json").is_file()
    assert len((tmp_path / "out" / "airline_records.jsonl").read_text().splitlines()) == 3


def test_python_example(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = blocks("python")[0]
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith("True [")
