"""Content hashes of JSON values: sha256 of the dump with sorted keys (tau2-bench's db hash)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def json_sha256(value: Any) -> str:
    """Hex sha256 of `json.dumps(value, sort_keys=True, default=str)`; equal values, equal hashes."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
