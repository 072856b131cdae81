"""The parameters of every public callable of an installed ``inferencesh``, as JSON.

Run as a script by the published 0.36 client's interpreter (``walk``: it finds the callables),
and imported by ``test_signature_parity_036.py``, which looks the same paths up in ours
(``lookup``) and compares. Standard library only: it runs under either interpreter.

A callable is named by its module and a path of attributes from it: ``["Inference", "run"]``;
the step ``"()"`` makes an instance (a client with a dummy key, no request), so
``["Inference", "()", "tasks", "run"]`` is the ``run`` of the client's ``tasks`` namespace.
Each callable's signature is a list of ``[name, kind, has_default]`` (``kind`` as in
``inspect.Parameter``), plus whether it is a coroutine function.

What is walked: the public modules (no ``_`` in the dotted name); in each, the names of its
``__all__`` or, without one, the public names defined in it; of those, functions and classes
(not enums, TypedDicts or exceptions' internals: constructors and public methods only, from
the SDK's own classes in the MRO); and the namespaces of the client classes. Each object is
walked once, under the first path that reaches it (the package ``inferencesh`` first); its
other public paths are listed as aliases, which must import too.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import pkgutil
import sys
from typing import Any

CLIENTS = ("Inference", "AsyncInference")
NAMESPACES = ("tasks", "files", "sessions", "agents", "sockets")
# The instance made by the "()" step: keyword arguments both clients take; no request is made.
DUMMY_CLIENT = {"api_key": "sk-signature-walk", "base_url": "http://127.0.0.1:9"}
_CALLED_DUNDERS = ("__init__", "__call__")


def _public_modules(package: Any) -> list[str]:
    names = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names, key=lambda name: (name.count("."), name))


def _exported(module: Any) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
        ]
    return sorted(dict.fromkeys(names))


def _is_data_type(value: Any) -> bool:
    """Enums and TypedDicts: called with values, not arguments worth a signature."""
    if isinstance(value, type) and issubclass(value, enum.Enum):
        return True
    return isinstance(value, type) and hasattr(value, "__total__") and issubclass(value, dict)


def signature(value: Any) -> dict[str, Any] | None:
    """``{"params": [[name, kind, has_default], ...], "coroutine": bool}``, or ``None`` where
    Python cannot tell (some builtins)."""
    try:
        sig = inspect.signature(value)
    except (TypeError, ValueError):
        return None
    params = [
        [p.name, p.kind.name, p.default is not inspect.Parameter.empty]
        for p in sig.parameters.values()
    ]
    # Awaited (``await f()``); an async generator function is iterated like any function
    # returning an async iterator, so it is not marked.
    coroutine = inspect.iscoroutinefunction(getattr(value, "__func__", value))
    return {"params": params, "coroutine": coroutine}


def _own_methods(cls: type) -> list[str]:
    """Public methods (and ``__init__``/``__call__``) defined by the SDK's classes in the MRO."""
    names: dict[str, None] = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("inferencesh"):
            continue
        for name, raw in vars(klass).items():
            if name.startswith("_") and name not in _CALLED_DUNDERS:
                continue
            if isinstance(raw, (staticmethod, classmethod)) or inspect.isfunction(raw):
                names[name] = None
    return sorted(names)


def walk(package_name: str = "inferencesh") -> dict[str, Any]:
    """Every public callable of the installed package: ``{"modules": [...], "names": {module:
    [public name, ...]}, "callables": {key: {"module", "path", "signature"}}, "aliases":
    [[module, path], ...]}``."""
    package = importlib.import_module(package_name)
    callables: dict[str, Any] = {}
    aliases: list[list[Any]] = []
    seen: dict[int, str] = {}
    # The namespaces' methods are walked on the clients' instances (below), where they are
    # called; the classes themselves only for their constructors.
    namespaces: set[type] = set()
    clients = [getattr(package, name)(**DUMMY_CLIENT) for name in CLIENTS]
    for client in clients:
        namespaces.update(
            type(getattr(client, name)) for name in NAMESPACES if hasattr(client, name)
        )

    def add(module: str, path: list[str], value: Any) -> None:
        key = f"{module}:{'.'.join(path)}"
        first = seen.get(id(value))
        if first is not None:
            if first != key:
                aliases.append([module, path])
            return
        seen[id(value)] = key
        callables[key] = {"module": module, "path": path, "signature": signature(value)}

    modules = _public_modules(package)
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in _exported(module):
            value = getattr(module, name, None)
            if value is None or _is_data_type(value):
                continue
            if inspect.isclass(value):
                known = id(value) in seen
                add(module_name, [name], value)
                if known or value in namespaces:
                    continue
                for method in _own_methods(value):
                    if method in _CALLED_DUNDERS[:1]:
                        continue  # the class's own signature stands for __init__
                    add(module_name, [name, method], getattr(value, method))
            elif callable(value):
                add(module_name, [name], value)
    for client_name, client in zip(CLIENTS, clients, strict=True):
        for namespace in NAMESPACES:
            holder = getattr(client, namespace, None)
            if holder is None:
                continue
            for method in _own_methods(type(holder)):
                if method not in _CALLED_DUNDERS:
                    path = [client_name, "()", namespace, method]
                    callables[f"{package_name}:{'.'.join(path)}"] = {
                        "module": package_name,
                        "path": path,
                        "signature": signature(getattr(holder, method)),
                    }
    return {
        "version": package.__version__,
        "modules": modules,
        "names": {name: _exported(importlib.import_module(name)) for name in modules},
        "callables": callables,
        "aliases": aliases,
    }


def lookup(module: str, path: list[str]) -> Any:
    """The object at ``module`` then ``path``; raises ``LookupError`` saying which step failed."""
    try:
        value: Any = importlib.import_module(module)
    except ImportError as exc:
        raise LookupError(f"module {module} does not import: {exc}") from exc
    for step in path:
        if step == "()":
            value = value(**DUMMY_CLIENT)
            continue
        if not hasattr(value, step):
            raise LookupError(f"{step!r} missing")
        value = getattr(value, step)
    return value


if __name__ == "__main__":
    json.dump(walk(*sys.argv[1:2]), sys.stdout)
    print()
