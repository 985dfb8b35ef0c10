"""Errors every layer may raise, and the command line's exit codes.

Kept at the root (as osmnx keeps ``_errors.py``) so that the library raises :class:`InputError`
without importing the command line, and the command line maps it to exit code 2.
"""

from __future__ import annotations

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_OK", "InputError", "InputValueError"]

#: Exit code: done (input rows may have been rejected and reported).
EXIT_OK = 0
#: Exit code: an unexpected internal failure.
EXIT_INTERNAL = 1
#: Exit code: input that could not be used at all.
EXIT_BAD_INPUT = 2


class InputError(Exception):
    """Input that cannot be used at all (unreadable file, missing column). Exit code 2."""


class InputValueError(InputError, ValueError):
    """An :class:`InputError` that library callers may also catch as ``ValueError``."""
