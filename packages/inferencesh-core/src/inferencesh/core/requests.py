"""Request bodies: what a client sends to the platform, as msgspec Structs carrying the rules
both ends check.

The client builds these and encodes them (``client.run(params)`` converts its params into a
``RunRequest``; ``client.agent(config)`` builds an ``AgentConfig``), and the local platform decodes
the request bodies it receives into the very same types. A body one end refuses, the other
refuses too, with the same words.

The rules sit on the fields (``msgspec.Meta``: patterns for names and refs, ranges, lengths; the
``description`` says in words what a field takes) and, where they span fields, in the struct's
``__post_init__``. ``convert_request`` (from builtins) and ``decode_request`` (from JSON bytes)
turn any failure into a :class:`RequestError` that names the field's path and the rule:

    >>> from inferencesh.core.requests import RequestError, RunRequest, convert_request
    >>> try:
    ...     convert_request({"app": "a/b", "session": "new", "session_timeout": 0}, RunRequest)
    ... except RequestError as exc:
    ...     print(exc.location(), "|", exc.reason)
    session_timeout | must be a whole number of seconds from 1 to 3600, got 0

Like every wire type, unknown fields are ignored when decoding (newer clients send more) and
fields left at their default are omitted when encoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import inspect as mi

from inferencesh.core._struct import WireStruct

__all__ = [
    "AGENT_REF_PATTERN",
    "APP_REF_PATTERN",
    "FILE_CATEGORIES",
    "SESSION_TIMEOUT_RANGE",
    "TOOL_NAME_PATTERN",
    "AgentConfig",
    "AgentMessageInput",
    "AgentRef",
    "AgentRunRequest",
    "AgentTool",
    "AgentToolConfig",
    "AlwaysAllowRequest",
    "AppRef",
    "AppToolConfig",
    "CancelTaskRequest",
    "ClientToolConfig",
    "CoreAppConfig",
    "FileCreateRequest",
    "FileRef",
    "FunctionName",
    "HTTPToolConfig",
    "HookToolConfig",
    "HttpUrl",
    "ImageGenerationConfig",
    "InternalToolsConfig",
    "MCPToolConfig",
    "PartialFile",
    "RequestError",
    "RunRequest",
    "SessionRef",
    "SessionTimeout",
    "SkillConfig",
    "ToolAuthConfig",
    "ToolName",
    "ToolRejectRequest",
    "ToolResultRequest",
    "ToolType",
    "convert_request",
    "decode_request",
]

T = TypeVar("T")

# ---- the shared rules ---------------------------------------------------------------------------

APP_REF_PATTERN = r"^\S+$"
"""An app ref to run, as the field's pattern: no spaces. Its form, ``[type/][namespace/]name
[@version][:function]``, is checked by ``RunRequest`` with a reason naming the part that is
wrong (an empty version, ...)."""

AGENT_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(?:@[A-Za-z0-9._-]+)?$"
"""A ref inside an agent (its LLM app, an app or agent tool) and a template agent's ref:
``namespace/name`` with an optional ``@version``."""

TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""A tool name, as LLM function names allow: 1-64 letters, digits, ``_`` or ``-``."""

SESSION_TIMEOUT_RANGE = (1, 3600)
"""The idle timeout a new session may ask for, in seconds (both ends included)."""

FILE_CATEGORIES = ("uploads", "inputs", "outputs", "repos")
"""The storage categories of ``POST /files`` (``uploads`` when none is given)."""

AppRef = Annotated[
    str,
    msgspec.Meta(
        pattern=APP_REF_PATTERN,
        max_length=512,
        description="a non-empty string naming an app, such as 'namespace/name@version' "
        "(no spaces)",
    ),
]
FunctionName = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$",
        description="the name of a function of the app (letters, digits and '_')",
    ),
]
SessionRef = Annotated[
    str,
    msgspec.Meta(pattern=r"^\S{1,256}$", description="'new' or a session id"),
]
SessionTimeout = Annotated[
    int,
    msgspec.Meta(
        ge=SESSION_TIMEOUT_RANGE[0],
        le=SESSION_TIMEOUT_RANGE[1],
        description="a whole number of seconds from "
        f"{SESSION_TIMEOUT_RANGE[0]} to {SESSION_TIMEOUT_RANGE[1]}",
    ),
]
HttpUrl = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^https?://\S", max_length=8192, description="an http:// or https:// URL"
    ),
]
_Timestamp = Annotated[
    str, msgspec.Meta(description="an ISO 8601 timestamp such as 2026-02-24T15:30:00Z")
]
_Milliseconds = Annotated[
    float, msgspec.Meta(ge=0, description="a number of milliseconds, 0 or more")
]
_Bytes = Annotated[int, msgspec.Meta(ge=0, description="a number of bytes, 0 or more")]
_Category = Literal["uploads", "inputs", "outputs", "repos"]


