"""Finding the program in a completion: fenced python blocks."""

from __future__ import annotations

import re
import textwrap
from typing import Final, Literal

__all__ = ["Block", "extract_program"]

Block = Literal["last", "first", "all"]

# A fence opens a line (after indentation), names python, and is closed by a fence of the same
# indentation level or less; an unclosed fence (a truncated completion) is not a program.
_FENCE: Final = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?:python3?|py)\b[^\n]*\n"
    r"(?P<body>.*?)"
    r"^[ \t]*(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)


def extract_program(text: str, block: Block = "last") -> str | None:
    """The program in ``text``: the last (or first, or all joined) fenced python block.

    Returns None when there is no closed block tagged ``python``, ``python3`` or ``py``.

    Example:
        >>> extract_program("Sure:\\n```python\\nprint(1)\\n```\\nor\\n```py\\nprint(2)\\n```")
        'print(2)\\n'
        >>> extract_program("print(1)") is None
        True

    Known failure modes: an untagged block (a bare fence) is not taken as python, and a block
    that itself contains a line starting with three backticks ends early.
    """
    blocks = [textwrap.dedent(m.group("body")) for m in _FENCE.finditer(text)]
    if not blocks:
        return None
    if block == "first":
        return blocks[0]
    if block == "all":
        return "\n".join(blocks)
    return blocks[-1]
