"""Library entry point of ``layout --format json`` (implemented in ``btfmeta.commands.layout``)."""

from .commands.layout import SCHEMA_VERSION, layout

__all__ = ["SCHEMA_VERSION", "layout"]
