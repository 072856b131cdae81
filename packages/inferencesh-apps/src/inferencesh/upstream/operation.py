"""``Operation``: one vendor operation, and how an app's input becomes its request.

``Operation.build(input)`` is pure: it returns the request as ``httpx`` keyword arguments
(``url``, ``params``, ``headers``, and ``json``, ``data`` or ``files``), without auth.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from inferencesh.upstream.errors import UpstreamError

__all__ = ["BODY_KINDS", "Operation"]

BODY_KINDS = ("json", "form", "multipart", "none")
# Methods that may carry no body: an input with nothing left for the body sends none.
_BODILESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# Fields of an app's output model that are never part of a vendor request.
_NOT_SENT = ("output_meta",)


@dataclass(frozen=True)
class Operation:
    """How one input model becomes one request.

    Parameter names are wire names (the input model's aliases, when it has them). The input's
    fields named in ``path_params`` fill ``{name}`` in ``path``, those in ``query_params`` and
    ``header_params`` go to the query and the headers, and the rest form the body (``body``:
    ``json``, ``form``, ``multipart`` or ``none``), unless ``body_field`` names the one field
    that is the whole body. Unset and ``None`` fields are left out.

    Example:
        >>> from inferencesh.upstream import Operation
        >>> op = Operation(
        ...     name="create_image", method="POST", path="/projects/{project}/images",
        ...     path_params=["project"], query_params=["async"],
        ... )
        >>> op.build({"project": "a b", "async": True, "prompt": "A cat", "seed": None})
        {'url': '/projects/a%20b/images', 'params': {'async': 'true'}, 'json': {'prompt': 'A cat'}}
    """

    name: str
    method: str
    path: str
    path_params: Sequence[str] = ()
    query_params: Sequence[str] = ()
    header_params: Sequence[str] = ()
    body: str = "json"
    body_field: str = ""
    auth: str = ""
    annotations: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, Any] | None = None
    summary: str = ""

    def build(self, input: Any) -> dict[str, Any]:
        """The request as ``httpx`` keyword arguments: ``url``, ``params``, ``headers`` and
        ``json`` / ``data`` (with ``files`` for multipart).

        ``input`` is a pydantic model (dumped by alias, unset and ``None`` fields left out),
        a mapping or ``None``. A path parameter that is missing, empty, ``.`` or ``..`` raises
        ``UpstreamError``: it would address another resource.
        """
        if self.body not in BODY_KINDS:
            raise UpstreamError(f"{self.name}: body must be one of {BODY_KINDS}, not {self.body!r}")
        values = _fields(input)
        request: dict[str, Any] = {"url": self._url(values)}
        params = {k: _query_value(values.pop(k)) for k in self.query_params if k in values}
        if params:
            request["params"] = params
        headers = {k: str(values.pop(k)) for k in self.header_params if k in values}
        if headers:
            request["headers"] = headers
        request.update(self._body(values))
        return request

    def _url(self, values: dict[str, Any]) -> str:
        url = self.path
        for name in self.path_params:
            value = values.pop(name, None)
            text = "" if value is None else str(value)
            if text in ("", ".", ".."):
                problem = "is required" if value is None or text == "" else f"may not be {text!r}"
                raise UpstreamError(f"{self.name}: path parameter {name!r} {problem}")
            url = url.replace("{" + name + "}", quote(text, safe=""))
        return url

    def _body(self, values: dict[str, Any]) -> dict[str, Any]:
        if self.body == "none":
            return {}
        if self.body_field:
            return {"json": values[self.body_field]} if self.body_field in values else {}
        if self.body == "json":
            if not values and self.method.upper() in _BODILESS:
                return {}
            return {"json": values}
        if self.body == "form":
            return {"data": values}
        files = {k: v for k, v in values.items() if _is_file_part(v)}
        data = {k: v for k, v in values.items() if k not in files}
        return {"data": data, "files": files} if files else {"data": data}


def _fields(input: Any) -> dict[str, Any]:
    """The input's set, non-``None`` fields by wire name, without the output-only ones."""
    if input is None:
        return {}
    dump = getattr(input, "model_dump", None)
    if callable(dump):
        values = dict(dump(by_alias=True, exclude_unset=True, exclude_none=True))
    elif isinstance(input, Mapping):
        values = {str(k): v for k, v in input.items() if v is not None}
    else:
        raise UpstreamError(f"an operation's input is a model or a mapping, not {type(input)}")
    for name in _NOT_SENT:
        values.pop(name, None)
    return values


def _query_value(value: Any) -> Any:
    """A query value as vendors read it: ``true``/``false``, objects as JSON, lists repeated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return [_query_value(item) for item in value]
    return value


def _is_file_part(value: Any) -> bool:
    """Whether a multipart value is a file: bytes, a readable object or an httpx file tuple."""
    if isinstance(value, bytes | bytearray) or hasattr(value, "read"):
        return True
    return (
        isinstance(value, tuple)
        and 2 <= len(value) <= 4
        and isinstance(value[0], str | None)
        and (isinstance(value[1], bytes | bytearray | str) or hasattr(value[1], "read"))
    )
