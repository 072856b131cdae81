"""Ids and timestamps: the formats they always had, made without per-call system calls."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import pytest
from inferencesh.platform import ids
from inferencesh.platform.ids import iso, new_id, now_iso


def _ulid_millis(value: str) -> int:
    number = 0
    for char in value:
        number = number * 32 + "0123456789abcdefghjkmnpqrstvwxyz".index(char)
    assert number < 1 << 128
    return number >> 80


def test_ids_are_time_ordered_lowercase_ulids() -> None:
    before = time.time_ns() // 1_000_000
    made = [new_id() for _ in range(2000)]  # more than one buffer of randomness
    after = time.time_ns() // 1_000_000
    assert len(set(made)) == len(made)
    for value in made:
        assert len(value) == 26 and set(value) <= set("0123456789abcdefghjkmnpqrstvwxyz")
        assert before <= _ulid_millis(value) <= after
    assert made == sorted(made, key=_ulid_millis)
    assert new_id("sess_").startswith("sess_") and len(new_id("sess_")) == 31


def test_the_random_part_is_not_repeated_across_a_buffer_refill() -> None:
    taken = {ids._randomness.take() for _ in range(3 * ids._BUFFER_IDS)}
    assert len(taken) == 3 * ids._BUFFER_IDS


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_make_its_parents_next_ids() -> None:
    ids._randomness.take()  # a buffer is filled, with ids left in it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next random part, then exit at once
        os.write(write, ids._randomness.take().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child != ids._randomness.take()


@pytest.mark.parametrize(
    "epoch", [0.0, 0.5, 1.0000004, 1_700_000_000.123456, 1_700_000_000.9999996, 4_102_444_799.5]
)
def test_iso_is_rfc3339_utc_with_microseconds(epoch: float) -> None:
    expected = datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert iso(epoch) == expected


def test_now_iso_is_the_current_time() -> None:
    for _ in range(3):  # the second's text is cached: a later call still reads the clock
        before = datetime.now(timezone.utc)
        stamp = now_iso()
        after = datetime.now(timezone.utc)
        parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        assert before <= parsed <= after
        iso(0.0)  # another second in between
