"""Packet metadata as a compact key-value store: the codec (for AF_XDP readers and tests)
and the per-deployment key registry."""

from .codec import BlobError, KVError, Store
from .registry import Key, Registry, RegistryError, load

__all__ = ["BlobError", "KVError", "Key", "Registry", "RegistryError", "Store", "load"]
