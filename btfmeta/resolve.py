"""Library entry point of ``resolve`` (implemented in ``btfmeta.commands.resolve``)."""

from .commands.resolve import Resolved, resolve, resolve_one

__all__ = ["Resolved", "resolve", "resolve_one"]
