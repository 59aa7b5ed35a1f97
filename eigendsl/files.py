"""Writing files so that a crash or Ctrl-C never leaves a half-written one behind."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Iterable


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
