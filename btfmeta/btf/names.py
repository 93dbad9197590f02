"""C identifiers: the only BTF names a generator may copy into C or Python source.

A name is arbitrary bytes in the string section; one holding a newline or ``*/``
would put code into a generated header or module.  Generators refuse it instead,
naming the type that carries it.
"""

from __future__ import annotations

import re

from ..errors import BTFFormatError
from . import types as T

# letters (Unicode ones too, as clang accepts UTF-8 identifiers), digits, '_' and '$';
# no separators, format characters (bidi overrides) or punctuation
_C_IDENTIFIER = re.compile(r"[^\W\d][\w$]*|\$[\w$]*")
_C_TYPE_WORDS = re.compile(r"[^\W\d]\w*(?: [^\W\d]\w*)*")  # INT/FLOAT: "unsigned int"
_WRAPPERS = (T.Ptr, T.Array, T.Const, T.Volatile, T.Restrict, T.TypeTag)


def c_identifier(name: str, tid: int, path: str | None = None, what: str = "name", *, words: bool = False) -> str:
    """``name`` if it is empty or a C identifier (with ``words``: identifiers separated by
    single spaces, as base type names are); otherwise BTFFormatError naming type ``tid``."""
    if name and (_C_TYPE_WORDS if words else _C_IDENTIFIER).fullmatch(name) is None:
        raise BTFFormatError(f"type [{tid}] has a {what} that is not a C identifier: {name!r}", path=path)
    return name


def check_spelled_type(btf, tid: int) -> None:
    """Check the name a type's C spelling ends in (``struct x *[4]`` -> ``x``)."""
    for _ in range(btf.type_cnt):
        if tid == 0:
            return
        t = btf.type_by_id(tid)
        if not isinstance(t, _WRAPPERS):
            c_identifier(t.name, tid, btf.path, words=isinstance(t, (T.Int, T.Float)))
            return
        tid = t.type
    raise BTFFormatError(f"type [{tid}] is part of a reference loop", path=btf.path)
