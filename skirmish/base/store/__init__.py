"""Durable state behind one protocol, with in-memory and Redis implementations side by side."""

from skirmish.base.store.memory import MemoryStore
from skirmish.base.store.protocols import Store
from skirmish.base.store.redis import RedisStore

__all__ = ["MemoryStore", "RedisStore", "Store"]
