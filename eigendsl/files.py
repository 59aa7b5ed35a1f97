"""Writing files so that a crash or Ctrl-C never leaves a half-written one behind; reading input files
with errors that say which file and what is wrong."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_folder(folder: Path) -> None:
    """mkdir -p, with an error that names the file standing where a folder should be."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, f"{above} is a file, not a folder", str(folder))
            break
    folder.mkdir(parents=True, exist_ok=True)


def not_a_file(path: Path, what: str = "file") -> str:
    """Why `path` is not a file to read, as one sentence: missing, a folder, a broken link or a loop of links."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"{path} is a loop of symbolic links, not a {what}"
        if path.is_symlink():
            return f"{path} is a symbolic link to a missing {what}"
        if e.errno == errno.ENOENT:
            return f"no such {what}: {path}"
        return f"cannot read {path}: {e.strerror or e}"
    return f"{path} is a folder, not a {what}" if path.is_dir() else f"{path} is not a regular file"


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (through links and relative parts), so that writing one would lose the other."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def write_atomic(path: str | Path, chunks: Iterable[str]) -> None:
    """Write text to a temporary file beside `path`, then move it into place."""
    path = Path(path)
    make_folder(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(chunk)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_text(path: Path, problem: type[Exception], what: str = "") -> str:
    """PATH as UTF-8 text; PROBLEM (a one-line message naming the file) when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise problem(f"cannot read {what + ' ' if what else ''}{path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise problem(f"{path}: not UTF-8 text (byte {e.start})") from None


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """The lines of a JSON-lines text that hold something, with their 1-based numbers."""
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield n, line
