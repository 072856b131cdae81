"""A live app: `echo` is a stream function (it takes a `socket`).

The caller streams 20 ms frames of 16 kHz mono PCM audio; the app sends each frame straight
back and, every half second of audio, a new value of the running `transcript` field. A JSON
frame `{"label": "..."}` changes the label mid-stream. When the caller hangs up, the function
returns and its return value is the task's output.
"""

from inferencesh import PCM16, BaseApp, BaseAppInput, BaseAppOutput, Live, Socket, Stream
from pydantic import Field

FRAME_BYTES = 640  # 20 ms of 16 kHz mono 16-bit audio
BYTES_PER_SECOND = 32000


class EchoInput(BaseAppInput):
    audio: Stream[PCM16(16000)]
    label: str = Field(default="heard", description="What each transcript entry says")


class EchoOutput(BaseAppOutput):
    audio: Stream[PCM16(16000)]
    transcript: str = Field(default="", description="One entry per half second of audio")
    frames: int = Field(default=0, description="Audio frames echoed")
    seconds: float = Field(default=0.0, description="Seconds of audio echoed")


class App(BaseApp):
    async def echo(self, input_data: EchoInput, socket: Socket) -> EchoOutput:
        """Echo audio back, with a running transcript."""
        live = Live(socket, input_data, EchoOutput)
        frames = received = 0
        entries: list[str] = []
        async for update in live:
            if update.field != "audio":
                continue  # `label` is already updated on input_data
            frames += 1
            received += len(update.value)
            await live.send(audio=update.value)
            if received // (BYTES_PER_SECOND // 2) > len(entries):
                entries.append(f"{input_data.label} {received / BYTES_PER_SECOND:.1f}s")
                await live.send(transcript=" | ".join(entries))
        return EchoOutput(
            transcript=" | ".join(entries), frames=frames, seconds=received / BYTES_PER_SECOND
        )
