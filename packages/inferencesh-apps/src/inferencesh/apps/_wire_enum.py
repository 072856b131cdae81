"""The base of the string enums whose members stand for values on the wire."""

from __future__ import annotations

import enum


class WireEnum(str, enum.Enum):
    """A ``str`` enum whose ``str()`` and f-string form is its value on every Python.

    A plain ``(str, Enum)`` formats as its value on 3.10 but as ``Class.NAME`` from 3.11 on, so
    ``f"{role}: {text}"`` would change with the interpreter; this matches 3.11's ``StrEnum``.
    """

    def __str__(self) -> str:
        return str.__str__(self)
