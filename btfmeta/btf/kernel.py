"""Where the running kernel keeps BTF: ``/sys/kernel/btf/<module>`` on
``/sys/kernel/btf/vmlinux``, and the module behind a network interface's driver.

Names given on the command line become path components under sysfs; each is checked
against what the kernel itself allows, so ``--module ../../x`` cannot reach a file
outside ``/sys/kernel/btf``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import BtfmetaError

SYSFS_BTF = Path("/sys/kernel/btf")
SYSFS_NET = Path("/sys/class/net")
_MODULE_NAME = re.compile(r"[A-Za-z0-9_-]{1,55}")  # MODULE_NAME_LEN is 64 - sizeof(unsigned long)


def check_module_name(name: str) -> str:
    if _MODULE_NAME.fullmatch(name) is None:
        raise BtfmetaError(f"invalid module name {name!r} (letters, digits, '_' and '-', at most 55)")
    return name


def check_interface_name(name: str) -> str:
    """The kernel's dev_valid_name: 1-15 bytes, not '.' or '..', no '/', ':' or white space."""
    if not 0 < len(name.encode()) < 16 or name in (".", "..") or any(c in "/:" or c.isspace() for c in name):
        raise BtfmetaError(f"invalid network interface name {name!r}")
    return name


def nic_driver_module(nic: str) -> str | None:
    """The module behind a network interface's driver; None if the driver is built in."""
    dev = SYSFS_NET / check_interface_name(nic)
    if not dev.exists():
        raise BtfmetaError(f"no network interface '{nic}'")
    driver = dev / "device" / "driver"
    if not driver.exists():
        raise BtfmetaError(f"interface '{nic}' has no device driver (a virtual interface?)")
    module = driver / "module"
    return check_module_name(module.resolve().name) if module.exists() else None


def default_base(path) -> Path | None:
    """``/sys/kernel/btf/<module>`` is split on ``/sys/kernel/btf/vmlinux``, as bpftool assumes."""
    p = Path(path)
    if p.parent == SYSFS_BTF and p.name != "vmlinux":
        return SYSFS_BTF / "vmlinux"
    return None
