"""jinja2 templates for text renderers, loaded from the package (or the source tree)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import jinja2


@cache
def environment() -> jinja2.Environment:
    packaged = resources.files("btfmeta").joinpath("templates")
    root = Path(str(packaged)) if packaged.is_dir() else Path(__file__).resolve().parents[2] / "templates"
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(root)), keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=False, undefined=jinja2.StrictUndefined)


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
