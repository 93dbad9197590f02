"""The commands that combine parts (check, diff, resolve, obj show, layout): each returns
values, and a JSON document through ``document`` -- one envelope, ``{"version": N, ...}``."""

from __future__ import annotations

from typing import Any


def document(version: int, **fields: Any) -> dict[str, Any]:
    """A JSON document of schema ``version``: the version first, then ``fields`` in order."""
    return {"version": version, **fields}
