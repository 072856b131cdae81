"""Template agents defined in local files.

An agents directory holds one file per agent, ``<name>.yaml`` / ``<name>.yml`` / ``<name>.json``,
whose keys are an ad-hoc agent config (``system_prompt``, ``core_app``, ``tools``, ``skills``,
``internal_tools``, ``output_schema``, ...) plus optional ``name`` (default: the file name) and
``namespace`` (default ``local``). The agent is referenced as ``<namespace>/<name>`` with an
optional ``@version`` suffix, which is accepted and ignored (a file has one version).

A file named ``aliases.yaml`` (or ``aliases.yml``/``aliases.json``) in an agents directory is not an
agent: it maps app refs (``infsh/claude-sonnet-4``) to local apps (``local/scripted-model``), so
configs written for the cloud run unchanged on one machine. The platform reads and applies those
files with its other alias files, in :mod:`inferencesh.platform.refs`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from inferencesh.platform.refs import ALIAS_FILE_NAMES, RefError, parse_ref

_SUFFIXES = (".yaml", ".yml", ".json")


class TemplateError(ValueError):
    """A template agent file or reference is invalid."""


def split_ref(ref: str) -> tuple[str, str]:
    """``"ns/name@ver"`` -> ``("ns", "name")``; a bare name means namespace ``local``."""
    try:
        parsed = parse_ref(ref)
    except RefError as exc:
        raise TemplateError(f"agent reference {ref!r}: {exc}") from None
    return (parsed.namespace or "local", parsed.name)


def _load_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read agent file {path}: {exc}") from exc


def _files(dirs: Iterable[Path]) -> Iterable[Path]:
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.suffix in _SUFFIXES and path.name not in ALIAS_FILE_NAMES and path.is_file():
                yield path


class TemplateRegistry:
    """Looks up template agents in the agents directories (read on each use, so edits to the
    files apply to the next chat without a restart). App refs are not resolved here: the loop
    sends them to ``/apps/run`` as written, whose resolver applies the aliases."""

    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs

    def resolve(self, ref: str) -> dict[str, Any]:
        """The agent config for ``ref``; :class:`TemplateError` names what is wrong."""
        namespace, name = split_ref(ref)
        known: list[str] = []
        for path in _files(self.dirs):
            data = _load_file(path)
            if not isinstance(data, dict):
                raise TemplateError(
                    f"agent file {path} must hold a mapping, not {type(data).__name__}"
                )
            file_name = str(data.get("name") or path.stem)
            file_ns = str(data.get("namespace") or "local")
            known.append(f"{file_ns}/{file_name}")
            if file_name == name and file_ns == namespace:
                config = {k: v for k, v in data.items() if k != "namespace"}
                config["name"] = file_name
                config.setdefault("core_app", None)
                if not isinstance(config["core_app"], dict) or not config["core_app"].get("ref"):
                    raise TemplateError(
                        f"agent file {path} needs core_app.ref (the LLM app to run)"
                    )
                config["_ref"] = f"{file_ns}/{file_name}"
                config["_source"] = str(path)
                return config
        where = ", ".join(str(d) for d in self.dirs) or "(no agents directory configured)"
        listing = ", ".join(known) or "none"
        raise TemplateError(f"agent {ref!r} not found in {where}; known agents: {listing}")
