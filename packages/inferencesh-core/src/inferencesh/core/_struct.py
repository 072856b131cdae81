"""The bases of every wire type: ``WireStruct`` (msgspec ``Struct`` with dict-style reads) and
``WireEnum`` (string enums that print their value). Public as ``inferencesh.core.types``; kept in
a module of their own so that ``types`` and ``requests`` both build on them without importing
each other.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

import msgspec

__all__ = ["WireEnum", "WireStruct"]


class WireEnum(str, enum.Enum):
    """Base of the string enums of the wire (chat statuses, roles, ...): members compare equal
    to their values, and ``str()`` and f-strings give the value on every Python.

    A plain ``(str, Enum)`` formats as its value on 3.10 but as ``Class.NAME`` from 3.11 on, so
    ``f"{role}: {text}"`` would change with the interpreter; this matches 3.11's ``StrEnum``.
    """

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(str.__str__(self), spec)


class WireStruct(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    repr_omit_defaults=True,
    forbid_unknown_fields=False,
    gc=False,
):
    """Base of the wire types: keyword-only, unknown fields ignored, defaults omitted.

    Instances are not tracked by the cycle collector (``gc=False``): wire objects hold plain
    data and never form reference cycles, and long streams decode several times faster.

    Adds read-only dict-style access over the fields, so results behave like the JSON objects
    the platform documents: ``obj["field"]``, ``obj.get("field", default)``, ``"field" in obj``
    (true when the field is set, that is not ``None``), ``obj.keys()`` and ``obj.to_dict()``.
    """

    def __getitem__(self, key: str) -> Any:
        if key in self.__struct_fields__:
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field's value, or ``default`` when it is unset (``None``) or not a field."""
        if key in self.__struct_fields__:
            value = getattr(self, key)
            if value is not None:
                return value
        return default

    def __contains__(self, key: object) -> bool:
        return (
            isinstance(key, str)
            and key in self.__struct_fields__
            and getattr(self, key) is not None
        )

    def keys(self) -> list[str]:
        """The names of the fields that are set."""
        return [k for k in self.__struct_fields__ if getattr(self, k) is not None]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def to_dict(self) -> dict[str, Any]:
        """The object as JSON-ready builtins (unset fields left out)."""
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result