# ---- errors ------------------------------------------------------------------------------------

PathPart = str | int
"""One step of a field path: a field name or a list index (``"..."`` for some dict entry)."""


class RequestError(ValueError):
    """A request body that breaks a rule of its wire type.

    ``path`` is where (``("tools", 0, "name")``, empty for the body itself), ``reason`` what is
    wrong (``"must be 1-64 letters, digits, '_' or '-', got 'a b'"``) and ``detail`` msgspec's
    own message when it found the problem. ``str(error)`` is the place then the reason:
    ``tools[0].name must be ...``; each end may name the place its own way with
    :meth:`located` (the client says ``params['app']``, the platform ```app```).
    """

    def __init__(
        self,
        path: Iterable[PathPart],
        reason: str,
        detail: str = "",
        *,
        where: str | None = None,
    ) -> None:
        self.path: tuple[PathPart, ...] = tuple(path)
        self.reason = reason
        self.detail = detail
        self.where = where
        shown = (self.location() or "the body") if where is None else where
        super().__init__(f"{shown} {reason}")

    @property
    def json_path(self) -> str:
        """The path as msgspec writes it: ``$.tools[0].name``."""
        return self.location("$")

    def location(self, root: str = "") -> str:
        """The path as dotted text under ``root``: ``agent_config.tools[0].name``."""
        text = root
        for part in self.path:
            if isinstance(part, int):
                text += f"[{part}]"
            elif part == "...":
                text += "[...]"
            else:
                text += f".{part}" if text else part
        return text

    def subscripts(self, root: str) -> str:
        """The path as Python subscripts under ``root``: ``params['input']['image']``."""
        text = root
        for part in self.path:
            text += "[...]" if part == "..." else f"[{part!r}]"
        return text

    def located(self, where: str) -> RequestError:
        """The same error with its place named ``where`` in the message."""
        return RequestError(self.path, self.reason, self.detail, where=where)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.path, self.reason, self.detail, self.where))


def _rebuild(
    path: tuple[PathPart, ...], reason: str, detail: str, where: str | None
) -> RequestError:
    return RequestError(path, reason, detail, where=where)


# Patterns of msgspec's messages, compiled on the first failure (``re`` caches them): a
# module-level ``re.compile`` would cost every import of the client.
_AT = r"^(?P<message>.*?)(?: - at (?:`key` in )?`(?P<path>\$[^`]*)`)?$"
_STEP = r"\.([^.\[]+)|\[(\d+)\]|\[(\.\.\.)\]"
_EXPECTED = r"^Expected `(?P<types>[^`]+)`(?:, got `(?P<got>[^`]+)`)?(?P<rest>.*)$"
_MISSING = r"^Object missing required field `(?P<field>[^`]+)`$"
_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
}


def _path_of(text: str | None) -> tuple[PathPart, ...]:
    if not text:
        return ()
    parts: list[PathPart] = []
    for name, index, anything in re.findall(_STEP, text[1:]):
        parts.append(name or (int(index) if index else anything))
    return tuple(parts)


def _value_at(source: Any, path: tuple[PathPart, ...]) -> tuple[bool, Any]:
    value = source
    for part in path:
        if isinstance(part, int):
            found = isinstance(value, (list, tuple)) and 0 <= part < len(value)
        else:
            found = part != "..." and isinstance(value, dict) and part in value
        if not found:
            return False, None
        value = value[part]
    return True, value


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _members(info: mi.Type) -> list[mi.Type]:
    return list(info.types) if isinstance(info, mi.UnionType) else [info]


def _bare(info: mi.Type) -> mi.Type:
    return info.type if isinstance(info, mi.Metadata) else info


