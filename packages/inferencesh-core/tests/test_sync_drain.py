"""The sync client's end-of-stream drain bounds only its own reads of a connection: the
connection goes back to the pool as soon as its end is read, so other threads may read through
it (or drain it) before the drain returns (one sync client shared by many threads)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
from inferencesh.core.http import _DRAIN_SECONDS, _drain


class _Net:
    """A network stream that records who read with which timeout."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, float | None]] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.reads.append((threading.current_thread().name, timeout))
        return b""


def _in_thread(name: str, work: object) -> None:
    thread = threading.Thread(target=work, name=name)  # type: ignore[arg-type]
    thread.start()
    thread.join()


def test_other_threads_reads_keep_their_own_timeout_while_a_drain_runs() -> None:
    net = _Net()
    response = httpx.Response(200, extensions={"network_stream": net})

    def chunks() -> Iterator[bytes]:
        net.read(10, 5.0)  # the drain's own read
        _in_thread("other", lambda: net.read(10, 7.0))  # the next request on this connection
        yield b""

    _drain(response, chunks())
    me = threading.current_thread().name
    assert net.reads == [(me, _DRAIN_SECONDS), ("other", 7.0)]
    assert "read" not in vars(net)  # the stream's own read is back


def test_a_drain_that_overlaps_another_threads_drain_leaves_the_stream_as_it_was() -> None:
    net = _Net()
    response = httpx.Response(200, extensions={"network_stream": net})
    entered, finish = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_chunks() -> Iterator[bytes]:
        entered.set()
        finish.wait(5)
        net.read(10, 9.0)
        yield b""

    def other_drain() -> None:
        try:
            _drain(response, other_chunks())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def chunks() -> Iterator[bytes]:
        thread = threading.Thread(target=other_drain, name="other")
        thread.start()
        entered.wait(5)  # the other drain has put its bound over ours
        yield b""
        chunks.thread = thread  # type: ignore[attr-defined]

    _drain(response, chunks())  # ours ends first: it must not remove the other's bound
    finish.set()
    chunks.thread.join(5)  # type: ignore[attr-defined]
    assert errors == []
    assert ("other", _DRAIN_SECONDS) in net.reads
    assert "read" not in vars(net)
