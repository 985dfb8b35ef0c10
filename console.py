"""Console-safe text: names from planners' files cannot drive the terminal they are printed to."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["GuardedStream", "console_text", "guarded_console"]

#: Characters a terminal obeys instead of showing: the C0 controls except newline and tab
#: (ESC starts colour/cursor/title sequences, CR and BS overwrite text), DEL, the C1 controls
#: (U+009B is a one-byte CSI), the bidirectional marks, embeddings, overrides and isolates
#: (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069: they reorder what is shown), and lone
#: surrogates (which cannot be encoded at all).
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)

#: What a progress bar (tqdm, dask) writes on a terminal besides its text: moves to the next
#: line and back up (``ESC [ A``).
_BAR_MOVES = re.compile(r"(?:\n|\x1b\[A)+")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def console_text(text: str) -> str:
    """``text`` with every terminal control character shown as its escape, e.g. ``\\x1b``.

    Newlines and tabs stay; Chinese and all other printable text is unchanged.

    Parameters
    ----------
    text : str
        A line (or lines) about to be printed.

    Returns
    -------
    str
        The same text, each control character replaced by ``\\xNN`` (C0, DEL, C1) or
        ``\\uNNNN`` (bidirectional controls, lone surrogates).

    Examples
    --------
    >>> console_text("站\\x1b[2J\\x1b]0;pwned\\x07")
    '站\\\\x1b[2J\\\\x1b]0;pwned\\\\x07'
    >>> console_text("为老服务站\\t3 处\\n")
    '为老服务站\\t3 处\\n'
    """
    return _CONTROLS.sub(_visible, text)


class GuardedStream:
    """A text stream that writes through :func:`console_text` (everything else is delegated).

    On a terminal, progress bars still work: a leading carriage return of a write (a bar
    redrawing its own line) and writes made only of line moves pass unchanged. Data strings are
    printed inside longer lines, so they never start a write with their own controls; off a
    terminal (files, pipes, tests) nothing passes unescaped.

    Parameters
    ----------
    stream : TextIO
        The stream to guard (``sys.stdout`` or ``sys.stderr``).
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._tty():
            if _BAR_MOVES.fullmatch(text):
                return self._stream.write(text)
            if text.startswith("\r"):
                self._stream.write("\r" + console_text(text[1:]))
                return len(text)
        self._stream.write(console_text(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def _tty(self) -> bool:
        try:
            return bool(self._stream.isatty())
        except (AttributeError, ValueError):
            return False

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextmanager
def guarded_console() -> Iterator[None]:
    """Guard ``sys.stdout`` and ``sys.stderr`` with :class:`GuardedStream` for the block.

    Every print, warning and error line of the block, wherever it is made, is escaped with
    :func:`console_text`; the previous streams are restored after (also on an exception).
    """
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = GuardedStream(saved[0]), GuardedStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
