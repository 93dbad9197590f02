"""C types to BTF as clang-19 emits them (BTFDebug): names, kind_flag, bitfields,
qualifier order, ``__ARRAY_SIZE_TYPE__``, FWD for incomplete records, tags."""

from __future__ import annotations

from ..btf import types as T
from ..btf.kinds import INT_BOOL, INT_SIGNED, LINKAGE_EXTERN, LINKAGE_GLOBAL, LINKAGE_STATIC
from ..btf.spec import Spec
from . import cmodel as C
from .sema import Entity

_PLACEHOLDER = T.Int(name="", size=0)


class Emitter:
    """Adds C types to a ``Spec``, each distinct type once, in a pre-order walk."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.ids: dict[object, int] = {}
        self.sections: dict[str, list[T.VarSecinfo]] = {}

    def _reserve(self, key: object) -> int:
        tid = self.spec.add(_PLACEHOLDER)
        self.ids[key] = tid
        return tid

    def _put(self, key: object, make) -> int:
        """Id for ``key``; ``make()`` builds the BTF type after the id is reserved."""
        tid = self.ids.get(key)
        if tid is None:
            tid = self._reserve(key)
            self.spec.replace(tid, make())
        return tid

    def type_id(self, t: C.CType) -> int:
        how = _BY_CLASS.get(type(t))
        if how is None:
            raise TypeError(f"cannot emit {t!r}")
        return how(self, t)

    def _void(self, t: C.Void) -> int:
        return 0

    def _basic(self, t: C.Basic) -> int:
        return self._put(("basic", t.name), lambda: _int_or_float(t))

    def _pointer(self, t: C.Pointer) -> int:
        target = self.type_id(t.target)
        return self._put(("ptr", target), lambda: T.Ptr(type=target))

    def _array(self, t: C.Array) -> int:
        elem = self.type_id(t.elem)
        index = self.type_id(ARRAY_SIZE_TYPE)
        return self._put(("array", elem, t.count or 0),
                         lambda: T.Array(type=elem, index_type=index, nelems=t.count or 0))

    def _type_tag(self, t: C.TypeTagged) -> int:
        base = self.type_id(t.base)
        return self._put(("tag", t.tag, base), lambda: T.TypeTag(name=t.tag, type=base))

    def _function(self, t: C.Function) -> int:
        return self._proto(t, named=False)

    def _qualified(self, t: C.Qualified) -> int:
        # clang peels const, then volatile, then restrict: CONST -> VOLATILE -> RESTRICT -> base
        base = self.type_id(t.base)
        for flag, kind in ((t.restrict, T.Restrict), (t.volatile, T.Volatile), (t.const, T.Const)):
            if flag:
                inner = base
                base = self._put((kind.__name__, inner), lambda k=kind, i=inner: k(type=i))
        return base

    def _typedef(self, t: C.Typedef) -> int:
        tid = self.ids.get(t)
        if tid is None:
            tid = self._reserve(t)
            self.spec.replace(tid, T.Typedef(name=t.name, type=self.type_id(t.target)))
            self._decl_tags(t.decl_tags, tid)
        return tid

    def _record(self, r: C.Record) -> int:
        tid = self.ids.get(r)
        if tid is not None:
            return tid
        tid = self._reserve(r)
        if not r.defined:
            self.spec.replace(tid, T.Fwd(name=r.name, is_union=r.is_union))
            return tid
        members = []
        member_tags = []
        kflag = any(f.bits and f.name for f in r.fields)
        for f in r.fields:
            if f.bits is not None and not f.name:
                continue  # clang leaves unnamed bit-fields out of BTF
            mtype = self.type_id(f.type)
            members.append(T.Member(name=f.name, type=mtype, bits_offset=f.offset,
                                    bitfield_size=f.bits or 0))
            member_tags.append(f.decl_tags)
        cls = T.Union if r.is_union else T.Struct
        self.spec.replace(tid, cls(name=r.name, size=r.size, members=members, kflag=kflag))
        self._decl_tags(r.decl_tags, tid)
        for i, tags in enumerate(member_tags):
            self._decl_tags(tags, tid, i)
        return tid

    def _enum(self, e: C.Enum) -> int:
        tid = self.ids.get(e)
        if tid is None:
            tid = self._reserve(e)
            values = [T.EnumValue(name=n, value=v) for n, v in e.values]
            if e.size == 8:
                self.spec.replace(tid, T.Enum64(name=e.name, size=8, values=values, signed=e.signed))
            else:  # a forward-declared enum has size 0 in clang's BTF
                self.spec.replace(tid, T.Enum(name=e.name, size=e.size if e.defined else 0, values=values,
                                              signed=e.signed))
            self._decl_tags(e.decl_tags, tid)
        return tid

    def _proto(self, f: C.Function, *, named: bool) -> int:
        ret = self.type_id(f.ret)
        params = [T.Param(name=n if named else "", type=self.type_id(pt)) for n, pt in f.params]
        if f.variadic:
            params.append(T.Param(name="", type=0))
        tid = self.spec.add(T.FuncProto(return_type=ret, params=params))
        return tid

    def _decl_tags(self, tags: list[str], target: int, component: int = -1) -> None:
        for tag in tags:
            self._put(("decl_tag", tag, target, component),
                      lambda tag=tag: T.DeclTag(name=tag, type=target, component_idx=component))

    def entity(self, e: Entity) -> None:
        if e.kind == "type":
            self.type_id(e.type)
        elif e.kind == "func":
            proto = self._proto(e.type, named=True)
            linkage = LINKAGE_STATIC if "static" in e.storage else LINKAGE_GLOBAL if e.defined else LINKAGE_EXTERN
            fid = self.spec.add(T.Func(name=e.name, type=proto, linkage=linkage))
            self._decl_tags(e.decl_tags, fid)
            for i, tags in enumerate(e.param_tags):
                self._decl_tags(tags, fid, i)
        else:
            self._var(e)

    def _var(self, e: Entity) -> None:
        type_id = self.type_id(e.type)
        if "extern" in e.storage:
            linkage = T.Var(name=e.name, type=type_id, linkage=LINKAGE_EXTERN)
            vid = self.spec.add(linkage)
            self._decl_tags(e.decl_tags, vid)
            return
        linkage = LINKAGE_STATIC if "static" in e.storage else LINKAGE_GLOBAL
        vid = self.spec.add(T.Var(name=e.name, type=type_id, linkage=linkage))
        self._decl_tags(e.decl_tags, vid)
        is_const = isinstance(e.type, C.Qualified) and e.type.const
        section = ".rodata" if is_const and e.initialized else ".data" if e.initialized else ".bss"
        self.sections.setdefault(section, []).append(T.VarSecinfo(type=vid, offset=0, size=e.type.size))

    def finish(self) -> None:
        for name, secinfo in self.sections.items():
            self.spec.add(T.Datasec(name=name, size=0, vars=secinfo))


# by exact class: the C model's types are final (no subclasses), so a dict lookup replaces an isinstance chain
_BY_CLASS = {C.Void: Emitter._void, C.Basic: Emitter._basic, C.Pointer: Emitter._pointer, C.Array: Emitter._array,
             C.Qualified: Emitter._qualified, C.TypeTagged: Emitter._type_tag, C.Typedef: Emitter._typedef,
             C.Record: Emitter._record, C.Enum: Emitter._enum, C.Function: Emitter._function}

ARRAY_SIZE_TYPE = C.Basic("__ARRAY_SIZE_TYPE__", 4, 4, False)


def _int_or_float(t: C.Basic) -> T.Type:
    if t.is_float:
        return T.Float(name=t.name, size=t.size)
    encoding = INT_BOOL if t.is_bool else INT_SIGNED if t.signed else 0
    return T.Int(name=t.name, size=t.size, encoding=encoding, nr_bits=t.size * 8)


def emit(entities: list[Entity], spec: Spec) -> Spec:
    em = Emitter(spec)
    for e in entities:
        em.entity(e)
    em.finish()
    return spec
