"""ELF objects: the sections btfmeta reads from BPF objects and vmlinux images."""

from .sections import ELF_MAGIC, read_section

__all__ = ["ELF_MAGIC", "read_section"]
