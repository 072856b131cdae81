"""``@function``: per-function metadata of a multi-function app (credentials and tool hints).

Any public typed method of an app is a function (see :mod:`inferencesh.apps.runtime.functions`);
``@function`` adds what the schema alone cannot say: the credentials the function needs and
MCP-style tool annotations. Function discovery writes both into the app's function schema
(``functions_schema.json``, ``GET /schema``) next to the function's ``kind``, ``capabilities``
and description.

Declarations are checked when the class body runs, so a typo fails at import with the offending
entry named, never at deploy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict, TypeVar, overload

__all__ = [
    "FUNCTION_ATTRIBUTE",
    "CredentialRequirement",
    "ToolAnnotations",
    "function",
    "function_meta",
    "normalize_credentials",
]

F = TypeVar("F", bound=Callable[..., Any])

FUNCTION_ATTRIBUTE = "__inferencesh_function__"
"""The attribute ``@function`` sets on the method (the same name as in the published SDK)."""


class ToolAnnotations(TypedDict, total=False):
    """Hints for agents and UIs about what a function does (the MCP tool annotations)."""

    title: str
    readOnlyHint: bool | None
    destructiveHint: bool | None
    idempotentHint: bool | None
    openWorldHint: bool | None


class CredentialRequirement(TypedDict, total=False):
    """One credential a function needs, in its normalised form (see :func:`normalize_credentials`)."""

    slug: str
    capabilities: list[str]
    description: str
    optional: bool
    secrets: list[str]
    scopes: list[str]
    provider: dict[str, Any] | None
    auth: dict[str, Any] | None


_ENTRY_KEYS = (
    "slug",
    "capabilities",
    "description",
    "optional",
    "secrets",
    "scopes",
    "provider",
    "auth",
)
_LEGACY_KEYS = ("key", "name", "website")
_PROVIDER_KEYS = (
    "slug",
    "name",
    "description",
    "website",
    "logo_uri",
    "docs_uri",
    "tos_uri",
    "policy_uri",
)
_HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
_EMPTY = "; omit credentials to use the app-wide list from inf.yml"


def _fail(where: str, message: str, error: type[Exception] = ValueError) -> Exception:
    # `where` names the bad value: a path under `@function` ("credentials[0]"), or a whole label
    # given by the caller ("@function(generate)", as 0.36's `where=` reads).
    label = where if where.startswith("@") else f"@function {where}"
    return error(f"{label}: {message}")


def _strings(value: Any, where: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _fail(where, f"expected a list of strings, got {type(value).__name__}", TypeError)
    for item in value:
        if not isinstance(item, str) or not item:
            raise _fail(where, f"expected non-empty strings, got {item!r}", TypeError)
    return list(value)


def _capability_slug(capability: str, where: str) -> str:
    slug, dot, name = capability.partition(".")
    if not (slug and dot and name):
        raise _fail(where, f"capability {capability!r} is not <slug>.<name>")
    return slug


def _provider(value: Any, legacy: dict[str, Any], where: str) -> dict[str, Any] | None:
    if value is None and not legacy:
        return None
    if isinstance(value, str):
        value = None  # a bare provider string names the slug (handled by the caller)
    provider = dict(value or {})
    if not isinstance(value, (Mapping, type(None))):
        raise _fail(f"{where}.provider", f"expected a dict, got {type(value).__name__}", TypeError)
    provider.update(legacy)
    unknown = sorted(set(provider) - set(_PROVIDER_KEYS))
    if unknown:
        raise _fail(f"{where}.provider", f"unknown keys {unknown}; allowed: {list(_PROVIDER_KEYS)}")
    return {key: provider[key] for key in _PROVIDER_KEYS if key in provider}


def _entry(raw: Any, where: str, keyed_slug: str | None = None) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"capabilities": [raw]} if "." in raw else {"slug": raw}
    elif raw is None and keyed_slug is not None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _fail(where, f"expected a dict or a slug, got {type(raw).__name__}", TypeError)
    unknown = sorted(set(raw) - set(_ENTRY_KEYS) - set(_LEGACY_KEYS))
    if unknown:
        raise _fail(where, f"unknown keys {unknown}; allowed: {list(_ENTRY_KEYS)}")
    data = dict(raw)
    capabilities = _strings(data["capabilities"], where) if "capabilities" in data else []
    key = data.pop("key", None)
    if isinstance(key, str) and key:
        if "." in key:
            capabilities.append(key)
        else:
            data.setdefault("slug", key)
    for capability in capabilities:
        _capability_slug(capability, where)
    provider_value = data.get("provider")
    slug = data.get("slug") or keyed_slug
    if isinstance(provider_value, str):
        if slug and slug != provider_value:
            raise _fail(where, f"slug {slug!r} and provider {provider_value!r} disagree")
        slug = slug or provider_value
    if keyed_slug is not None and data.get("slug") not in (None, keyed_slug):
        raise _fail(where, f"entry says slug {data['slug']!r} but is keyed as {keyed_slug!r}")
    if not slug and capabilities:
        slug = _capability_slug(capabilities[0], where)
    if not slug:
        raise _fail(
            where,
            "set 'slug' (the credential slug, like 'slack') or a capability under 'capabilities'",
        )
    legacy = {k: data.pop(k) for k in ("name", "website") if k in data}
    entry: dict[str, Any] = {"slug": slug}
    if capabilities:
        entry["capabilities"] = capabilities
    for name in ("description", "optional"):
        if name in data:
            entry[name] = data[name]
    for name in ("secrets", "scopes"):
        if name in data:
            entry[name] = _strings(data[name], f"{where}.{name}")
    provider = _provider(provider_value, legacy, where)
    if provider:
        entry["provider"] = provider
    if data.get("auth") is not None:
        entry["auth"] = data["auth"]
    return entry


def normalize_credentials(
    credentials: Any, where: str = "credentials"
) -> list[CredentialRequirement]:
    """The credentials of ``@function(credentials=...)`` as a list of entries
    ``{slug, capabilities?, description?, optional?, secrets?, scopes?, provider?, auth?}``.

    Accepted forms: a dict keyed by slug (``{"slack": {"capabilities": [...]}}``), a list of
    entries, bare slugs (``"aikido-mcp"``), dotted capabilities (``"slack.chat.write"``: slug
    ``slack``), and the older keys ``provider`` (a slug string), ``key`` (a capability or a
    slug), ``name`` and ``website`` (the provider's). Raises ``TypeError``/``ValueError`` naming
    the bad entry; ``where`` names the declaration in those messages (``"credentials"`` under
    ``@function``, or a whole label starting with ``@`` such as ``"@function(generate)"``).

    Example:
        >>> from inferencesh.apps.function_meta import normalize_credentials
        >>> normalize_credentials(["slack.chat.write", "aikido-mcp"])
        [{'slug': 'slack', 'capabilities': ['slack.chat.write']}, {'slug': 'aikido-mcp'}]
    """
    if isinstance(credentials, Mapping):
        if not credentials:
            raise _fail(where, "empty" + _EMPTY)
        return [
            _entry(value, f"{where}[{slug!r}]", keyed_slug=str(slug))  # type: ignore[misc]
            for slug, value in credentials.items()
        ]
    if isinstance(credentials, Sequence) and not isinstance(credentials, (str, bytes)):
        if not credentials:
            raise _fail(where, "empty list" + _EMPTY)
        return [_entry(raw, f"{where}[{i}]") for i, raw in enumerate(credentials)]  # type: ignore[misc]
    raise _fail(
        where,
        f"expected a dict keyed by slug or a list of entries, got {type(credentials).__name__}",
        TypeError,
    )


def _annotations(annotations: Any) -> ToolAnnotations:
    if not isinstance(annotations, Mapping):
        raise _fail("annotations", f"expected a dict, got {type(annotations).__name__}", TypeError)
    unknown = sorted(set(annotations) - {"title", *_HINTS})
    if unknown:
        raise _fail("annotations", f"unknown keys {unknown}; allowed: {['title', *_HINTS]}")
    result: dict[str, Any] = {}
    if "title" in annotations:
        if not isinstance(annotations["title"], str):
            raise _fail("annotations.title", "expected a string", TypeError)
        result["title"] = annotations["title"]
    for hint in _HINTS:
        value = annotations.get(hint)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise _fail(
                f"annotations.{hint}", f"expected a bool, got {type(value).__name__}", TypeError
            )
        result[hint] = value
    return result  # type: ignore[return-value]


@overload
def function(fn: F, /) -> F: ...
@overload
def function(
    *, credentials: Any = None, annotations: ToolAnnotations | Mapping[str, Any] | None = None
) -> Callable[[F], F]: ...
def function(
    fn: F | None = None,
    /,
    *,
    credentials: Any = None,
    annotations: ToolAnnotations | Mapping[str, Any] | None = None,
) -> F | Callable[[F], F]:
    """Mark an app method as a function and attach its metadata.

    ``credentials`` are what the function needs (see :func:`normalize_credentials`; omitted,
    the app-wide list from ``inf.yml`` applies); ``annotations`` are tool hints (``title``,
    ``readOnlyHint``, ``destructiveHint``, ``idempotentHint``, ``openWorldHint``; ``None`` hints
    are dropped). The method is returned unchanged, so it can still be called directly. Usable
    bare (``@function``) or called (``@function(...)``).

    Example:
        >>> from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, function
        >>> class Query(BaseAppInput):
        ...     text: str
        >>> class Answer(BaseAppOutput):
        ...     text: str
        >>> class App(BaseApp):
        ...     @function(credentials=["slack.chat.write"], annotations={"readOnlyHint": True})
        ...     async def post(self, input_data: Query) -> Answer:
        ...         '''Post a message to Slack.'''
        ...         return Answer(text=input_data.text)
        >>> App.post.__inferencesh_function__["annotations"]
        {'readOnlyHint': True}
    """
    meta: dict[str, Any] = {}
    if credentials is not None:
        meta["credentials"] = normalize_credentials(credentials)
    if annotations is not None:
        meta["annotations"] = _annotations(annotations)

    def mark(method: F) -> F:
        if not callable(method):
            raise _fail("target", f"expected a function, got {type(method).__name__}", TypeError)
        setattr(method, FUNCTION_ATTRIBUTE, dict(meta))
        return method

    return mark(fn) if fn is not None else mark


def function_meta(method: Any) -> dict[str, Any] | None:
    """What ``@function`` attached to ``method`` (``None`` when it is not decorated)."""
    meta = getattr(method, FUNCTION_ATTRIBUTE, None)
    return meta if isinstance(meta, dict) else None