def _step(info: mi.Type, part: PathPart) -> mi.Type | None:
    for member in map(_bare, _members(_bare(info))):
        if isinstance(member, mi.StructType) and isinstance(part, str):
            for field in member.fields:
                if field.encode_name == part:
                    return field.type
        elif isinstance(member, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
            if isinstance(part, int):
                return member.item_type
        elif isinstance(member, mi.DictType):
            return member.value_type
    return None


def _describe(info: mi.Type | None) -> str | None:
    """What the field at ``info`` takes, in words: its ``description``, or its allowed values."""
    for member in _members(info) if info is not None else []:
        if isinstance(member, mi.Metadata):
            description = (member.extra_json_schema or {}).get("description")
            if isinstance(description, str):
                return description
            member = member.type
        if isinstance(member, mi.LiteralType):
            return "one of " + ", ".join(str(v) for v in member.values)
        if isinstance(member, mi.EnumType):
            return "one of " + ", ".join(str(m.value) for m in member.cls)
    return None


def _expected_words(types: str, rest: str) -> str:
    names = [t.strip() for t in types.split("|") if t.strip() != "null"] or ["null"]
    words = " or ".join(_TYPE_WORDS.get(n, f"`{n}`") for n in names)
    rest = rest.strip()
    if rest.startswith("of length"):
        unit = "items" if "array" in names else "characters"
        op, _, bound = rest.removeprefix("of length").strip().partition(" ")
        amount = {">=": "at least", "<=": "at most", ">": "more than", "<": "fewer than"}
        return f"{words} with {amount.get(op, op)} {bound} {unit}"
    if rest.startswith("matching regex"):
        return f"{words} {rest.replace('matching regex', 'matching the pattern', 1)}"
    return f"{words} {rest}".strip()


def _from_validation(
    exc: msgspec.ValidationError, type_: Any, source: Callable[[], Any]
) -> RequestError:
    text = str(exc)
    match = re.match(_AT, text, re.S)
    message = match.group("message") if match else text
    path = _path_of(match.group("path") if match else None)
    cause = exc.__cause__
    if isinstance(cause, RequestError):  # a rule across fields, raised by a __post_init__
        return RequestError(path + cause.path, cause.reason, text)
    if match and " - at `key` in " in text:
        return RequestError(path, "has a key that is not a string", text)
    missing = re.match(_MISSING, message)
    if missing:
        path += (missing.group("field"),)
        hint = _describe(_info_at(type_, path))
        return RequestError(path, "is required" + (f": {hint}" if hint else ""), text)
    try:
        found, value = _value_at(source(), path)
    except Exception:  # noqa: BLE001 - the value only adds to the message
        found, value = False, None
    got = f", got {_shown(value)}" if found else ""
    hint = _describe(_info_at(type_, path))
    if hint is not None:
        return RequestError(path, f"must be {hint}{got}", text)
    expected = re.match(_EXPECTED, message)
    if expected:
        words = _expected_words(expected.group("types"), expected.group("rest"))
        if not got and expected.group("got"):
            got = f", got {_TYPE_WORDS.get(expected.group('got'), expected.group('got'))}"
        return RequestError(path, f"must be {words}{got}", text)
    return RequestError(path, f"is invalid: {message}", text)


def _info_at(type_: Any, path: tuple[PathPart, ...]) -> mi.Type | None:
    info: mi.Type | None = mi.type_info(type_)
    for part in path:
        if info is None:
            return None
        info = _step(info, part)
    return info


def convert_request(obj: Any, type_: type[T]) -> T:
    """``obj`` (builtins: dicts, lists, strings, ...) as ``type_``; :class:`RequestError` when a
    rule is broken. Values of ``Any`` fields (a run's ``input``) are kept as they are."""
    try:
        result: T = msgspec.convert(obj, type_)
    except msgspec.ValidationError as exc:
        raise _from_validation(exc, type_, lambda: obj) from None
    except RecursionError:
        raise RequestError((), "nests too deeply") from None
    return result


_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decode_request(data: bytes | str, type_: type[T]) -> T:
    """A JSON request body as ``type_``; :class:`RequestError` when it is not JSON or breaks a
    rule (a body that nests too deeply included)."""
    decoder = _DECODERS.get(type_)
    if decoder is None:
        decoder = _DECODERS[type_] = msgspec.json.Decoder(type_)
    try:
        result: T = decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise _from_validation(exc, type_, lambda: msgspec.json.decode(data)) from None
    except msgspec.DecodeError as exc:
        raise RequestError((), f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestError((), "nests too deeply") from None
    return result


# ---- tasks and files ----------------------------------------------------------------------------


def _ref_problem(ref: str) -> str | None:
    """What is wrong with an app ref's form (``None`` when nothing is)."""
    rest, colon, function = ref.partition(":")
    rest, at, version = rest.partition("@")
    *prefixes, name = rest.split("/")
    if len(prefixes) > 2:
        return "has too many '/'-separated parts"
    parts = [("name", name), *(("namespace", p) for p in prefixes)]
    parts += [("version", version)] * bool(at) + [("function", function)] * bool(colon)
    for label, value in parts:
        if not value:
            return f"has an empty {label}"
        if "@" in value or ":" in value:
            return f"has a {label} {value!r} with '@' or ':' in it"
    return None


class RunRequest(WireStruct):
    """The body of ``POST /apps/run`` (``ApiAppRunRequest``).

    ``app`` (or the older ``app_id``) is required; ``input`` is always sent (``{}`` when not
    given); ``session_timeout`` goes only with ``session="new"``; ``run_at`` is a zoned ISO 8601
    time; ``stream`` and ``wait`` do not go together.
    """

    app: AppRef | None = None
    app_id: AppRef | None = None
    """The app by id (older clients); ``app`` wins when both are given."""
    version_id: str | None = None
    variant: str | None = None
    input: dict[str, Any] | None = None
    setup: dict[str, Any] | None = None
    function: FunctionName | None = None
    infra: str | None = None
    """``cloud``, ``private`` or ``private_first`` on the cloud; the local platform runs locally."""
    workers: list[str] | None = None
    webhook: HttpUrl | None = None
    session: SessionRef | None = None
    session_timeout: SessionTimeout | None = None
    run_at: _Timestamp | None = None
    metadata: dict[str, Any] | None = None
    stream: bool | None = None
    wait: bool | None = None

    def __post_init__(self) -> None:
        if self.app is None and self.app_id is None:
            raise RequestError(("app",), "is required: an app ref such as 'namespace/name@version'")
        for field in ("app", "app_id"):
            ref = getattr(self, field)
            problem = None if ref is None else _ref_problem(ref)
            if problem is not None:
                raise RequestError(
                    (field,),
                    f"{problem} (the form is [namespace/]name[@version][:function]), got {ref!r}",
                )
        if self.session_timeout is not None and self.session != "new":
            raise RequestError(("session_timeout",), "is only valid together with session = 'new'")
        if self.stream and self.wait:
            raise RequestError(("wait",), "cannot be true together with stream")
        if self.run_at == "":
            self.run_at = None
        _ = self.run_at_time  # refuses a run_at that is not a zoned time
        if self.input is None:
            self.input = {}

    @property
    def ref(self) -> str:
        """The app ref to run: ``app``, else ``app_id``."""
        return self.app or self.app_id or ""

    @property
    def run_at_time(self) -> datetime | None:
        """``run_at`` as an aware UTC time (``None`` when not given)."""
        if self.run_at is None:
            return None
        # Loaded on first use: the client's import does not pay for the parser.
        from inferencesh.core._time import parse_rfc3339

        try:
            when = parse_rfc3339(self.run_at)
        except ValueError:
            raise RequestError(
                ("run_at",),
                f"must be an ISO 8601 timestamp such as 2026-02-24T15:30:00Z, got {self.run_at!r}",
            ) from None
        if when.tzinfo is None:
            raise RequestError(
                ("run_at",),
                f"needs a time zone (Z or an offset such as +02:00), got {self.run_at!r}",
            )
        return when.astimezone(timezone.utc)


class CancelTaskRequest(WireStruct):
    """The optional body of ``POST /tasks/{id}/cancel``; ``timeout`` is in milliseconds."""

    force: bool | None = None
    timeout: _Milliseconds | None = None


class PartialFile(WireStruct, omit_defaults=False):
    """One file announced to ``POST /files`` before its bytes are uploaded.

    Encoded with every key (``"uri": ""``, nulls included), as the platform's clients send it.
    """

    uri: str = ""
    filename: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    content_type: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    path: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    size: _Bytes | None = None
    public: bool | None = None


class FileCreateRequest(WireStruct):
    """The body of ``POST /files``: the files to create (1 to 256) and their storage category
    (one of ``FILE_CATEGORIES``; ``uploads`` when not given)."""

    files: Annotated[
        list[PartialFile],
        msgspec.Meta(
            min_length=1,
            max_length=256,
            description="a list of 1 to 256 files ({filename, content_type, size})",
        ),
    ]
    category: _Category | None = None


# ---- agents ------------------------------------------------------------------------------------


# The agents' bodies (``AgentConfig``, its tools, ``AgentRunRequest``, ...) live in
# ``agent_requests`` and load on first use: the core client never sends them, and building their
# types was a fifth of its import time. They are still exported from here.
def __getattr__(name: str) -> Any:
    # Dunder probes (copy, pickle, doctest) never load the agents' module.
    if not name.startswith("__"):
        from inferencesh.core import agent_requests

        if name in agent_requests.__all__:
            value = getattr(agent_requests, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover - static view for type checkers and IDEs
    from inferencesh.core.agent_requests import (
        AgentConfig,
        AgentMessageInput,
        AgentRef,
        AgentRunRequest,
        AgentTool,
        AgentToolConfig,
        AlwaysAllowRequest,
        AppToolConfig,
        ClientToolConfig,
        CoreAppConfig,
        FileRef,
        HookToolConfig,
        HTTPToolConfig,
        ImageGenerationConfig,
        InternalToolsConfig,
        MCPToolConfig,
        SkillConfig,
        ToolAuthConfig,
        ToolName,
        ToolRejectRequest,
        ToolResultRequest,
        ToolType,
    )
