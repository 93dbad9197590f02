"""jinja2 templates for text renderers, loaded from the package (or the source tree)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import jinja2


def comment(text: object) -> str:
    """Text safe inside a C ``/* */`` or a Python ``#`` comment: one line, no ``*/`` (a
    path or name echoed there must not end the comment and start code) and no ``/*``
    (which -Wcomment flags)."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    return shown.replace("*/", "*\\/").replace("/*", "/\\*")


@cache
def environment() -> jinja2.Environment:
    packaged = resources.files("btfmeta").joinpath("templates")
    root = Path(str(packaged)) if packaged.is_dir() else Path(__file__).resolve().parents[2] / "templates"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(root)), keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=False, undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(["html.j2"], default_for_string=False))
    env.filters["comment"] = comment
    env.filters["pyrepr"] = repr
    return env


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
