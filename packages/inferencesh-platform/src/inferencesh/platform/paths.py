"""Host files and the API: which local paths a request may name, and which files an app's
output may turn into served files.

* An input (or setup) value naming a local file (``file:///x`` anywhere; a field whose value is
  a ``{"path": "/x"}`` object or the absolute path of something on this host) is refused unless
  it lies under a folder the operator allowed (``--allow-path``). The client uploads local files
  itself, so its inputs never carry host paths.
* An output file is served only when the task produced it: it lies in the worker's own home
  (its ``TMPDIR``) or the app's own folder, or it was created or changed during the run
  (``ctime``, which app code cannot set back). Never a file of the data directory, never a
  host file that was there before the run.

Example:
    >>> from pathlib import Path
    >>> from inferencesh.platform.paths import local_paths
    >>> local_paths({"a": "file:///etc/hosts", "b": [{"path": "/x/y"}], "c": "/imagine a cat"})
    ['/etc/hosts', '/x/y']
    >>> local_paths({"doc": "/etc/hosts", "chat": {"messages": [{"text": "/etc/hosts"}]}})
    ['/etc/hosts']
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

from inferencesh.platform.errors import PlatformError

__all__ = ["check_input_paths", "local_paths", "produced_by_task"]

_CLOCK_SLACK = 0.05  # file times come from a coarser clock than time.time()


def _as_path(value: str) -> str | None:
    if value.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlsplit(value).path) or "/"
    if value.startswith("/") and "\n" not in value and len(value) < 4096:
        # Only a path that names something here: "/imagine a cat" is a prompt.
        return value if os.path.lexists(value) else None
    return None


def local_paths(value: Any) -> list[str]:
    """The local host paths a JSON value names, in order (see the module's rules).

    ``file://`` URLs count at any depth; a bare absolute path or a ``{"path": "/..."}`` object
    only as a field's own value (``{"doc": "/x"}``, ``{"docs": [{"path": "/x"}]}``), where a
    file input takes it: deeper inside a value (a chat's messages, a tool call's arguments) it
    is data.
    """
    found: list[str] = []
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            path = _as_path(item) if item.startswith("file://") or depth <= 2 else None
            if path is not None:
                found.append(path)
        elif isinstance(item, dict):
            raw = item.get("path")
            if isinstance(raw, str) and raw.startswith("/") and not item.get("uri") and depth <= 2:
                found.append(raw)
            children = [(v, depth + 1) for k, v in item.items() if k != "path"]
            pending.extend(reversed(children))
        elif isinstance(item, list):
            pending.extend(reversed([(v, depth + 1) for v in item]))
    return found


def _under(path: str, roots: list[Path]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real == root or root in real.parents for root in roots)


def check_input_paths(value: Any, allowed: list[Path], where: str) -> None:
    """Raise a 403 naming the first local path in ``value`` outside the ``allowed`` roots."""
    roots = [Path(os.path.realpath(root)) for root in allowed]
    for path in local_paths(value):
        if not _under(path, roots):
            hint = (
                "start inferencesh dev with --allow-path <folder> to serve a folder's files"
                if not roots
                else "allowed folders: " + ", ".join(str(r) for r in roots)
            )
            raise PlatformError(
                403,
                "forbidden_path",
                f"`{where}` names the local path {path}, which this server does not read: "
                f"upload the file instead (the client does this for local paths), or {hint}",
            )


def produced_by_task(path: Path, since: float, own: list[Path], data_dir: Path) -> bool:
    """Whether ``path`` is a file the task may return: not in ``data_dir``, and in one of the
    ``own`` folders or created or changed since ``since`` (a ``time.time()``)."""
    real = Path(os.path.realpath(path))
    if _under(str(real), [Path(os.path.realpath(data_dir))]):
        return False
    if _under(str(real), [Path(os.path.realpath(p)) for p in own]):
        return True
    try:
        return real.stat().st_ctime >= since - _CLOCK_SLACK
    except OSError:
        return False
