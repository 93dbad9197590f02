"""btfmeta: NIC metadata layouts as BTF, and CO-RE relocation against them.

The library API a loader imports; the ``btfmeta`` command is a thin shell over it.
"""

from .btf import Kind, Spec, load_spec, load_with_base, types
from .errors import (
    BTFFormatError,
    BtfmetaError,
    ELFFormatError,
    IncompatibleError,
    TypeLookupError,
)

__all__ = [
    "BTFFormatError",
    "BtfmetaError",
    "ELFFormatError",
    "IncompatibleError",
    "Kind",
    "Spec",
    "TypeLookupError",
    "load_spec",
    "load_with_base",
    "types",
]
__version__ = "0.1.0"
