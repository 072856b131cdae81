"""Running apps as ordinary tasks through the platform's own HTTP API.

The agent loop is a client of the platform it lives in: the core LLM app and app tools run as
tasks created with ``POST /apps/run`` and followed on ``GET /tasks/{id}/stream``, using the
project's own async client, so every task the loop starts shows up (and can be inspected and
cancelled) like any other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from inferencesh.core import AsyncInference
from inferencesh.core.deltas import DeltaAccumulator, MalformedDelta, TaskDelta
from inferencesh.core.errors import APIConnectionError, APIError
from inferencesh.core.types import TERMINAL_STATUSES, TaskStatus, parse_status

_log = logging.getLogger("inferencesh.platform.agents")

_MAX_RECONNECTS = 5


class TaskError(RuntimeError):
    """A task the loop ran failed or was cancelled; ``task`` is its last known record."""

    def __init__(self, message: str, task: dict[str, Any]) -> None:
        super().__init__(message)
        self.task = task


OnUpdate = Callable[[dict[str, Any]], Awaitable[None]]
OnCreated = Callable[[str], Awaitable[None]]
OnDelta = Callable[[Any], None]


class TaskRunner:
    """Creates tasks on the platform and follows them to the end."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.client = AsyncInference(base_url=base_url, api_key=api_key)
        self.closing = False
        """Set at server shutdown: the platform itself stops its tasks then, so a cancelled
        turn must not call back into a server that no longer answers."""

    async def close(self) -> None:
        closer = getattr(self.client, "aclose", None) or getattr(self.client, "close", None)
        if closer is not None:
            result = closer()
            if asyncio.iscoroutine(result):
                await result

    async def run(
        self,
        body: dict[str, Any],
        *,
        on_created: OnCreated | None = None,
        on_update: OnUpdate | None = None,
        on_delta: OnDelta | None = None,
    ) -> dict[str, Any]:
        """Run a task to completion and return its final record.

        ``on_update`` sees the merged task after every change (partial outputs included, and
        the output the app's streamed deltas have built so far); ``on_delta`` each ``delta``
        event's delta as the app sent it (``DeltaEvent.delta``), before that update.
        Raises :class:`TaskError` when the task fails or is cancelled. Cancelling the awaiting
        coroutine cancels the task on the platform too.
        """
        try:
            created = await self.client.http.request("POST", "/apps/run", json=body)
        except APIError as exc:
            # A refused task (unknown app, bad input...) is the tool's failure, for the model
            # to read, not a fault of the loop.
            raise TaskError(str(exc), {}) from exc
        if not isinstance(created, dict) or not created.get("id"):
            raise TaskError(f"the platform did not return a task for {body.get('app')!r}", {})
        task: dict[str, Any] = dict(created)
        task_id = str(task["id"])
        if on_created is not None:
            await on_created(task_id)
        try:
            return await self._follow(task, on_update, on_delta)
        except asyncio.CancelledError:
            if not self.closing:
                await asyncio.shield(self._cancel(task_id))
            raise

    async def _cancel(self, task_id: str) -> None:
        try:
            await self.client.http.request(
                "POST", f"/tasks/{task_id}/cancel", json={"force": False}
            )
        except Exception as exc:  # noqa: BLE001 - a task that already ended cannot be cancelled; nothing lost
            _log.debug("cancel of task %s: %s", task_id, exc)

    async def _follow(
        self, task: dict[str, Any], on_update: OnUpdate | None, on_delta: OnDelta | None
    ) -> dict[str, Any]:
        task_id = str(task["id"])
        reconnects = 0
        deltas = _Deltas(task_id)
        while True:
            if _status(task) in TERMINAL_STATUSES:
                return _finish(task)
            # Closed on the way out, not when the event loop gets to finalizing the generator:
            # returning at the end status leaves the stream (and its connection) open otherwise.
            stream = self.client.http.stream("GET", f"/tasks/{task_id}/stream")
            try:
                async for event in stream:
                    data = getattr(event, "data", None)
                    if not isinstance(data, dict):
                        continue
                    if getattr(event, "event", None) == "delta":
                        if on_delta is not None:
                            on_delta(data.get("delta"))
                        if deltas.fold(task, data) and on_update is not None:
                            await on_update(task)
                        continue
                    task.update(data)
                    if on_update is not None:
                        await on_update(task)
                    if _status(task) in TERMINAL_STATUSES:
                        return _finish(task)
            except APIConnectionError as exc:
                _log.info("stream of task %s dropped (%s); following it again", task_id, exc)
            finally:
                await stream.aclose()
            # The stream closed before the end: read the record, then follow again.
            reconnects += 1
            fresh = await self.client.http.request("GET", f"/tasks/{task_id}")
            if isinstance(fresh, dict):
                task.update(fresh)
            if _status(task) not in TERMINAL_STATUSES and reconnects > _MAX_RECONNECTS:
                raise TaskError(f"lost the stream of task {task_id} {reconnects} times", task)
            if _status(task) not in TERMINAL_STATUSES:
                await asyncio.sleep(0.2)


class _Deltas:
    """A task's streamed deltas folded into its output (for ``on_update``); replays after a
    reconnect (``seq`` already seen) are skipped."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.seen = 0
        self.acc = DeltaAccumulator()

    def fold(self, task: dict[str, Any], data: dict[str, Any]) -> bool:
        delta, seq = data.get("delta"), data.get("seq")
        if not isinstance(delta, dict) or not isinstance(seq, int) or seq <= self.seen:
            return False
        self.seen = seq
        try:
            self.acc.apply(TaskDelta(task_id=self.task_id, delta=delta, seq=seq))
        except MalformedDelta as exc:
            _log.info("task %s: a delta was not merged: %s", self.task_id, exc)
            return False
        output = task.get("output")
        task["output"] = {**(output if isinstance(output, dict) else {}), **self.acc.to_dict()}
        return True


def _status(task: dict[str, Any]) -> TaskStatus:
    return parse_status(task.get("status"))


def _finish(task: dict[str, Any]) -> dict[str, Any]:
    status = _status(task)
    if status == TaskStatus.COMPLETED:
        return task
    if status == TaskStatus.CANCELLED:
        raise TaskError(f"task {task.get('id')} was cancelled", task)
    raise TaskError(str(task.get("error") or f"task {task.get('id')} failed"), task)
