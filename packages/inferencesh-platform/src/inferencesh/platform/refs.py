"""App references: parsing ``[ns/]name[@version][:function]``, aliases, and the local app a ref names.

One resolver serves ``POST /apps/run`` and the agent loop, so a ref means the same everywhere on
the platform. Aliases map refs written for the cloud (``infsh/flux-schnell@latest``) to local
apps (``local/image-generation``); they come from alias files (``inferencesh dev --aliases FILE``)
and from an ``aliases.yaml`` (or ``.yml``/``.json``) in any agents directory. Files are re-read
when they change, so edits apply without a restart.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml
from inferencesh.platform.config import AppEntry

__all__ = [
    "Alias",
    "AliasError",
    "Aliases",
    "AppRef",
    "AppResolver",
    "RefError",
    "Resolved",
    "UnknownAppError",
    "load_alias_file",
    "parse_ref",
]

ALIAS_FILE_NAMES = ("aliases.yaml", "aliases.yml", "aliases.json")
_SEGMENT = re.compile(r"[^\s/@:]+")


class RefError(ValueError):
    """An app ref that does not parse; the message says which part is wrong."""


class AliasError(ValueError):
    """An alias file that is unreadable or invalid; the message names the file and line or key."""


class UnknownAppError(LookupError):
    """A ref that names no served app; the message lists the apps and aliases there are."""


@dataclasses.dataclass(frozen=True)
class AppRef:
    """A parsed app ref: ``[namespace/]name[@version][:function]``."""

    name: str
    namespace: str | None = None
    version: str | None = None
    function: str | None = None

    @property
    def base(self) -> str:
        """``namespace/name`` (or ``name`` when there is no namespace)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def app(self) -> str:
        """The ref without its function: ``[namespace/]name[@version]``."""
        return f"{self.base}@{self.version}" if self.version else self.base

    def __str__(self) -> str:
        return f"{self.app}:{self.function}" if self.function else self.app


def parse_ref(text: str) -> AppRef:
    """Parse ``[ns/]name[@version][:function]``; :class:`RefError` says what is malformed."""
    raw = text.strip()
    if not raw:
        raise RefError("app ref is empty")
    rest, colon, function = raw.partition(":")
    rest, at, version = rest.partition("@")
    namespace, slash, name = rest.rpartition("/")
    parts = [("name", name, True), ("namespace", namespace, bool(slash))]
    parts += [("version", version, bool(at)), ("function", function, bool(colon))]
    for label, value, present in parts:
        if not present:
            continue
        if not value:
            raise RefError(f"app ref {text!r} has an empty {label}")
        if not _SEGMENT.fullmatch(value):
            raise RefError(
                f"app ref {text!r}: {label} {value!r} must not contain spaces, '/', '@' or ':'"
                " (the form is [namespace/]name[@version][:function])"
            )
    return AppRef(name, namespace or None, version or None, function or None)


def _key(ref: AppRef, *, versioned: bool) -> str:
    # Refs match case-insensitively: local app names are lowercase (see config._app_name).
    return (ref.app if versioned else ref.base).lower()


@dataclasses.dataclass(frozen=True)
class Alias:
    """One alias: refs matching ``source`` run ``target``; ``origin`` is ``file:line``."""

    source: AppRef
    target: AppRef
    origin: str


def _alias(path: Path, where: str, key: str, value: str) -> tuple[str, Alias]:
    try:
        source = parse_ref(key)
    except RefError as exc:
        raise AliasError(f"{where}: alias {key!r}: {exc}") from None
    if source.function:
        raise AliasError(f"{where}: alias {key!r} names a function; an alias maps an app ref")
    if not value.strip():
        raise AliasError(f"{where}: alias {key!r} has no target (expected an app ref)")
    try:
        target = parse_ref(value)
    except RefError as exc:
        raise AliasError(f"{where}: alias {key!r}: target {exc}") from None
    return _key(source, versioned=True), Alias(source, target, where)


def _yaml_aliases(path: Path, text: str) -> dict[str, Alias]:
    # Composed, not loaded, so every error can point at the line it is on.
    try:
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise AliasError(f"{where}: not valid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise AliasError(f"{path}: not valid YAML: {exc}") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise AliasError(
            f"{path}:{root.start_mark.line + 1}: expected a mapping of app refs to app refs"
        )
    table: dict[str, Alias] = {}
    for key_node, value_node in root.value:
        where = f"{path}:{key_node.start_mark.line + 1}"
        if not isinstance(key_node, yaml.ScalarNode) or not isinstance(value_node, yaml.ScalarNode):
            raise AliasError(f"{where}: each entry must be `cloud/ref: local/app` (two strings)")
        key, alias = _alias(path, where, str(key_node.value), str(value_node.value))
        if key in table:
            raise AliasError(
                f"{where}: alias {key_node.value!r} is repeated (first at line "
                f"{table[key].origin.rsplit(':', 1)[1]})"
            )
        table[key] = alias
    return table


