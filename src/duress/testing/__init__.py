"""Fakes for tests, shipped with the package so integrators can test against Duress too.

- :class:`FakeClock`: time that moves only when a test says so.
- :class:`MemoryStore`: the event store, in memory.
- :class:`RecordingNotifier`: a notification channel that records what it was asked to send.
"""

from duress.store.memory import MemoryStore
from duress.testing.clock import FakeClock
from duress.testing.notifier import RecordingNotifier

__all__ = ["FakeClock", "MemoryStore", "RecordingNotifier"]
