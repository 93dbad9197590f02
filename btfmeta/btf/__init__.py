"""BTF: the type model, a lazy reader and a byte-exact writer."""

from . import types
from .kinds import Kind
from .load import load_spec, load_with_base
from .spec import Spec

__all__ = ["Kind", "Spec", "load_spec", "load_with_base", "types"]
