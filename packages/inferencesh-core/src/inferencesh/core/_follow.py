"""Following a task to its end across stream drops: the pure state machine.

``TaskFollower`` merges stream lines into the current task, drops repeats and stale updates,
and decides what to do next, as an effect of ``inferencesh.core.protocol``: open the task
stream (``OpenStream``), fetch the task with a plain GET (``Call``), wait (``Sleep``), or stop.
``inferencesh.core.tasks.follow`` performs those decisions, as an operation that both
clients' drivers run.

Rules:

* Partial updates (``data`` + ``fields``) replace only the named fields; full updates replace
  every field they carry and keep the ones they leave unset.
* An update equal to the last one handed out is not handed out again, and an update whose
  status could not follow the current one (a replay after a reconnect) is ignored.
* On a drop the stream is opened again at once; if that attempt brings nothing new, the task
  is fetched with ``GET /tasks/{id}`` so a terminal update is never lost, then the stream is
  opened again after a growing pause.
* An update naming another task is ignored.
* A task may be followed from its creation (``creating``, then ``create``): the first action is
  the ``POST /apps/run`` whose reply is the task's stream, and the first update naming a
  task gives the id; from then on it is followed as any other. A creation stream that drops
  before naming its task is a POST with an unknown outcome: it is sent again with the same
  ``Idempotency-Key`` within the request's retries (the platform answers with the task it
  created), then the error is raised with that key.
* Consecutive attempts that fail before receiving a single byte (a reopen or a fetch with no
  answer, or a 5xx past its retries) are limited by ``max_reconnects``; any received byte
  (heartbeats included) resets the count. An overall ``deadline`` bounds the whole wait,
  also while updates keep arriving: the loops stop reading once it has passed (``expired``)
  and ``next_action`` raises.
* Without ``reconnect`` (``auto_reconnect=False``) nothing is reopened: a drop raises its
  error, and a stream that closes before the end raises ``APIConnectionError``.
* The pauses start at ``reconnect_delay`` and double up to ``max_reconnect_delay`` (or up to
  ``reconnect_delay`` itself, when that is longer).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from inferencesh.core._transport import outcome_unknown
from inferencesh.core.deltas import TaskDelta
from inferencesh.core.errors import (
    APIConnectionError,
    APITimeoutError,
    MalformedResponseError,
    ServerError,
    TaskCancelledError,
    TaskFailedError,
)
from inferencesh.core.protocol import Call, OpenStream, Sleep, id_path
from inferencesh.core.reconnect import MAX_RECONNECT_DELAY
from inferencesh.core.retry import RetryState
from inferencesh.core.streaming import TaskLine
from inferencesh.core.types import Task, TaskStatus, parse_status

_TASK_FIELDS: tuple[str, ...] = Task.__struct_fields__
_TASK_FIELD_SET = frozenset(_TASK_FIELDS)

RECONNECT_DELAY = 0.5
"""Seconds before a task stream's first reopen, unless the call asks for another."""


Action = OpenStream | Call | Sleep | None
"""What to do next: open the stream, fetch the task, wait, or nothing (the task has ended)."""


class _Plan:
    """How to fold a partial update naming one list of ``fields`` into the task."""

    __slots__ = ("apply", "fields", "sets_status")

    def __init__(self, fields: list[str]) -> None:
        names = tuple(f for f in dict.fromkeys(fields) if f in _TASK_FIELD_SET)
        self.fields = fields
        self.sets_status = "status" in names
        self.apply: Any = _replacer(names)


def _replacer(names: tuple[str, ...]) -> Any:
    # One call of `replace(current, a=update.a, ...)` with the names spelled out is about four
    # times cheaper than building a kwargs dict per update; on long streams this is the merge.
    # The names are Task field names (checked above), so the generated source is safe.
    if not names:
        return lambda current, update: current
    args = ", ".join(f"{name}=update.{name}" for name in names)
    scope: dict[str, Any] = {"replace": msgspec.structs.replace}
    exec(f"def apply(current, update):\n    return replace(current, {args})\n", scope)
    return scope["apply"]


