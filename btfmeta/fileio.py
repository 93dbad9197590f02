"""Reading inputs with a bound and writing outputs atomically.

Inputs: a regular file, a pipe or FIFO (``-`` is standard input), never more than
``max_input()`` bytes; a device or directory is refused before it is read, so
``/dev/zero`` cannot grow memory until the process is killed.

Outputs: ``-`` is standard output; a device, FIFO or socket that exists is written in
place (``-o /dev/null`` as root must not replace the device node); a symlink is
resolved once and its target replaced; a regular file is replaced atomically, keeping
its mode (and owner, where permitted), from an unnamed ``O_TMPFILE`` linked in only
when complete, so that even SIGKILL leaves no temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import sys

from .errors import BtfmetaError

DEFAULT_MAX_INPUT = 1 << 30
_CHUNK = 1 << 20
_KIND = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory",
         stat.S_IFSOCK: "a socket"}


_stdin_read = False


def max_input() -> int:
    """The largest input read, in bytes: 1 GiB, or ``BTFMETA_MAX_INPUT``."""
    value = os.environ.get("BTFMETA_MAX_INPUT", "")
    return int(value) if value.isdigit() else DEFAULT_MAX_INPUT


def _error(exc: OSError, path: str) -> BtfmetaError:
    return BtfmetaError(exc.strerror or str(exc), path=path)


def _refuse_kind(mode: int, path: str) -> None:
    kind = _KIND.get(stat.S_IFMT(mode))
    if kind is not None:
        raise BtfmetaError(f"is {kind}, not a regular file or a pipe", path=path)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The contents of ``path`` (``-``: standard input), at most ``max_input()`` bytes."""
    name = os.fspath(path)
    limit = max_input()
    if name == "-":
        global _stdin_read
        if _stdin_read:
            raise BtfmetaError("standard input can be read only once ('-' given twice)", path="<stdin>")
        _stdin_read = True
        return _read_bounded(sys.stdin.fileno(), "<stdin>", limit, close=False)
    try:
        _refuse_kind(os.stat(name).st_mode, name)
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise _error(exc, name) from None
    return _read_bounded(fd, name, limit, close=True)


def _read_bounded(fd: int, name: str, limit: int, *, close: bool) -> bytes:
    try:
        st = os.fstat(fd)
        _refuse_kind(st.st_mode, name)  # again: the path may have changed since it was looked at
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            raise BtfmetaError(f"larger than the input limit ({st.st_size} > {limit} bytes; BTFMETA_MAX_INPUT)",
                               path=name)
        if stat.S_ISREG(st.st_mode):  # one read of the known size (and one more to see the end)
            data = os.read(fd, st.st_size)
            if len(data) == st.st_size and not os.read(fd, 1):
                return data
            chunks, total = [data], len(data)
        else:
            chunks, total = [], 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > limit:
                raise BtfmetaError(f"larger than the input limit ({limit} bytes; BTFMETA_MAX_INPUT)", path=name)
            chunks.append(chunk)
    except OSError as exc:
        raise _error(exc, name) from None
    finally:
        if close:
            os.close(fd)


def write_output(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` as a whole or not at all (see the module docstring)."""
    name = os.fspath(path)
    if name == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = os.path.realpath(name) if os.path.islink(name) else name
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _error(exc, name) from None
    try:
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise BtfmetaError("is a directory", path=name)
        if st is not None and not stat.S_ISREG(st.st_mode):
            _write_in_place(target, data)
        else:
            _replace(target, data, st)
    except OSError as exc:
        raise _error(exc, name) from None


def _write_in_place(target: str, data: bytes) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace(target: str, data: bytes, st: os.stat_result | None) -> None:
    directory = os.path.dirname(target) or "."
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    fd = _open_unnamed(directory)
    if fd is not None:
        try:
            _prepare(fd, data, mode, st)
            if _link_unnamed(fd, directory, target, replace=st is not None):
                return
        finally:
            os.close(fd)
    import tempfile  # only where the filesystem has no O_TMPFILE

    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", dir=directory)
    try:
        _prepare(fd, data, mode, st)
        os.replace(tmp, target)
        tmp = None
    finally:
        os.close(fd)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _prepare(fd: int, data: bytes, mode: int, st: os.stat_result | None) -> None:
    os.fchmod(fd, mode)
    if st is not None and os.geteuid() == 0:  # root replacing a user's file leaves it theirs
        with contextlib.suppress(OSError):
            os.fchown(fd, st.st_uid, st.st_gid)
    _write_all(fd, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _open_unnamed(directory: str) -> int | None:
    """An unnamed O_TMPFILE in ``directory``; None where the filesystem has none."""
    try:
        return os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise


def _linkat(fd: int, dest: str) -> bool:
    """Give the unnamed file ``fd`` the name ``dest``: linkat(AT_EMPTY_PATH), else through
    /proc/self/fd.  False if neither is allowed here; FileExistsError if ``dest`` exists."""
    libc = _libc()
    if libc is not None and libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(dest), _AT_EMPTY_PATH) == 0:
        return True
    if libc is not None and libc.errno() == errno.EEXIST:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dest)
    try:
        os.link(f"/proc/self/fd/{fd}", dest, follow_symlinks=True)
        return True
    except FileExistsError:
        raise
    except OSError:
        return False


def _link_unnamed(fd: int, directory: str, target: str, *, replace: bool) -> bool:
    """Name the complete unnamed file: straight as ``target`` if nothing is there, else
    under a fresh name renamed over it.  False if unnamed files cannot be linked here."""
    if not replace:
        try:
            return _linkat(fd, target)
        except FileExistsError:
            pass
    for _ in range(100):
        tmp = os.path.join(directory, f".{os.path.basename(target)}.{os.urandom(6).hex()}")
        try:
            if not _linkat(fd, tmp):
                return False
        except FileExistsError:
            continue
        try:
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return True
    raise BtfmetaError("cannot name a temporary file", path=target)


_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


class _Libc:
    """linkat(2) through ctypes, loaded on the first write that needs it."""

    def __init__(self) -> None:
        import ctypes

        self._ctypes = ctypes
        self._lib = ctypes.CDLL(None, use_errno=True)
        self.linkat = self._lib.linkat
        self.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]

    def errno(self) -> int:
        return self._ctypes.get_errno()


@functools.cache
def _libc() -> _Libc | None:
    try:
        return _Libc()
    except (OSError, AttributeError):
        return None
