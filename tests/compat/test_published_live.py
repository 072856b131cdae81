"""The published ``inferencesh`` client's ``AsyncInference.live`` (0.36, with its ``async``
extra, in ``.venvs/published``) and our ``client.live`` run the same live app through the local
platform unchanged: frames echoed in order, patches applied, the task completed with the final
output, the socket's account the same."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest
from inferencesh import LiveState, async_inference
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory, run_published

ROOT = Path(__file__).resolve().parents[2]
ECHO = ROOT / "examples" / "apps" / "live-echo"
PARAMS = {"app": "local/live-echo", "function": "echo", "input": {"label": "said"}}

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    import inferencesh
    from inferencesh import AsyncInference

    base_url, api_key = sys.argv[1:3]

    async def main():
        client = AsyncInference(api_key=api_key, base_url=base_url)
        states = []
        task, session = await client.live(
            {"app": "local/live-echo", "function": "echo", "input": {"label": "said"}},
            on_state=lambda state, end: states.append(state.value),
        )
        for i in range(40):
            await session.send(i.to_bytes(2, "big") * 320)
        await session.send({"label": "changed"})
        frames, patches = [], []
        async for frame in session:
            if isinstance(frame, bytes):
                frames.append(int.from_bytes(frame[:2], "big"))
            else:
                patches.append(frame)
            if len(frames) == 40:
                break
        await session.close()
        end = await session.ended
        done = await client.wait_for_completion(task["id"])
        info = await client.sockets.get(task["socket"]["id"])
        return {
            "version": inferencesh.__version__,
            "frames": frames,
            "patches": patches,
            "states": states,
            "end": [end.code, end.by_caller],
            "status": done["status"],
            "output": done["output"],
            "socket": {k: info[k] for k in ("status", "outcome", "client_frames", "worker_frames")},
        }

    print(json.dumps(asyncio.run(main())))
    """
)


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform([ECHO])


async def _ours(server: LocalPlatform) -> dict[str, Any]:
    client = async_inference(api_key=server.api_key, base_url=server.base_url)
    states: list[str] = []
    task, session = await client.live(
        PARAMS, on_state=lambda state, end: states.append(state.value)
    )
    for i in range(40):
        await session.send(i.to_bytes(2, "big") * 320)
    await session.send({"label": "changed"})
    frames, patches = [], []
    async for frame in session:
        if isinstance(frame, bytes):
            frames.append(int.from_bytes(frame[:2], "big"))
        else:
            patches.append(frame)
        if len(frames) == 40:
            break
    await session.close()
    end = await session.ended
    done = await client.wait_for_completion(task.id)
    assert task.socket is not None
    info = await client.sockets.get(task.socket.id)
    await client.aclose()
    assert session.state is LiveState.ENDED
    return {
        "frames": frames,
        "patches": patches,
        "states": states,
        "end": [end.code, end.by_caller],
        "status": int(done.status),
        "output": done.output,
        "socket": {k: info[k] for k in ("status", "outcome", "client_frames", "worker_frames")},
    }


def test_published_and_our_live_clients_run_the_same_live_app(
    server: LocalPlatform, published_python: Path, tmp_path: Path
) -> None:
    theirs = run_published(published_python, SCRIPT, [server.base_url, server.api_key], tmp_path)
    ours = asyncio.run(_ours(server))
    theirs.pop("version")
    expected_patches = [{"transcript": "said 0.5s"}]
    assert ours["frames"] == theirs["frames"] == list(range(40))
    assert ours["patches"] == theirs["patches"] == expected_patches
    assert ours["states"] == theirs["states"] == ["connecting", "waiting", "live", "ended"]
    assert ours["end"] == theirs["end"] == [1000, True]
    assert ours["status"] == theirs["status"] == 10
    # The label changed after 0.5 s of audio; 40 frames are 0.8 s.
    assert (
        ours["output"]
        == theirs["output"]
        == {
            "audio": [],
            "transcript": "said 0.5s",
            "frames": 40,
            "seconds": 0.8,
        }
    )
    assert (
        ours["socket"]
        == theirs["socket"]
        == {
            "status": "closed",
            "outcome": "client_closed",
            "client_frames": 41,
            "worker_frames": 41,
        }
    )
