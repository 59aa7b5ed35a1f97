"""The command line shared by the data generators: write the data file, or check it is current."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable


def run(out: Path, generate: Callable[[], dict], description: str, argv=None) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file on disk differs from what would be written")
    args = parser.parse_args(argv)
    text = json.dumps(generate(), indent=1) + "\n"
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else None
        if current != text:
            print(f"{out} is out of date; run: python {Path(sys.argv[0]).as_posix()}", file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0