def _json_aliases(path: Path, text: str) -> dict[str, Alias]:
    try:
        data = json.loads(text, object_pairs_hook=list)
    except ValueError as exc:
        raise AliasError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise AliasError(f"{path}: expected an object mapping app refs to app refs")
    table: dict[str, Alias] = {}
    for key, value in data:
        where = f"{path}: key {key!r}"
        if not isinstance(value, str):
            raise AliasError(f"{where}: the target must be a string app ref, not {value!r:.60}")
        norm, alias = _alias(path, where, key, value)
        if norm in table:
            raise AliasError(f"{where}: alias is repeated")
        table[norm] = dataclasses.replace(alias, origin=str(path))
    return table


def load_alias_file(path: Path) -> dict[str, Alias]:
    """The aliases in one file (YAML, or JSON for ``*.json``), keyed by normalized source ref."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AliasError(f"{path}: cannot read the alias file: {exc}") from None
    return _json_aliases(path, text) if path.suffix == ".json" else _yaml_aliases(path, text)


class Aliases:
    """The alias table from ``files`` (each must exist) and any alias file in ``dirs``.

    Later sources win: first the agents directories' files, then ``files`` in order.
    """

    def __init__(self, files: Sequence[Path] = (), dirs: Sequence[Path] = ()) -> None:
        self.files = [Path(f) for f in files]
        self.dirs = [Path(d) for d in dirs]
        self._cache: dict[Path, tuple[tuple[int, int], dict[str, Alias]]] = {}

    def sources(self) -> list[Path]:
        """The alias files in effect now, lowest precedence first."""
        found = [d / n for d in self.dirs for n in ALIAS_FILE_NAMES if (d / n).is_file()]
        return found + self.files

    def _load(self, path: Path) -> dict[str, Alias]:
        try:
            st = path.stat()
        except OSError as exc:
            raise AliasError(f"{path}: cannot read the alias file: {exc.strerror or exc}") from None
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        table = load_alias_file(path)
        self._cache[path] = (stamp, table)
        return table

    def table(self) -> dict[str, Alias]:
        """All aliases, keyed by normalized source ref (``ns/name`` or ``ns/name@version``)."""
        merged: dict[str, Alias] = {}
        for path in self.sources():
            merged.update(self._load(path))
        return merged

    def apply(self, ref: AppRef) -> tuple[AppRef, list[Alias]]:
        """``ref`` with aliases applied (chains followed), and the aliases used on the way.

        A versioned alias (``ns/name@1``) is tried before the unversioned one; the ref's own
        ``:function`` wins over one in the target.
        """
        table = self.table()
        used: list[Alias] = []
        seen = {_key(ref, versioned=True)}
        while True:
            alias = table.get(_key(ref, versioned=True)) or table.get(_key(ref, versioned=False))
            if alias is None:
                return ref, used
            used.append(alias)
            ref = dataclasses.replace(alias.target, function=ref.function or alias.target.function)
            if _key(ref, versioned=True) in seen:
                chain = " -> ".join([str(used[0].source), *(str(a.target) for a in used)])
                raise AliasError(f"aliases form a cycle: {chain} ({used[-1].origin})")
            seen.add(_key(ref, versioned=True))


@dataclasses.dataclass(frozen=True)
class Resolved:
    """What a ref resolved to: the local app, the function it selects, and the aliases used."""

    app: AppEntry
    function: str | None
    ref: AppRef
    via: tuple[Alias, ...] = ()


class AppResolver:
    """Finds the local app a ref names: aliases first, then the app's name.

    ``local/<name>``, ``<name>`` and ``ns/name@version`` all name the local app ``<name>``; the
    namespace and version are ignored once no alias matches.
    """

    def __init__(self, apps: Iterable[AppEntry], aliases: Aliases | None = None) -> None:
        self.apps = {app.name: app for app in apps}
        self.aliases = aliases or Aliases()

    def resolve(self, ref: str) -> Resolved:
        """The local app for ``ref``: :class:`RefError`, :class:`AliasError` or
        :class:`UnknownAppError` say what went wrong."""
        parsed = parse_ref(ref)
        target, used = self.aliases.apply(parsed)
        app = self.apps.get(target.name.lower())
        if app is None:
            via = f" (alias of {target}, {used[-1].origin})" if used else ""
            raise UnknownAppError(f"app {ref!r}{via} is not served here ({self.listing()})")
        return Resolved(app, target.function, target, tuple(used))

    def listing(self) -> str:
        """The served apps and the aliases, for error messages."""
        apps = ", ".join(sorted(a.ref for a in self.apps.values())) or "none"
        try:
            aliases = [f"{a.source} -> {a.target}" for a in self.aliases.table().values()]
        except AliasError as exc:
            aliases = [f"unavailable: {exc}"]
        return f"available: {apps}; aliases: {', '.join(sorted(aliases)) or 'none'}"