_PLANS: dict[tuple[str, ...], _Plan] = {}


def _plan(fields: list[str]) -> _Plan:
    # A stream repeats the same few `fields` lists: one plan per distinct list.
    key = tuple(fields)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _Plan(list(fields))
        if len(_PLANS) < 256:
            _PLANS[key] = plan
    return plan


def merge(current: Task | None, update: Task, fields: list[str] | None) -> Task:
    """Fold one update into the task known so far."""
    if current is None:
        return update
    if fields is not None:
        result: Task = _plan(fields).apply(current, update)
        return result
    kept = {
        f: getattr(current, f)
        for f in _TASK_FIELDS
        if getattr(update, f) is None and getattr(current, f) is not None
    }
    # `id` and `status` default to ""/UNKNOWN rather than None: unset all the same.
    if not update.id and current.id:
        kept["id"] = current.id
    if update.status == TaskStatus.UNKNOWN and current.status != TaskStatus.UNKNOWN:
        kept["status"] = current.status
    return msgspec.structs.replace(update, **kept) if kept else update


class TaskFollower:
    """The state of one task being followed to a terminal status."""

    def __init__(
        self,
        task_id: str,
        initial: Task | None = None,
        *,
        idle_timeout: float,
        max_reconnects: int = 5,
        reconnect_delay: float = RECONNECT_DELAY,
        max_reconnect_delay: float = MAX_RECONNECT_DELAY,
        timeout: float | None = None,
        clock: Any = time.monotonic,
        creating: bool = False,
        reconnect: bool = True,
    ) -> None:
        """``creating``: the task is not created yet (``task_id`` is ``""``); ``create`` gives
        the request that creates it, the first thing to do."""
        if timeout is not None and timeout != timeout:  # nan: a deadline that never comes
            raise ValueError("timeout must be a number of seconds or None, got nan")
        self.task_id = ""
        self._stream_path = ""
        self._fetch = Call("GET", "/tasks")  # set with the id
        if not creating:
            self._known(task_id)
        self._create: OpenStream | None = None  # the creating POST, until it names the task
        self._create_retries: RetryState | None = None
        self._early: list[TaskLine] = []  # lines of the creation stream before the task's id
        self.current = initial
        self.emitted: Task | None = None
        self.idle_timeout = idle_timeout
        self.max_reconnects = max_reconnects
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max(max_reconnect_delay, reconnect_delay)
        self.reconnect = reconnect
        self._clock = clock
        self.timeout = timeout
        self.deadline = None if timeout is None else clock() + timeout
        self._failures = 0  # consecutive attempts that received nothing at all
        self._fruitless = 0  # consecutive rounds that brought no new update
        self._new_this_attempt = False
        self._bytes_this_attempt = False
        self._next: Action = self._stream(idle_timeout)
        self.attempts = 0
        self.keep_deltas = False
        """Whether delta lines become ``TaskDelta`` items among the updates (else skipped)."""
        self._delta_seq = 0  # the last delta handed out: a replay after a reconnect is dropped

    def create(self, request: OpenStream, max_retries: int) -> None:
        """Start with ``request``, the ``POST /apps/run`` whose reply is the new task's stream
        (for a follower made with ``creating``); ``max_retries`` bounds the times it is sent
        again after its stream dropped before naming the task."""
        assert not self.task_id, "the task exists already"
        self._create = request
        self._create_retries = RetryState(max_retries)
        self._next = request

    def _known(self, task_id: str) -> None:
        path = id_path("/tasks", task_id, "task_id")  # a ValueError unless a non-empty str
        self.task_id = task_id
        self._stream_path = path + "/stream"
        self._fetch = Call("GET", path, expect="a task")

    # -- what to do next -------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the current task is terminal."""
        return self.current is not None and parse_status(self.current.status).is_terminal

    def _stream(self, read_timeout: float) -> OpenStream:
        return OpenStream(self._stream_path, read_timeout, task_lines=True)

    def next_action(self) -> Action:
        """The next effect to perform (``None`` when the task is terminal)."""
        if self.done:
            return None
        action = self._next
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise self.timeout_error()
        if isinstance(action, OpenStream):
            self.attempts += 1
            self._new_this_attempt = False
            self._bytes_this_attempt = False
            read = self.idle_timeout if remaining is None else min(self.idle_timeout, remaining)
            if action is self._create:
                return msgspec.structs.replace(action, read_timeout=max(read, 0.001))
            return self._stream(max(read, 0.001))
        if isinstance(action, Sleep) and remaining is not None:
            return Sleep(min(action.seconds, remaining))
        return action

    @property
    def expired(self) -> bool:
        """True once the overall deadline has passed (checked while updates keep arriving)."""
        return self.deadline is not None and self._clock() >= self.deadline

    def remaining(self) -> float | None:
        """Seconds left before the overall deadline (``None`` without one)."""
        return None if self.deadline is None else self.deadline - self._clock()

    def timeout_error(self) -> APITimeoutError:
        """The error for a wait that ran past its deadline."""
        status = parse_status(self.current.status) if self.current else TaskStatus.UNKNOWN
        return APITimeoutError(
            f"task {self.task_id} did not finish within {self.timeout:g} s (last status: {status})",
            task_id=self.task_id,
            task=self.current,
        )

    # -- what happened -----------------------------------------------------------------------
    def received_bytes(self) -> None:
        """Bytes arrived on the stream: the connection is alive."""
        self._bytes_this_attempt = True
        self._failures = 0

    def feed_line(self, line: TaskLine) -> Task | None:
        """Fold one stream line in; returns the update to hand out, if it is new."""
        data = line.data
        if data is None:  # heartbeats, deltas and lines of other shapes carry no update
            return None
        return self.feed(data, line.fields)

    def _delta(self, line: TaskLine) -> TaskDelta | None:
        """The ``TaskDelta`` of a delta line, unless seen already or not an object."""
        delta = line.delta
        seq = line.seq
        if not isinstance(delta, dict) or (seq and seq <= self._delta_seq):
            return None
        if seq:
            self._delta_seq = seq
        return TaskDelta(task_id=self.task_id, delta=delta, seq=seq, resource_id=line.resource_id)

    def feed_lines(self, lines: list[TaskLine]) -> list[Any]:
        """Fold a batch of stream lines in; returns the new updates, in order.

        The same as ``feed_line`` on each line; the common line (a partial update that does
        not change the status, or whose new status is legal) is folded inline, because on
        long streams the per-line overhead is the cost. With ``keep_deltas``, delta lines
        become ``TaskDelta`` items, in order among the updates.
        """
        if self._create is not None:
            lines = self._created(lines)
        out: list[Any] = []
        plan: _Plan | None = None
        task_id = self.task_id
        current = self.current
        emitted = self.emitted
        for line in lines:
            update = line.data
            fields = line.fields
            if update is None or (update.id and update.id != task_id):
                # No update, or another task's (never merged into this one); maybe a delta.
                if update is None and self.keep_deltas and line.delta is not None:
                    delta = self._delta(line)
                    if delta is not None:
                        out.append(delta)
                continue
            if fields is None or current is None:
                self.current, self.emitted = current, emitted
                new = self.feed_line(line)
                current, emitted = self.current, self.emitted
                if new is not None:
                    out.append(new)
                continue
            if plan is None or fields != plan.fields:
                plan = _plan(fields)
            if (
                plan.sets_status
                and update.status != current.status
                and not parse_status(current.status).can_transition_to(update.status)
            ):
                continue  # a stale replay: the task is already further along
            current = plan.apply(current, update)
            if current == emitted:
                continue
            emitted = current
            out.append(current)
        self.current, self.emitted = current, emitted
        if out:
            self._new_this_attempt = True
            self._fruitless = 0
        return out

    def _created(self, lines: list[TaskLine]) -> list[TaskLine]:
        """The lines of the creation stream to fold in: none until one names the task (they
        are kept), then the kept ones and these."""
        for line in lines:
            data = line.data
            if data is not None and data.id:
                self._known(data.id)
                self._create = None
                early, self._early = self._early, []
                return early + lines if early else lines
        self._early.extend(lines)
        return []

    def feed(self, update: Task, fields: list[str] | None = None) -> Task | None:
        """Fold one update in; returns the merged task if it is new, else ``None``.

        An update naming another task (a stray line, a wrong reply) is ignored."""
        current = self.current
        if update.id and update.id != self.task_id:
            return None
        if (
            current is not None
            and update.status != current.status
            and touches_status(update, fields)
            and not parse_status(current.status).can_transition_to(update.status)
        ):
            return None  # a stale replay: the task is already further along
        merged = merge(current, update, fields)
        self.current = merged
        if merged == self.emitted:
            return None
        self.emitted = merged
        self._new_this_attempt = True
        self._fruitless = 0
        return merged

    def initial(self) -> Task | None:
        """The starting task, once, if it has not been handed out yet."""
        if self.current is None or self.current == self.emitted:
            return None
        self.emitted = self.current
        return self.current

    def stream_ended(self, error: APIConnectionError | ServerError | None) -> None:
        """The stream closed (``error`` None) or dropped; plan the next step or give up."""
        if self.done:
            return
        create = self._create
        if create is not None:
            # The task's creation, its outcome unknown: send it again, or give up saying so.
            assert self._create_retries is not None
            delay = None if error is None else self._create_retries.delay_after_error()
            if delay is None:
                raise outcome_unknown(
                    error
                    or MalformedResponseError(
                        200,
                        f"{create.method} {create.path} answered with a stream that ended "
                        "before naming its task",
                    ),
                    create.method,
                    create.idempotency_key,
                )
            self._next = Sleep(delay)
            return
        if not self.reconnect:
            raise error or APIConnectionError(
                f"the stream of task {self.task_id} closed before the task ended "
                "(reconnecting is off: auto_reconnect=False)"
            )
        if error is not None and not self._bytes_this_attempt:
            self._failed(error)
        if self._new_this_attempt:
            self._next = self._stream(self.idle_timeout)  # it was making progress: reconnect now
        else:
            self._next = self._fetch

    def fetched(self, task: Task) -> Task | None:
        """The result of ``GET /tasks/{id}``; returns it if it is new."""
        update = self.feed(task)
        if not self.done:
            delay = self._pause()
            if update is None:
                self._fruitless += 1
            self._next = Sleep(delay)
        return update

    def fetch_failed(self, error: APIConnectionError | ServerError) -> None:
        """``GET /tasks/{id}`` got no answer: one more failed attempt, then a pause."""
        self._failed(error)
        self._next = Sleep(self._pause())
        self._fruitless += 1

    def _failed(self, error: APIConnectionError | ServerError) -> None:
        # One more attempt in a row that got nothing; past `max_reconnects`, give up with it.
        self._failures += 1
        if self._failures > self.max_reconnects:
            raise error

    def _pause(self) -> float:
        # The exponent is capped: a quiet task can go through thousands of fruitless rounds,
        # and 2.0**1024 raises OverflowError.
        growth = 2.0 ** min(self._fruitless, 32)
        return min(self.reconnect_delay * growth, self.max_reconnect_delay)

    def slept(self) -> None:
        """The pause is over: open the stream again (or send the creation again)."""
        self._next = self._create or self._stream(self.idle_timeout)


def touches_status(update: Task, fields: list[str] | None) -> bool:
    """Whether an update (full when ``fields`` is None) sets the status."""
    if fields is None:
        return update.status != TaskStatus.UNKNOWN
    return "status" in fields


def outcome(task: Task) -> Task:
    """The final task if it completed; raise ``TaskFailedError``/``TaskCancelledError`` else."""
    status = parse_status(task.status)
    if status is TaskStatus.FAILED or status is TaskStatus.REJECTED:
        raise TaskFailedError(task)
    if status is TaskStatus.CANCELLED:
        raise TaskCancelledError(task)
    return task
