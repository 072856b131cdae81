"""Every call written for the published inferencesh 0.36 binds on ours: no ``TypeError``.

``signatures_036.py`` runs under the published client's interpreter (``.venvs/published``) and
lists the parameters of every public callable of 0.36: the module-level functions and classes
of its public modules, their methods, and the namespaces of the clients (``client.tasks``,
...). Each is looked up at the same path in ours and compared: a keyword 0.36 takes that we
reject, a positional slot that moved, a parameter we require that 0.36 did not, an ``async``
that became sync (or back), or a name that is gone, is a failure naming the callable and the
parameter. The few differences kept on purpose are in ``ALLOWED``, each with its reason.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from typing import Any

import pytest
from platform_testkit import run_published

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("signatures_036", HERE / "signatures_036.py")
assert _spec is not None and _spec.loader is not None
signatures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(signatures)

# Differences kept on purpose: "<module>:<path>" -> {parameter (or "*" for the callable): why}.
_AWAITABLE = "a plain method returning an awaitable (the answer is queued at once): await works"
_KEY = "answers are keyed by it (a blank one fails DecisionInput, in 0.36 too)"
ALLOWED: dict[str, dict[str, str]] = {
    "inferencesh:ClientToolHandler": {"*": "a type alias for annotations; nobody calls it"},
    "inferencesh:AsyncAgent.approve_tool": {"*": _AWAITABLE},
    "inferencesh:AsyncAgent.reject_tool": {"*": _AWAITABLE},
    "inferencesh:AsyncAgent.submit_tool_result": {"*": _AWAITABLE},
    "inferencesh.api.sockets:SocketTarget": {"*": "a type alias for annotations; nobody calls it"},
    "inferencesh.live:JsonSchema": {"*": "a type alias for annotations; nobody calls it"},
    # Fields 0.36's generated wire types default to "" that the wire cannot do without: what a
    # call, an answer or a file is found by.
    "inferencesh.llm_types_gen:DecisionChoiceOption": {"name": _KEY},
    "inferencesh.llm_types_gen:DecisionChoiceQuestion": {"id": _KEY},
    "inferencesh.llm_types_gen:DecisionNoulQuestion": {"id": _KEY},
    "inferencesh.llm_types_gen:DecisionScoreQuestion": {"id": _KEY},
    "inferencesh.llm_types_gen:FileRef": {
        "uri": "where the file is; the platform fetches it by it"
    },
    "inferencesh.llm_types_gen:ToolCall": {"id": "a tool result names the call it answers by id"},
    "inferencesh.llm_types_gen:ToolCallFunction": {"name": "the function the model calls"},
    "inferencesh.llm_types_gen:ToolFunction": {"name": "the name the model calls the tool by"},
    "inferencesh.models.base:RequiredFileFieldMixin": {
        "file": "required, as its name says (0.36 left it optional, its bug 9)"
    },
}

# Gaps found by this test and not fixed yet: each still fails a 0.36 call. Listed so the test
# guards everything else meanwhile; an entry that no longer differs fails the test (drop it).
# Modules of 0.36 that do not import from ours (none: the 0.36 paths are re-exports, listed in
# docs/migration.md, "0.36 import paths"; test_module_paths_036.py checks their names).
OPEN_MODULES: set[str] = set()
# Callables whose 0.36 calls fail on ours (any parameter): the top-level API's (agents,
# clients, errors, app authoring) all bind now.
OPEN = {
    # Names of the 0.36 module paths with no equivalent in ours
    # (test_module_paths_036.NO_EQUIVALENT).
    "inferencesh.client:StreamManager", "inferencesh.client:StreamManager.connect",
    "inferencesh.client:StreamManager.stop", "inferencesh.client:TaskCallback",
    "inferencesh.client:TaskCallback.on_complete", "inferencesh.client:TaskCallback.on_error",
    "inferencesh.client:TaskCallback.on_update",
}  # fmt: skip

_POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


def incompatibilities(theirs: dict[str, Any] | None, ours: dict[str, Any] | None) -> list[str]:
    """How a call that binds to ``theirs`` (a ``signatures.signature``) can fail on ``ours``:
    one line per parameter."""
    if theirs is None:
        return []
    if ours is None:
        return ["*: ours has no signature Python can read"]
    problems: list[str] = []
    if theirs["coroutine"] != ours["coroutine"]:
        was, now = ("async", "sync") if theirs["coroutine"] else ("sync", "async")
        problems.append(f"*: {was} in 0.36, {now} in ours")
    their_params = theirs["params"]
    our_params = ours["params"]
    by_name = {p[0]: p for p in our_params}
    our_kinds = {p[1] for p in our_params}
    our_positional = [p for p in our_params if p[1] in _POSITIONAL]
    var_positional = "VAR_POSITIONAL" in our_kinds
    var_keyword = "VAR_KEYWORD" in our_kinds
    their_positional = [p for p in their_params if p[1] in _POSITIONAL]
    for name, kind, _ in their_params:
        if kind == "VAR_POSITIONAL" and not var_positional:
            problems.append(f"*{name}: ours takes no extra positional arguments")
        elif kind == "VAR_KEYWORD" and not var_keyword:
            problems.append(f"**{name}: ours takes no extra keyword arguments")
    for slot, (name, kind, _) in enumerate(their_positional):
        if slot < len(our_positional):
            our_name = our_positional[slot][0]
            # A slot renamed in ours binds a 0.36 keyword call only through a keyword-only
            # alias of the old name (the behaviour tests check the alias means the same).
            alias = by_name.get(name)
            renamed = alias is None or alias[1] != "KEYWORD_ONLY"
            if kind == "POSITIONAL_OR_KEYWORD" and our_name != name and renamed:
                problems.append(f"{name}: positional slot {slot} is {our_name!r} in ours")
        elif not var_positional:
            problems.append(f"{name}: positional slot {slot} is not accepted by ours")
    for name, kind, _ in their_params:
        if kind not in ("POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY"):
            continue
        mine = by_name.get(name)
        takes_keyword = mine is not None and mine[1] in ("POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY")
        if not takes_keyword and not var_keyword:
            problems.append(f"{name}: keyword rejected by ours")
    their_names = {p[0]: p for p in their_params}
    for name, kind, has_default in our_params:
        if has_default or kind.startswith("VAR_"):
            continue
        counterpart = their_names.get(name)
        if kind in _POSITIONAL and counterpart is None:
            # A positional-only slot may be renamed: the one in the same slot stands for it.
            position = [p[0] for p in our_params if p[1] in _POSITIONAL].index(name)
            if position < len(their_positional) and their_positional[position][1] == (
                "POSITIONAL_ONLY"
            ):
                counterpart = their_positional[position]
        if counterpart is None or counterpart[2]:
            problems.append(f"{name}: required by ours, not by 0.36")
    return problems


@pytest.fixture(scope="module")
def published_surface(published_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    script = (HERE / "signatures_036.py").read_text()
    return run_published(published_python, script, [], tmp_path_factory.mktemp("signatures"))


def _our_signature(module: str, path: list[str]) -> dict[str, Any] | None:
    return signatures.signature(signatures.lookup(module, path))  # type: ignore[no-any-return]


def test_every_036_callable_binds_the_same_arguments_on_ours(published_surface: Any) -> None:
    assert published_surface["version"] == "0.36.0", "the published venv is not 0.36.0"
    callables = published_surface["callables"]
    assert len(callables) > 300, f"the walk found only {len(callables)} callables"
    failures: list[str] = []
    used: set[str] = set()
    for key, entry in sorted(callables.items()):
        if entry["module"] in OPEN_MODULES:
            continue  # checked by test_every_036_module_and_alias_imports
        allowed = ALLOWED.get(key, {})
        try:
            ours = _our_signature(entry["module"], entry["path"])
        except LookupError as exc:
            problems = [f"*: {exc}"]
        else:
            problems = incompatibilities(entry["signature"], ours)
        for problem in problems:
            param = problem.split(":", 1)[0].lstrip("*") or "*"
            if param in allowed or (problem.startswith("*:") and "*" in allowed):
                used.add(f"{key} {param if param in allowed else '*'}")
            elif key in OPEN:
                used.add(key)
            else:
                failures.append(f"{key} {problem}")
    listed = {f"{key} {param}" for key, params in ALLOWED.items() for param in params}
    stale = sorted((listed | (OPEN & callables.keys())) - used)
    assert not failures, "0.36 calls that fail on ours:\n" + "\n".join(failures)
    assert not stale, "ALLOWED/OPEN entries that no longer differ (drop them):\n" + "\n".join(stale)


def test_every_036_module_and_alias_imports(published_surface: Any) -> None:
    missing = []
    found = set()
    for module in published_surface["modules"]:
        try:
            signatures.lookup(module, [])
        except LookupError as exc:
            if module not in OPEN_MODULES:
                missing.append(str(exc))
        else:
            found.add(module)
    for module, path in published_surface["aliases"]:
        key = f"{module}:{'.'.join(path)}"
        if module in OPEN_MODULES:
            continue
        try:
            signatures.lookup(module, path)
        except LookupError as exc:
            if key not in OPEN:
                missing.append(f"{key}: {exc}")
        else:
            if key in OPEN and key not in published_surface["callables"]:
                missing.append(f"{key} imports now: drop it from OPEN")
    assert not missing, "0.36 import paths missing in ours:\n" + "\n".join(missing)
    stale = sorted(OPEN_MODULES & found)
    assert not stale, f"OPEN_MODULES that import now (drop them): {stale}"


# -- the comparison itself, on signatures written here --------------------------------------


def _sig(func: Any) -> dict[str, Any]:
    result: dict[str, Any] = signatures.signature(func)
    return result


def _f036(params: Any, *, wait: bool = True, auto_reconnect: bool = True) -> None: ...


@pytest.mark.parametrize(
    ("ours", "expected"),
    [
        (lambda params, *, wait=True, auto_reconnect=True, extra=1: None, []),
        (lambda params, *, wait=True: None, ["auto_reconnect: keyword rejected by ours"]),
        (lambda params, **kw: None, []),
        (
            lambda data, *, wait=True, auto_reconnect=True: None,
            [
                "params: positional slot 0 is 'data' in ours",
                "params: keyword rejected by ours",
                "data: required by ours, not by 0.36",
            ],
        ),
        (
            lambda params, *, wait=True, auto_reconnect=True, must: None,
            ["must: required by ours, not by 0.36"],
        ),
        (lambda *, wait=True, auto_reconnect=True, **kw: None, ["params: positional slot 0 is not accepted by ours"]),
        (lambda data=None, *, params=None, wait=True, auto_reconnect=True: None, []),
        (
            lambda data=None, params=None, *, wait=True, auto_reconnect=True: None,
            ["params: positional slot 0 is 'data' in ours"],
        ),
    ],
)  # fmt: skip
def test_the_comparison_names_each_incompatibility(ours: Any, expected: list[str]) -> None:
    assert incompatibilities(_sig(_f036), _sig(ours)) == expected


def test_the_comparison_sees_async_turned_sync() -> None:
    async def theirs(task_id: str) -> None: ...

    def ours(task_id: str) -> None: ...

    assert incompatibilities(_sig(theirs), _sig(ours)) == ["*: async in 0.36, sync in ours"]
    assert inspect.iscoroutinefunction(theirs)
