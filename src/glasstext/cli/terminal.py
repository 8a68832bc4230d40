"""Output a terminal shows as text: control characters in user data are escaped.

Class labels, texts and n-grams come from the user's files. Printed raw, an
ESC or OSC sequence in them can recolour, retitle or rewrite the terminal, a
carriage return can overwrite the line before it, and a bidi control can
reverse what follows. Every line the CLI prints goes through
:func:`terminal_safe`: such characters appear as visible ``\\u....`` escapes
(valid inside JSON strings too), while newlines and tabs keep their meaning.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["TerminalSafeStream", "terminal_safe", "terminal_safe_output"]

# C0 controls but tab and newline, DEL, C1 controls, and the Unicode
# bidirectional overrides, embeddings, isolates and marks.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    # JSON's escape form, so that JSON lines printed by the CLI stay valid JSON.
    return f"\\u{ord(match.group()):04x}"


def terminal_safe(text: str) -> str:
    """``text`` with terminal control, bidi control and lone surrogate characters escaped."""
    return _UNSAFE.sub(_escape, text)


class TerminalSafeStream:
    """A text stream that escapes unsafe characters in everything written to it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_safe(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def terminal_safe_output() -> Iterator[None]:
    """Escape unsafe characters in what is printed on stdout while the block runs.

    Only stdout is wrapped: progress bars on stderr move the cursor on purpose,
    and the CLI's error lines are escaped where they are printed.
    """
    original = sys.stdout
    sys.stdout = TerminalSafeStream(original)
    try:
        yield
    finally:
        sys.stdout = original
