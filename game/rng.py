"""A tiny deterministic RNG whose whole state is one int, so it lives inside game states.

SplitMix64: fast, well distributed, and the same on every platform and Python version
(unlike `random.Random`, whose state would have to be copied out of the object).
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def seed_state(seed: int) -> int:
    return seed & MASK64


def next_u64(state: int) -> tuple[int, int]:
    """Return (value, new_state)."""
    state = (state + GOLDEN) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31), state


def next_float(state: int) -> tuple[float, int]:
    """A float in [0, 1) and the new state."""
    value, state = next_u64(state)
    return (value >> 11) * (1.0 / (1 << 53)), state


def uniform(state: int, low: float, high: float) -> tuple[float, int]:
    value, state = next_float(state)
    return low + (high - low) * value, state
