"""Library entry point of ``compile``: C metadata headers to BTF (the front end's pipeline
is ``btfmeta.cfront.compile``)."""

from .cfront.compile import TARGETS, compile_headers, compile_source

__all__ = ["TARGETS", "compile_headers", "compile_source"]
