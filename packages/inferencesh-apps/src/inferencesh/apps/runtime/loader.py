"""Loading an app directory: ``inference.py`` (with its relative imports), ``inf.yml`` and ``App``."""

from __future__ import annotations

import hashlib
import importlib
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
    except TypeError as exc:
        raise AppLoadError(f"{entry}: {exc}") from exc
    if not functions:
        raise AppLoadError(
            f"{entry}: `App` has no functions: define `run(self, input_data)` or a public method "
            "whose input and return are annotated with pydantic models"
        )
    default = manifest.get("default_function") or default_function_name(functions)
    if default not in functions:
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
    package = types.ModuleType(package_name, f"the app in {folder}")
    package.__path__ = [str(folder)]
    package.__file__ = None
    package.__package__ = package_name
    sys.modules[package_name] = package
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        return importlib.import_module(f"{package_name}.inference")
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        details = "".join(traceback.format_exception(type(exc), exc, _skip_import_frames(exc)))
        raise AppLoadError(
            f"importing {folder / ENTRYPOINT} failed: {type(exc).__name__}: {exc}\n{details}"
        ) from exc


def _skip_import_frames(exc: BaseException) -> types.TracebackType | None:
    """The traceback from the app's first frame on (importlib's frames say nothing to authors)."""
    tb = exc.__traceback__
    while tb is not None and (
        "importlib" in tb.tb_frame.f_code.co_filename or tb.tb_frame.f_code.co_filename == __file__
    ):
        tb = tb.tb_next
    return tb or exc.__traceback__
