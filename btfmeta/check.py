"""Library entry point of ``check`` (implemented in ``btfmeta.commands.check``)."""

from .commands.check import ERROR, GUARDED, OK, REFUSED, TargetResult, check, check_target, refused, to_json

__all__ = ["ERROR", "GUARDED", "OK", "REFUSED", "TargetResult", "check", "check_target", "refused", "to_json"]
