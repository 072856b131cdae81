"""The schema document of a loaded app (``GET /schema``) and the schema files ``app schema`` writes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inferencesh.apps._atomic import write_atomic
from inferencesh.apps.runtime.functions import AppFunction
from inferencesh.apps.runtime.loader import LoadedApp
from inferencesh.apps.schema import input_schema, output_schema, setup_schema
from pydantic import BaseModel

__all__ = ["app_schemas", "schema_document", "write_schema_files"]


def _function_schema(fn: AppFunction) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "description": fn.description,
        "input_schema": input_schema(fn.input_model) if fn.input_model else None,
        "output_schema": output_schema(fn.output_model) if fn.output_model else None,
        "capabilities": list(fn.capabilities),
        "kind": fn.kind,
    }
    # What `@function` declared; without it the app-wide lists of inf.yml apply.
    for key in ("credentials", "annotations"):
        if fn.meta and key in fn.meta:
            entry[key] = fn.meta[key]
    return entry


def schema_document(
    functions: Mapping[str, AppFunction],
    setup_model: type[BaseModel] | None,
    default_function: str | None,
) -> dict[str, Any]:
    """``{"input_schema", "output_schema", "setup_schema", "functions"}``.

    Input and output are those of ``default_function`` (``None`` when it is not one of
    ``functions``); ``functions`` maps every function name to ``{"description", "input_schema",
    "output_schema", "capabilities", "kind"}`` plus the ``credentials`` and ``annotations`` its
    ``@function`` declares.
    """
    entries = {name: _function_schema(fn) for name, fn in functions.items()}
    default = entries.get(default_function) if default_function is not None else None
    return {
        "input_schema": default["input_schema"] if default else None,
        "output_schema": default["output_schema"] if default else None,
        "setup_schema": setup_schema(setup_model) if setup_model else None,
        "functions": entries,
    }


def app_schemas(app: LoadedApp) -> dict[str, Any]:
    """The schema document (:func:`schema_document`) of a loaded app, as ``GET /schema`` serves."""
    return schema_document(app.functions, app.setup_model, app.default_function)


def write_schema_files(app: LoadedApp, directory: str | Path | None = None) -> list[Path]:
    """Write ``input_schema.json``, ``output_schema.json``, ``setup_schema.json`` (when the app
    has a setup model; an old one is removed when it has not) and ``functions_schema.json`` into
    ``directory`` (the app's by default).

    Each file is written whole or not at all (temporary file, then rename). Returns the paths.
    """
    target = Path(directory) if directory is not None else app.directory
    document = app_schemas(app)
    files = {
        "input_schema.json": document["input_schema"],
        "output_schema.json": document["output_schema"],
        "setup_schema.json": document["setup_schema"],
        "functions_schema.json": document["functions"],
    }
    written = []
    for name, content in files.items():
        path = target / name
        if content is None:
            # The app no longer has a setup model: a file from before would say it has one.
            path.unlink(missing_ok=True)
            continue
        write_atomic(path, (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode())
        written.append(path)
    return written
