"""What an eig source may read: paths confined to a root folder, and size limits on what is read.

An `.eig` file may come from an untrusted writer (a language model, a downloaded task file).
Its `import` and `data =` paths are relative to the file that names them and must resolve,
symlinks followed, inside the root: the entry file's folder unless the command line gives
`--root`. A refused path is named in the diagnostic; nothing of its content is ever read.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

MAX_SOURCE_BYTES = 2_000_000  # one .eig file
MAX_SOURCE_FILES = 200  # the entry file and everything it imports
MAX_DATA_BYTES = 512_000_000  # one JSON data file named by `data =` or `user_data =`

# Characters that reorder or hide text on screen (Trojan Source, CVE-2021-42574), and control
# characters other than tab, newline, carriage return and form feed (NUL, terminal escapes).
HIDDEN_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class PathRefused(Exception):
    """A path an eig source may not use, or a file it may not read; the message says why."""


class FileUnreadable(PathRefused):
    """A permitted path whose file is missing, not a regular file, or cannot be read."""


def shown(text: str) -> str:
    """A path as a diagnostic shows it: quoted, with invisible and control characters escaped."""
    out = []
    for ch in text:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def confined(base_dir: Path, written: str, root: Path, what: str, suffix: str | None = None) -> Path:
    """The file `written` names (relative to base_dir), symlinks resolved; refused outside `root`."""
    if not isinstance(written, str) or not written:
        raise PathRefused(f"{what} path must be a non-empty string")
    if HIDDEN_RE.search(written) or any(unicodedata.category(ch) == "Cc" for ch in written):
        raise PathRefused(f"{what} path {shown(written)} contains control or invisible characters")
    if Path(written).is_absolute() or written.startswith("~"):
        raise PathRefused(f"{what} path {shown(written)} is absolute; write it relative to the file that names it")
    if suffix is not None and not written.endswith(suffix):
        raise PathRefused(f"{what} path {shown(written)} does not name a {suffix} file")
    try:
        resolved = (base_dir / written).resolve()
    except (OSError, RuntimeError, ValueError):
        raise PathRefused(f"{what} path {shown(written)} cannot be resolved") from None
    if not resolved.is_relative_to(root):
        raise PathRefused(
            f"{what} path {shown(written)} leads outside the folder tree {shown(str(root))}; "
            "pass --root to allow a wider tree"
        )
    return resolved


def read_limited(path: Path, limit: int, what: str, name: str | None = None) -> bytes:
    """The bytes of a regular file no larger than `limit` (never a device, a pipe or a folder);
    `name` is how messages show the file (default: its path)."""
    shown_name = shown(name or str(path))
    try:
        if not path.is_file():
            raise FileUnreadable(f"{what} {shown_name} is not a regular file" if path.exists() else f"no such {what} {shown_name}")
        if path.stat().st_size > limit:
            raise PathRefused(f"{what} {shown_name} is larger than the limit of {limit:,} bytes")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as e:
        raise FileUnreadable(f"cannot read {what} {shown_name}: {e.strerror}") from None
    if len(data) > limit:
        raise PathRefused(f"{what} {shown_name} is larger than the limit of {limit:,} bytes")
    return data


def decode_source(data: bytes, name: str) -> str:
    """Source bytes as text: UTF-8, with no NUL and no characters that reorder text on screen."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise PathRefused(f"{name} is not valid UTF-8 (byte {e.start}, line {line})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def hidden_characters(text: str) -> list[tuple[int, int, str]]:
    """(line, column, character) of each NUL or bidirectional control character in `text`."""
    out = []
    for m in HIDDEN_RE.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        out.append((text.count("\n", 0, m.start()) + 1, m.start() - line_start + 1, m.group()))
        if len(out) >= 5:
            break
    return out
