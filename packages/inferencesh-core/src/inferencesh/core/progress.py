"""Opt-in progress for uploads, downloads and waits.

The SDK never prints on its own. Pass a callback where you want progress:

* ``client.upload_file(path, progress=callback)`` (and ``client.files.upload``);
* ``client.run(params, upload_progress=factory)`` for the files ``run`` uploads from its input;
* ``File.aresolve(progress=callback)`` and ``resolve_files(model, progress=factory)`` in
  ``inferencesh-apps``.

A callback is any ``ProgressCallback``: a function of ``(done, total)``, bytes done so far and
the total (``None`` when unknown). ``ProgressBar`` is a ready-made one that draws a single line
on a terminal::

    with ProgressBar("model.bin") as bar:
        client.upload_file("model.bin", progress=bar)

A bar draws only when its stream (``sys.stderr`` by default) is a terminal. On a pipe, a log
file or CI it draws nothing at all, so task logs stay clean. It never raises because its stream
was closed or broken: it stops drawing instead.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import ClassVar, TextIO

__all__ = ["ProgressBar", "ProgressCallback", "ProgressFactory", "StatusLine"]

ProgressCallback = Callable[[int, int | None], None]
"""Called with ``(bytes done, total bytes or None)``; a transfer that restarts (a retry)
reports ``done`` from 0 again."""

ProgressFactory = Callable[[str], ProgressCallback | None]
"""Makes the callback for one transfer from its name (a file name or URL); ``None`` for none.
When the callback has a ``close()`` method, it is called once that transfer has ended."""

_BAR_WIDTH = 20
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")
_LOCK = threading.RLock()  # one lock for every line: bars may be fed from several threads


def human_bytes(count: float) -> str:
    """``count`` bytes in decimal units: ``"999 B"``, ``"1.5 kB"``, ``"12.3 MB"``."""
    value = float(count)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


class _Screen:
    """The bottom line of one text stream, shared by the live lines drawing on it.

    One live line owns the bottom line at a time and redraws it in place; the others wait
    (they keep their state) and print their final line above it when they close, so lines of
    concurrent transfers never overwrite each other.
    """

    _screens: ClassVar[dict[int, _Screen]] = {}  # id(stream) -> screen while a line is open

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.owner: _LiveLine | None = None
        self.shown = ""  # what the bottom line shows now
        self.users = 0
        self.broken = False

    @classmethod
    def acquire(cls, stream: TextIO) -> _Screen:
        with _LOCK:
            screen = cls._screens.get(id(stream))
            if screen is None or screen.stream is not stream:
                screen = cls._screens[id(stream)] = _Screen(stream)
            screen.users += 1
            return screen

    def release(self) -> None:
        with _LOCK:
            self.users -= 1
            if self.users <= 0 and self._screens.get(id(self.stream)) is self:
                del self._screens[id(self.stream)]

    def _write(self, text: str) -> None:
        if self.broken:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # closed or broken stream: progress is never worth a crash
            self.broken = True

    def draw(self, line: _LiveLine, text: str) -> None:
        """Show ``text`` on the bottom line if ``line`` owns it (or nobody does)."""
        with _LOCK:
            if self.owner is None:
                self.owner = line
            if self.owner is not line or text == self.shown:
                return
            self._write("\r" + _pad(text, len(self.shown)))
            self.shown = text

    def finish(self, line: _LiveLine, text: str | None) -> None:
        """End ``line``: print its final ``text`` (if any) as a finished line, then give the
        bottom line back to the owner (redrawn) or to the next line that draws."""
        with _LOCK:
            if text is not None and self.owner is line and text == self.shown:
                self._write("\n")  # already on screen: only move below it
                self.shown = ""
            elif text is not None:
                self._write("\r" + _pad(text, len(self.shown)) + "\n")
                self.shown = ""
            elif self.owner is line and self.shown:
                self._write("\r" + " " * len(self.shown) + "\r")
                self.shown = ""
            if self.owner is line:
                self.owner = None
            elif self.owner is not None and text is not None:
                self.owner.redraw()


def _pad(text: str, previous: int) -> str:
    # Spaces over what the longer previous text left behind; no ANSI codes, so any terminal works.
    return text + " " * max(0, previous - len(text))


def _columns(stream: TextIO) -> int:
    """The terminal's width: ``$COLUMNS``, else the stream's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = 0
    return columns if columns > 0 else 80


def _fit(label: str, tail: str, columns: int) -> str:
    """``label`` and ``tail`` on one line narrower than the terminal (the label is shortened)."""
    room = columns - 1 - len(tail) - 1  # the last column stays free: writing it wraps the line
    if not label or room < 4:
        return tail[: max(columns - 1, 1)]
    if len(label) > room:
        label = label[: room - 1] + "…"
    return f"{label} {tail}"


