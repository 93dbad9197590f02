"""Library entry point of ``diff`` (implemented in ``btfmeta.commands.diff``)."""

from .commands.diff import BREAKS, COMPATIBLE, RELOCATION, TypeDiff, diff, to_json

__all__ = ["BREAKS", "COMPATIBLE", "RELOCATION", "TypeDiff", "diff", "to_json"]
