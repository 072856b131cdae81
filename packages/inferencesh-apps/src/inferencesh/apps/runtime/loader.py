"""Loading an app directory: ``inference.py`` (with its relative imports), ``inf.yml`` and ``App``."""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from inferencesh.apps.runtime.functions import (
    AppFunction,
    Binding,
    UnservableFunctionError,
    bind_setup,
    default_function_name,
    discover_functions,
    setup_model_of,
)
from pydantic import BaseModel

__all__ = ["AppLoadError", "LoadedApp", "load_app"]

ENTRYPOINT = "inference.py"
MANIFEST = "inf.yml"


class AppLoadError(Exception):
    """The app directory cannot be loaded; the message says what is wrong and where."""


@dataclass
class LoadedApp:
    """An imported app: its directory, manifest, module, ``App`` class and functions."""

    directory: Path
    name: str
    manifest: dict[str, Any]
    module: types.ModuleType
    app_class: type
    setup_model: type[BaseModel] | None
    setup_binding: Binding | None
    functions: dict[str, AppFunction]
    default_function: str


def load_app(directory: str | Path) -> LoadedApp:
    """Import the app in ``directory`` and discover its functions.

    ``inference.py`` is imported as a module of a package made for the directory, so relative
    imports (``from .helpers import x``) work, and the directory is put on ``sys.path`` so
    absolute imports of sibling modules work too. Raises :class:`AppLoadError`.
    """
    folder = Path(directory).expanduser().resolve()
    if folder.is_file():
        raise AppLoadError(f"{folder} is a file; give the app directory that holds it")
    if not folder.is_dir():
        raise AppLoadError(f"app directory not found: {folder}")
    entry = folder / ENTRYPOINT
    if not entry.is_file():
        raise AppLoadError(f"{folder} has no {ENTRYPOINT} (the app's entrypoint)")
    manifest = _read_manifest(folder / MANIFEST)
    module = _import_entrypoint(folder)
    app_class = getattr(module, "App", None)
    if not isinstance(app_class, type):
        raise AppLoadError(f"{entry} defines no `App` class")
    try:
        setup_model = setup_model_of(app_class, module)
        setup_binding = bind_setup(app_class, module)
        functions = discover_functions(app_class, module)
    except UnservableFunctionError as exc:  # already names the file and line
        raise AppLoadError(str(exc)) from exc
    except TypeError as exc:
        raise AppLoadError(f"{entry}: {exc}") from exc
    if not functions:
        raise AppLoadError(
            f"{entry}: `App` has no functions: define `run(self, input_data)` or a public method "
            "whose input and return are annotated with pydantic models"
        )
    default = manifest.get("default_function") or default_function_name(functions)
    if not isinstance(default, str) or default not in functions:
        raise AppLoadError(
            f"{folder / MANIFEST}: default_function {default!r} is not a function of the app "
            f"(functions: {', '.join(functions)})"
        )
    name = manifest.get("name")
    return LoadedApp(
        directory=folder,
        name=name if isinstance(name, str) and name else folder.name,
        manifest=manifest,
        module=module,
        app_class=app_class,
        setup_model=setup_model,
        setup_binding=setup_binding,
        functions=functions,
        default_function=default,
    )


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise AppLoadError(f"{path} cannot be read as UTF-8: {exc}") from exc
    except OSError as exc:
        raise AppLoadError(f"{path} cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise AppLoadError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AppLoadError(f"{path} must be a mapping of keys, got {type(data).__name__}")
    return data


def _package_name(folder: Path) -> str:
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:10]
    slug = re.sub(r"\W", "_", folder.name) or "app"
    return f"_inferencesh_app_{slug}_{digest}"


def _import_entrypoint(folder: Path) -> types.ModuleType:
    package_name = _package_name(folder)
    # A fresh import every time: loading the same directory again gives fresh app state.
    for name in [n for n in sys.modules if n == package_name or n.startswith(package_name + ".")]:
        del sys.modules[name]
    _forget_app_modules(folder)
    package = types.ModuleType(package_name, f"the app in {folder}")
    package.__path__ = [str(folder)]
    package.__file__ = None
    package.__package__ = package_name
    sys.modules[package_name] = package
    # First on the path, so `import helpers` finds this app's helpers.py before another's.
    while str(folder) in sys.path:
        sys.path.remove(str(folder))
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        return importlib.import_module(f"{package_name}.inference")
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise AppLoadError(_import_failure(folder, exc)) from exc


# Every app folder loaded in this process: modules imported from them are the apps' own.
_app_folders: set[str] = set()


def _forget_app_modules(folder: Path) -> None:
    """Drop the cached modules that are an app folder's own files (this app's or another's), so
    absolute sibling imports (``import helpers``) load this app's files, as they are now.

    A module counts when its top-level name is a file or package directly in an app folder
    (``<folder>/helpers.py``, ``<folder>/utils/...``): never the standard library or installed
    packages, even from a virtual environment kept inside the folder.
    """
    _app_folders.add(str(folder))
    for name, module in list(sys.modules.items()):
        try:
            origin = getattr(module, "__file__", None)
            places = [origin] if isinstance(origin, str) else list(getattr(module, "__path__", []))
        except Exception:  # noqa: BLE001 - an odd module object is not ours to judge
            continue
        top = name.partition(".")[0]
        if places and all(_is_app_file(place, top) for place in places):
            sys.modules.pop(name, None)


def _is_app_file(place: object, top: str) -> bool:
    if not isinstance(place, str):
        return False
    for root in _app_folders:
        own = os.path.join(root, top)
        if place in (own, own + ".py") or place.startswith(own + os.sep):
            return True
    return False


def _import_failure(folder: Path, exc: BaseException) -> str:
    """``importing .../inference.py failed: Error: message (at file, line n)`` and the traceback
    of the app's own frames: importlib's frames say nothing to authors."""
    report = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if not _is_import_machinery(frame.filename)]
    )
    # A syntax error's message already names its file and line.
    inside = [f for f in report.stack if Path(f.filename).is_relative_to(folder)]
    where = ""
    if inside and not isinstance(exc, SyntaxError):
        where = f" (at {inside[-1].filename}, line {inside[-1].lineno})"
    details = "".join(report.format()).rstrip()
    return f"importing {folder / ENTRYPOINT} failed: {type(exc).__name__}: {exc}{where}\n{details}"


def _is_import_machinery(filename: str) -> bool:
    return "importlib" in filename or filename == __file__
