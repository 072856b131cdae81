"""Whether a run asks for a stream function, decided without importing the app.

The platform must answer a stream function's run with its socket at once, before any worker
has the app loaded, so it reads the app's ``inference.py`` with :mod:`ast`: a method of a
class there named like the function, with a ``socket`` or ``sock`` parameter, is a stream
function. That is the runtime's own rule
(:func:`inferencesh.apps.runtime.functions.function_kind`, which the worker's ``/schema``
reports as ``kind``), read from the source.
"""

from __future__ import annotations

import ast
import functools
import os
import time
from pathlib import Path

from inferencesh.apps.socket import SOCKET_PARAMETERS

__all__ = ["is_stream_function"]


def is_stream_function(app_dir: Path, function: str) -> bool:
    """Whether ``function`` of the app in ``app_dir`` takes a socket (``False`` when the source
    cannot be read or parsed: the run then fails or succeeds as any other would). The file is
    looked at again at most every ``_LOOK_SECONDS`` (every run asks)."""
    path = os.path.join(app_dir, "inference.py")
    now = time.monotonic()
    seen = _seen.get(path)
    if seen is None or now - seen[0] >= _LOOK_SECONDS:
        try:
            stat = os.stat(path)
        except OSError:
            _seen.pop(path, None)
            return False
        seen = _seen[path] = (now, _stream_functions(path, stat.st_mtime_ns, stat.st_size))
    return function in seen[1]


_LOOK_SECONDS = 0.1  # as often as the code watch scans the app at most (sources.py)
_seen: dict[str, tuple[float, frozenset[str]]] = {}  # path: (looked at, its stream functions)


@functools.lru_cache(maxsize=64)
def _stream_functions(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    # Keyed by the file's time and size, so an edit is read again.
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = item.args
                names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
                if names & SOCKET_PARAMETERS:
                    found.add(item.name)
    return frozenset(found)
