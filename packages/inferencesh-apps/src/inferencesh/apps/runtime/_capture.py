"""Capture of what app code writes (stdout, stderr, ``logging``) into the current run's log.

``sys.stdout`` is process-global, so while at least one run is active both streams are replaced
by routers. A write goes to the log of the run whose context it comes from (a context variable,
which asyncio tasks and the runtime's worker threads inherit); a write from a thread the app
started itself (no context) goes to the single active run; anything else (the server's own
output) goes to the original stream. A worker runs one app call at a time, so this is exact there.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import TextIO

__all__ = ["LogCollector", "capturing", "current_collector"]


class LogCollector:
    """Turns written text into whole log lines handed to ``emit`` (thread-safe)."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        """Add raw text; complete lines are emitted at once, the rest waits for a newline.

        A carriage return rewrites its line, as on a terminal: progress bars that redraw with
        ``\r`` leave only their last state.
        """
        if not text:
            return
        with self._lock:
            text = self._pending + text
            head, sep, tail = text.rpartition("\n")
            self._pending = tail
            if sep:
                self._emit("\n".join(_last_state(line) for line in head.split("\n")))

    def line(self, text: str) -> None:
        """Emit ``text`` as its own entry (``metadata.log``), after any pending partial line."""
        self.flush()
        self._emit(text.rstrip("\n"))

    def flush(self) -> None:
        """Emit a pending partial line, if any."""
        with self._lock:
            pending, self._pending = self._pending, ""
        pending = _last_state(pending)
        if pending:
            self._emit(pending)


def _last_state(line: str) -> str:
    """What a terminal would show for ``line``: the text after its last carriage return."""
    if "\r" not in line:
        return line
    parts = [part for part in line.rstrip("\r").split("\r") if part]
    return parts[-1] if parts else ""


_current: ContextVar[LogCollector | None] = ContextVar("inferencesh_log_collector", default=None)
# The collector of the one active run, for writes from threads the app started itself.
_fallback: list[LogCollector] = []
_state_lock = threading.Lock()
_active = 0
_owner_thread: int | None = None
_originals: tuple[TextIO, TextIO] | None = None
_handler: _CaptureHandler | None = None


def current_collector() -> LogCollector | None:
    """The collector a write from here would go to, or ``None``."""
    collector = _current.get()
    if collector is not None:
        return collector
    if _fallback and threading.get_ident() != _owner_thread:
        return _fallback[-1]
    return None


class _Router(io.TextIOBase):
    def __init__(self, original: TextIO) -> None:
        self.original = original

    def write(self, text: str) -> int:
        collector = current_collector()
        if collector is None:
            return self.original.write(text)
        collector.write(text)
        return len(text)

    def flush(self) -> None:
        if current_collector() is None:
            self.original.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", None) or "utf-8"

    def fileno(self) -> int:
        return self.original.fileno()

    def __getattr__(self, name: str) -> object:
        # Anything else (`buffer`, `errors`, ...) is the original stream's.
        return getattr(self.original, name)


class _CaptureHandler(logging.Handler):
    """Sends log records made inside a run to its log; outside runs, warnings go to stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            collector = current_collector()
            if collector is not None:
                collector.line(self.format(record))
            elif record.levelno >= logging.WARNING and len(logging.getLogger().handlers) == 1:
                # We are the root's only handler, so logging's last-resort handler is bypassed.
                original = _originals[1] if _originals else sys.__stderr__
                if original is not None:
                    original.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise into app code
            self.handleError(record)


class capturing:
    """Context manager: route this context's writes to ``collector`` while it is active.

    ``fallback=True`` also routes writes from threads without a run context (threads the app
    started) to it. Set from the event loop's thread.
    """

    def __init__(self, collector: LogCollector, *, fallback: bool = False) -> None:
        self._collector = collector
        self._fallback = fallback
        self._token: object = None

    def __enter__(self) -> LogCollector:
        _acquire()
        self._token = _current.set(self._collector)
        if self._fallback:
            with _state_lock:
                _fallback.append(self._collector)
        return self._collector

    def __exit__(self, *exc: object) -> None:
        self._collector.flush()
        if self._fallback:
            with _state_lock:
                if self._collector in _fallback:
                    _fallback.remove(self._collector)
        _current.reset(self._token)  # type: ignore[arg-type]
        _release()


def _acquire() -> None:
    global _active, _owner_thread, _originals, _handler
    with _state_lock:
        _active += 1
        if _active > 1:
            return
        _owner_thread = threading.get_ident()
        _originals = (sys.stdout, sys.stderr)
        sys.stdout = _router(0, sys.stdout)
        sys.stderr = _router(1, sys.stderr)
        if _handler is None:
            _handler = _CaptureHandler()
            _handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(_handler)


def _router(slot: int, original: TextIO) -> _Router:
    """The router over ``original``, made once and reused by every later run (stateless)."""
    router = _routers[slot]
    if router is None or router.original is not original:
        router = _routers[slot] = _Router(original)
    return router


# The stdout and stderr routers of the last runs, kept: a run only swaps them in and out.
_routers: list[_Router | None] = [None, None]


def _release() -> None:
    global _active, _owner_thread, _originals
    with _state_lock:
        _active -= 1
        if _active > 0:
            return
        if _originals is not None:
            # Only undo our own replacement; someone may have swapped the streams since.
            if isinstance(sys.stdout, _Router):
                sys.stdout = _originals[0]
            if isinstance(sys.stderr, _Router):
                sys.stderr = _originals[1]
        if _handler is not None:
            logging.getLogger().removeHandler(_handler)
        _originals = None
        _owner_thread = None