class _LiveLine:
    """A line redrawn in place on a terminal stream; silent on anything else."""

    def __init__(self, stream: TextIO | None, min_interval: float) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._min_interval = min_interval
        self._last_draw = -float("inf")
        self._closed = False
        self._screen: _Screen | None = None
        if _is_tty(self._stream):
            self._screen = _Screen.acquire(self._stream)

    @property
    def enabled(self) -> bool:
        """Whether this line draws (its stream is a terminal and it is not closed)."""
        return self._screen is not None and not self._closed and not self._screen.broken

    def _render(self, columns: int) -> str:
        raise NotImplementedError

    def _maybe_draw(self, force: bool) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < self._min_interval:
            return
        self._last_draw = now
        self.redraw()

    def redraw(self) -> None:
        """Draw the current state now (unthrottled)."""
        if self.enabled:
            assert self._screen is not None
            self._screen.draw(self, self._fitted())

    def _fitted(self) -> str:
        assert self._screen is not None
        return self._render(_columns(self._screen.stream))

    def close(self) -> None:
        """Finish the line: its final state stays on screen and the cursor moves below it."""
        if self._closed:
            return
        screen = self._screen
        if screen is not None:
            final = self._fitted() if self._has_drawn() else None
            self._closed = True
            screen.finish(self, final)
            screen.release()
        self._closed = True

    def _has_drawn(self) -> bool:
        return self._last_draw != -float("inf")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):  # no isatty, or a closed stream
        return False


class ProgressBar(_LiveLine):
    """A one-line progress bar, usable wherever a ``ProgressCallback`` is taken.

    Shows the label, the percent done, a bar, bytes done and total in human units, and the
    rate, e.g. ``model.bin  42% [########            ] 4.2 MB/10.0 MB 3.1 MB/s``. With an
    unknown total it shows bytes and rate only.

    Args:
        label: what is being transferred (a file name).
        stream: where to draw (default: ``sys.stderr``). Nothing is drawn unless it is a
            terminal (``isatty()``), and nothing raises if it is closed or broken.
        min_interval: the least time in seconds between redraws (default 0.1: at most ten
            redraws a second); a restart and the end always draw.

    Call ``close()`` (or use ``with``) to finish the line. When several bars share a
    terminal (concurrent transfers), one draws live at a time and each leaves its final line.
    A transfer that restarts from 0 (a retried upload) restarts the bar and its rate.

    Example:
        >>> from inferencesh.core import ProgressBar
        >>> with ProgressBar("report.txt") as bar:  # draws on a terminal, silent elsewhere
        ...     file = client.upload_file("report.txt", progress=bar)
        >>> bar.done, bar.total
        (17, 17)
    """

    def __init__(
        self, label: str = "", *, stream: TextIO | None = None, min_interval: float = 0.1
    ) -> None:
        super().__init__(stream, min_interval)
        self.label = label
        self.done = 0
        self.total: int | None = None
        self.restarts = 0
        self._started = time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        """Report ``done`` bytes of ``total`` (``None``: unknown)."""
        if self._closed:
            return
        restart = done < self.done
        if restart:
            self.restarts += 1
            self._started = time.monotonic()
        first = not self._has_drawn()
        finished = total is not None and done >= total and self.done != done
        self.done, self.total = done, total
        self._maybe_draw(force=first or restart or finished)

    def __enter__(self) -> ProgressBar:
        return self

    def _render(self, columns: int) -> str:
        done, total = self.done, self.total
        elapsed = time.monotonic() - self._started
        rate = f"{human_bytes(done / elapsed)}/s" if elapsed >= 0.05 and done else "-- B/s"
        if total is None:
            tail = f"{human_bytes(done)} {rate}"
        else:
            fraction = 1.0 if total <= 0 else min(done / total, 1.0)
            filled = int(fraction * _BAR_WIDTH)
            bar = "#" * filled + " " * (_BAR_WIDTH - filled)
            tail = (
                f"{int(fraction * 100):3d}% [{bar}] {human_bytes(done)}/{human_bytes(total)} {rate}"
            )
        if self.restarts:
            tail += f" (retry {self.restarts})"
        return _fit(self.label, tail, columns)


class StatusLine(_LiveLine):
    """A one-line live status (``label: text``), e.g. a task's status and latest log line.

    Like ``ProgressBar`` it draws only on a terminal, at most every ``min_interval`` seconds
    (a changed text after that), and ``close()`` leaves the last status on screen.
    """

    def __init__(
        self, label: str = "", *, stream: TextIO | None = None, min_interval: float = 0.1
    ) -> None:
        super().__init__(stream, min_interval)
        self.label = label
        self.text = ""
        self._started = time.monotonic()

    def update(self, text: str, *, force: bool = False) -> None:
        """Show ``text`` (its first line) as the current status; ``force`` draws it now even
        within ``min_interval`` of the last draw (for changes that must not be missed)."""
        if self._closed:
            return
        self.text = text.strip().splitlines()[0] if text.strip() else ""
        self._maybe_draw(force=force or not self._has_drawn())

    def __enter__(self) -> StatusLine:
        return self

    def _render(self, columns: int) -> str:
        elapsed = time.monotonic() - self._started
        return _fit(self.label, f"[{elapsed:5.1f}s] {self.text}", columns)
