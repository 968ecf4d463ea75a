"""docs/modes.md builds examples/tag: its steps' code is the package's code."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "modes.md").read_text()
EXAMPLE = ROOT / "examples" / "tag"
SKIPPED = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}


def blocks(language: str, text: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def statements(code: str) -> list[str]:
    """Its logical lines as tokens, however they are wrapped or indented (the guide shows
    methods out of their class, and the formatter wraps them to another width)."""
    lines, tokens = [], []
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if tokens:
                lines.append(" ".join(tokens))
            tokens = []
        elif token.type not in SKIPPED:
            tokens.append(token.string)
    return lines


def test_the_guides_python_steps_are_the_whole_example_module() -> None:
    """Every statement of the module, and no other, in the steps (which show some helpers
    where they are first needed, so the order differs)."""
    steps = GUIDE[GUIDE.index("## Step 3") : GUIDE.index("## Step 12")]
    written = [line for block in blocks("python", steps) for line in statements(block)]
    module = statements((EXAMPLE / "tag_mode" / "__init__.py").read_text())
    assert sorted(written) == sorted(module)


def test_the_guides_package_file_is_the_examples() -> None:
    (toml,) = blocks("toml", GUIDE[: GUIDE.index("## Step 2")])
    lines = [line.strip() for line in toml.splitlines() if line.strip()]
    file = (EXAMPLE / "pyproject.toml").read_text().splitlines()
    assert lines == [line.strip() for line in file if line.strip()]
