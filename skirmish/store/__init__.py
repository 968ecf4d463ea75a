"""Durable state behind one protocol, with in-memory and Redis implementations side by side."""

from skirmish.store.memory import MemoryStore
from skirmish.store.protocols import Store
from skirmish.store.redis import RedisStore

__all__ = ["MemoryStore", "RedisStore", "Store"]
