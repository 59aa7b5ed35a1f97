"""The compiled folder: IR, tool schemas, policy document, data and manifest, byte-reproducible."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import __version__, ir
from ..compilation import Compilation
from ..files import make_folder
from .policy_doc import render_policy
from .schemas import tool_schemas

FORMAT = 2  # 2: the manifest records the sha256 of every file (checked by runtime/folder_check.py)
# Files a compile owns; stale ones of these are removed, nothing else in the folder is touched.
OWNED = {"ir.json", "tools.json", "user_tools.json", "policy.md", "db.json", "user_db.json",
         "manifest.json", "check_report.json", "tasks.json", "words.json"}


def dumps(value) -> str:
    """The one JSON text form used for every file of a compiled folder."""
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def folder_files(c: Compilation, report=None) -> dict[str, str]:
    """File name -> text of the compiled folder for a successful compilation."""
    domain = c.domain
    files = {
        "ir.json": dumps(ir.to_json(domain)),
        "tools.json": dumps(tool_schemas(domain, "agent")),
        "policy.md": render_policy(domain),
    }
    if any(t.actor == ir.Side.USER for t in domain.tools):
        files["user_tools.json"] = dumps(tool_schemas(domain, "user"))
    if c.data is not None:
        files["db.json"] = dumps(c.data)
    if c.user_data is not None:
        files["user_db.json"] = dumps(c.user_data)
    if c.words is not None:
        files["words.json"] = dumps(c.words)
    if report is not None:
        files["check_report.json"] = dumps(report.to_json(c.diagnostics))
    rows = {}
    for sf in domain.state:
        data = c.data if sf.side == ir.Side.AGENT else c.user_data
        if data is not None and isinstance(data.get(sf.name), (dict, list)):
            rows[sf.name] = len(data[sf.name])
    manifest = {
        "format": FORMAT,
        "domain": domain.name,
        "title": domain.title,
        "compiler_version": __version__,
        "sources": {name: sha256_text(text) for name, text in sorted(c.sources.items())},
        "data": {side: sha256_text(files[f"{'db' if side == 'agent' else 'user_db'}.json"]) for side in sorted(c.data_paths)},
        "counts": {
            "agent_tools": sum(t.actor == ir.Side.AGENT for t in domain.tools),
            "user_tools": sum(t.actor == ir.Side.USER for t in domain.tools),
            "functions": len(domain.functions),
            "setups": len(domain.setups),
            "assertions": len(domain.assertions),
            "policies": len(domain.policies),
            "guards": sum(len(p.guards) for p in domain.policies),
            "tasks": len(domain.tasks),
            "records": len(domain.records),
            "enums": len(domain.enums),
            "unions": len(domain.unions),
            "rows": rows,
        },
        "files": sorted(files),
        "sha256": {name: sha256_text(text) for name, text in sorted(files.items())},
    }
    files["manifest.json"] = dumps(manifest)
    return files


def write_folder(c: Compilation, out: Path, report=None) -> list[Path]:
    """Write the compiled folder, replacing what an earlier compile left there."""
    files = folder_files(c, report)
    make_folder(out)
    for name in OWNED - set(files):
        (out / name).unlink(missing_ok=True)
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
