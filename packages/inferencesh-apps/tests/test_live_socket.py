"""The runtime's socket rules (backlog, order, end, late sends) and the live-field mapping of
``Live``, without a relay."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from inferencesh.apps.runtime.functions import discover_functions, function_kind
from inferencesh.apps.runtime.live_socket import NoCaller, RelaySocket, call_with_socket
from inferencesh.apps.stream import PCM16, Live, Stream, binary_field, media
from pydantic import BaseModel


async def test_backlog_drops_the_oldest_binary_frames_and_never_text() -> None:
    socket = RelaySocket("s")
    for i in range(300):
        socket.deliver(i.to_bytes(2, "big"))
        if i % 100 == 0:
            socket.deliver(f"t{i}")
    socket.finish(1000, "bye")
    frames = [frame async for frame in socket]
    binary = [int.from_bytes(f, "big") for f in frames if isinstance(f, bytes)]
    assert socket.dropped == 44
    assert binary == list(range(44, 300))
    assert [f for f in frames if isinstance(f, str)] == ["t0", "t100", "t200"]
    # Arrival order holds across kinds: t200 came after frame 200 and before 201.
    assert frames.index("t200") == frames.index((200).to_bytes(2, "big")) + 1
    assert await socket.recv() is None
    await socket.send(b"late")  # the caller is gone: no error
    assert socket.sent_after_close == 1


async def test_no_backlog_keeps_every_frame_and_recv_waits_for_the_next() -> None:
    socket = RelaySocket("s", binary_backlog=None)
    for i in range(1000):
        socket.deliver(bytes([i % 256]))
    got = [await socket.recv() for _ in range(1000)]
    assert socket.dropped == 0 and len(got) == 1000
    waiter = asyncio.ensure_future(socket.recv())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    socket.deliver("next")
    assert await waiter == "next"


async def test_a_pairing_timeout_cancels_the_call_and_says_why() -> None:
    socket = RelaySocket("s")

    async def forever() -> None:
        await asyncio.sleep(60)

    asyncio.get_running_loop().call_later(
        0.05, socket.finish, 1013, "no caller connected within 1s"
    )
    with pytest.raises(NoCaller, match="no caller connected within 1s"):
        await call_with_socket(socket, forever())
    done = RelaySocket("t")
    assert await call_with_socket(done, asyncio.sleep(0, "ok")) == "ok"


class Word(BaseModel):
    text: str


class In(BaseModel):
    audio: Stream[PCM16(16000)]
    words: Stream[Word]
    gain: float = 1.0


class Out(BaseModel):
    audio: Stream[PCM16(16000)]
    transcript: Stream[Word]
    level: int = 0


class _Frames:
    def __init__(self, frames: list[Any]) -> None:
        self.frames, self.sent = frames, []

    def __aiter__(self) -> Any:
        return self._iter()

    async def _iter(self) -> Any:
        for frame in self.frames:
            yield frame

    async def send(self, data: Any) -> None:
        self.sent.append(data)


async def test_live_maps_frames_and_refuses_what_it_cannot() -> None:
    frames = [
        b"\x01\x02",
        '{"words": {"text": "hi"}, "gain": "2.5"}',
        '{"gain": "loud"}',
        '{"audio": "AAA="}',
        "[1, 2]",
        '{"nope": 1}',
    ]
    socket, data = _Frames(frames), In()
    live = Live(socket, data, Out)
    updates = [u async for u in live]
    assert [(u.field, u.value) for u in updates] == [
        ("audio", b"\x01\x02"),
        ("words", Word(text="hi")),
        ("gain", 2.5),
    ]
    assert data.gain == 2.5  # validated like an assignment, kept after the refused one
    errors = [s["$error"] for s in socket.sent]
    assert [e["field"] for e in errors] == ["gain", "audio", None, "nope"]
    assert errors[1]["message"] == "send this field's items as binary frames"
    assert errors[2]["message"] == "a text frame is a JSON object keyed by field name"
    await live.send(audio=b"\x00", transcript=Word(text="yo"), level=3)
    assert socket.sent[-2:] == [b"\x00", {"transcript": {"text": "yo"}, "level": 3}]
    with pytest.raises(KeyError):
        await live.send(nope=1)
    await live.clear("transcript")
    assert socket.sent[-1] == {"$clear": "transcript"}


async def test_binary_frames_to_a_function_without_a_binary_field_are_refused_once() -> None:
    class Text(BaseModel):
        words: Stream[str]

    socket = _Frames([b"a", b"b", '{"words": "w"}'])
    updates = [u async for u in Live(socket, Text(), Text)]
    assert updates == [("words", "w")]
    assert socket.sent == [
        {"$error": {"field": None, "message": "this function takes no binary frames"}}
    ]


def test_schema_rules_for_live_fields() -> None:
    schema = In.model_json_schema()
    assert "required" not in schema  # live fields are never required
    audio = schema["properties"]["audio"]
    assert audio["format"] == "stream" and "default" not in audio
    assert audio["items"]["contentMediaType"] == "audio/pcm;format=s16le;rate=16000;channels=1"
    assert In(audio=[b"ignored"], words=[{"text": "x"}]).model_dump() == {
        "audio": [],
        "words": [],
        "gain": 1.0,
    }
    assert json.loads(In().model_dump_json())["audio"] == []

    class Two(BaseModel):
        a: Stream[PCM16()]
        b: Stream[media("image/jpeg")]

    with pytest.raises(TypeError, match="at most one"):
        binary_field(Two)
    with pytest.raises(ValueError, match="type/subtype"):
        media("jpeg")


def test_discovery_marks_socket_taking_methods_as_stream_functions() -> None:
    class App:
        async def talk(self, input_data: In, socket: Any) -> Out:
            return Out()

        async def alt(self, input_data: In, sock: Any) -> Out:
            return Out()

        async def plain(self, input_data: In) -> Out:
            return Out()

    found = discover_functions(App)
    assert {n: f.kind for n, f in found.items()} == {
        "talk": "stream",
        "alt": "stream",
        "plain": "run",
    }
    assert found["talk"].binding.positional == ("input", "socket")
    assert function_kind(App.plain) == "run"
