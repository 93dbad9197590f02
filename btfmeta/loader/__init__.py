"""What a loader calls: a ``Target`` (a NIC's BTF, read once) that relocates and judges
objects, and ``watch``, which re-relocates them whenever that BTF changes."""

from .target import Outcome, Target
from .watch import ABSENT, APPEARED, CHANGED, DISAPPEARED, UNREADABLE, Event, Files, Module, Nic, watch

__all__ = ["ABSENT", "APPEARED", "CHANGED", "DISAPPEARED", "UNREADABLE", "Event", "Files", "Module", "Nic", "Outcome",
           "Target", "watch"]
