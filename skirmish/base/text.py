"""Checks of text that players write and other players read: names, chat lines."""

from __future__ import annotations

import unicodedata

# Control, format (zero-width, bidirectional overrides), private-use and surrogate code
# points: text holding them can pass for other text, or rearrange what follows it.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})


def has_invisible(text: str) -> bool:
    """True when `text` holds a control or invisible character."""
    return any(unicodedata.category(ch) in INVISIBLE_CATEGORIES for ch in text)


def visible(text: str) -> str:
    """`text` itself; ValueError if it holds a control or invisible character."""
    if has_invisible(text):
        raise ValueError("must not contain control or invisible characters")
    return text
