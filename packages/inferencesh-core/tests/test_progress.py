"""Opt-in upload progress and ``ProgressBar``: the callback's sequence against a real loopback
server (sync and async), a retried upload restarting from 0, a failing callback failing the
upload, and how the bar draws (terminal or not, throttled, on a closed or broken stream)."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from core_testkit import BASE, Driver, serve
from inferencesh.core import AsyncInference, Inference, ProgressBar, ProgressCallback
from inferencesh.core.progress import StatusLine, human_bytes
from pytest_httpx import HTTPXMock
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY = "inf_progress_key"


class TTY(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Recorder:
    """A progress callback that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []
        self.closed = 0

    def __call__(self, done: int, total: int | None) -> None:
        self.calls.append((done, total))

    def close(self) -> None:
        self.closed += 1


def attempts(calls: list[tuple[int, int | None]]) -> list[list[tuple[int, int | None]]]:
    """The calls split where ``done`` restarts at 0."""
    out: list[list[tuple[int, int | None]]] = []
    for done, total in calls:
        if done == 0 or not out:
            out.append([])
        out[-1].append((done, total))
    return out


# -- uploads against a real HTTP server -------------------------------------------------------


class Storage:
    """A loopback server for ``POST /files`` and the presigned ``PUT`` (starlette + uvicorn)."""

    def __init__(self) -> None:
        self.url = ""
        self.received: list[int] = []

    def app(self) -> Starlette:
        async def files(request: Request) -> Response:
            spec = (await request.json())["files"][0]
            n = len(self.received)
            return JSONResponse(
                [
                    {
                        **spec,
                        "id": f"f{n}",
                        "uri": f"https://cdn/f{n}",
                        "upload_url": f"{self.url}/up",
                    }
                ]
            )

        async def upload(request: Request) -> Response:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
            self.received.append(size)
            return Response(status_code=200)

        async def run(request: Request) -> Response:
            return JSONResponse({"id": "t1", "status": 1, "input": (await request.json())["input"]})

        return Starlette(
            routes=[
                Route("/files", files, methods=["POST"]),
                Route("/up", upload, methods=["PUT"]),
                Route("/apps/run", run, methods=["POST"]),
            ]
        )


@pytest.fixture(scope="module")
def storage() -> Iterator[Storage]:
    state = Storage()
    with serve(state.app()) as url:
        state.url = url
        yield state


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"w" * (3 * (1 << 20) + 123))  # four chunks, the last one short
    return path


def check_one_attempt(calls: list[tuple[int, int | None]], total: int) -> None:
    assert calls[0] == (0, total)
    assert calls[-1] == (total, total)
    dones = [done for done, _ in calls]
    assert dones == sorted(dones) and len(set(dones)) == len(dones)
    assert all(t == total for _, t in calls)
    assert len(calls) == 1 + 4  # the start, then one report per 1 MiB chunk


@pytest.mark.httpx_mock(should_mock=lambda request: False)
def test_sync_upload_reports_progress_over_real_http(storage: Storage, big: Path) -> None:
    total = big.stat().st_size
    seen = Recorder()
    with Inference(api_key=KEY, base_url=storage.url) as client:
        record = client.upload_file(big, progress=seen)
        again = Recorder()
        client.files.upload(str(big), progress=again)
    assert record.uri.startswith("https://cdn/")
    assert storage.received[-2:] == [total, total]
    check_one_attempt(seen.calls, total)
    check_one_attempt(again.calls, total)
    assert seen.closed == 0  # a callback given directly is the caller's to close


@pytest.mark.httpx_mock(should_mock=lambda request: False)
def test_async_upload_reports_progress_over_real_http(storage: Storage, big: Path) -> None:
    total = big.stat().st_size
    seen, from_bytes = Recorder(), Recorder()

    async def go() -> None:
        async with AsyncInference(api_key=KEY, base_url=storage.url) as client:
            await client.upload_file(big, progress=seen)
            await client.files.upload(b"x" * 10, progress=from_bytes)

    asyncio.run(go())
    check_one_attempt(seen.calls, total)
    assert from_bytes.calls == [(0, 10), (10, 10)]


@pytest.mark.httpx_mock(should_mock=lambda request: False)
def test_run_upload_progress_factory_gets_each_file_and_closes_it(
    storage: Storage, big: Path, tmp_path: Path
) -> None:
    small = tmp_path / "notes.txt"
    small.write_text("hi")
    made: dict[str, Recorder] = {}

    def factory(name: str) -> ProgressCallback:
        made[name] = Recorder()
        return made[name]

    with Inference(api_key=KEY, base_url=storage.url) as client:
        task = client.run(
            {"app": "a/b", "input": {"model": big, "notes": str(small), "raw": b"abc"}},
            wait=False,
            upload_progress=factory,
        )
    assert set(made) == {"weights.bin", "notes.txt", "data"}
    assert made["notes.txt"].calls == [(0, 2), (2, 2)]
    assert made["data"].calls == [(0, 3), (3, 3)]
    check_one_attempt(made["weights.bin"].calls, big.stat().st_size)
    assert all(r.closed == 1 for r in made.values())
    assert all(str(v).startswith("https://cdn/") for v in task.input.values())


def test_retried_upload_restarts_from_zero(
    driver: Driver, httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    path = tmp_path / "b.bin"
    path.write_bytes(b"z" * 3000)
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/files",
        json=[{"id": "f", "uri": "u", "upload_url": f"{BASE}/up"}],
    )
    httpx_mock.add_response(method="PUT", url=f"{BASE}/up", status_code=503)
    httpx_mock.add_response(method="PUT", url=f"{BASE}/up", status_code=200)
    seen = Recorder()
    driver.call(lambda c: c.upload_file(path, progress=seen))
    assert attempts(seen.calls) == [[(0, 3000), (3000, 3000)], [(0, 3000), (3000, 3000)]]
    bar_output = TTY()
    bar = ProgressBar("b.bin", stream=bar_output, min_interval=0)
    for done, total in seen.calls:
        bar(done, total)
    bar.close()
    assert bar.restarts == 1 and "(retry 1)" in bar_output.getvalue()


def test_a_failing_callback_fails_the_upload(driver: Driver, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/files",
        json=[{"id": "f", "uri": "u", "upload_url": f"{BASE}/up"}],
    )
    httpx_mock.add_response(method="PUT", url=f"{BASE}/up", status_code=200, is_optional=True)

    class Stop(Exception):
        pass

    def stop(done: int, total: int | None) -> None:
        if done > 0:
            raise Stop(f"stopped at {done}")

    with pytest.raises(Stop, match="stopped at 5"):
        driver.call(lambda c: c.upload_file(b"12345", progress=stop))


def test_progress_must_be_callable(driver: Driver) -> None:
    with pytest.raises(TypeError, match="progress must be a callable"):
        driver.call(lambda c: c.upload_file(b"x", progress="yes"))


# -- ProgressBar ------------------------------------------------------------------------------


def test_bar_draws_label_percent_sizes_and_rate_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    out = TTY()
    with ProgressBar("model.bin", stream=out, min_interval=0) as bar:
        bar(0, 2_000_000)
        time.sleep(0.06)
        bar(1_000_000, 2_000_000)
        frames = out.getvalue().split("\r")[1:]
        assert frames[0].startswith("model.bin   0% [") and "0 B/2.0 MB" in frames[0]
        half = frames[1]
        assert " 50% [##########          ] 1.0 MB/2.0 MB " in half
        assert half.rstrip().endswith("MB/s") and "-- B/s" not in half
        bar(2_000_000, 2_000_000)
    text = out.getvalue()
    assert text.endswith("\n") and "100% [####################] 2.0 MB/2.0 MB" in text
    assert all(len(frame.rstrip("\n")) < 100 for frame in text.split("\r"))


def test_bar_with_unknown_total_and_long_label_fits_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = TTY()
    bar = ProgressBar("a-very-long-file-name-" * 5, stream=out, min_interval=0)
    bar(1500, None)
    bar.close()
    line = out.getvalue().split("\r")[1].rstrip("\n")
    assert "1.5 kB" in line and "%" not in line and "…" in line and len(line) <= 39


def test_bar_is_silent_when_the_stream_is_not_a_terminal() -> None:
    out = io.StringIO()
    with ProgressBar("x", stream=out, min_interval=0) as bar:
        for done in range(0, 101, 10):
            bar(done, 100)
    assert out.getvalue() == "" and not bar.enabled


def test_bar_redraws_at_most_once_per_interval_but_always_at_the_end() -> None:
    out = TTY()
    bar = ProgressBar("x", stream=out, min_interval=60)
    for done in range(0, 100):
        bar(done, 100)
    assert out.getvalue().count("\r") == 1  # only the first call drew
    bar(100, 100)
    assert out.getvalue().count("\r") == 2 and "100%" in out.getvalue()
    bar(0, 100)  # a restart draws at once too
    assert out.getvalue().count("\r") == 3 and "(retry 1)" in out.getvalue()
    bar.close()
    bar.close()  # idempotent
    bar(50, 100)  # ignored once closed
    assert out.getvalue().count("\n") == 1


def test_closed_or_broken_stream_never_raises() -> None:
    out = TTY()
    bar = ProgressBar("x", stream=out, min_interval=0)
    bar(1, 10)
    out.close()
    bar(5, 10)
    bar.close()

    class Broken(TTY):
        def write(self, text: str) -> int:
            raise BrokenPipeError("reader went away")

    broken = ProgressBar("y", stream=Broken(), min_interval=0)
    broken(1, 10)
    broken(2, 10)
    assert not broken.enabled
    broken.close()
    closed_before = TTY()
    closed_before.close()
    late = ProgressBar("z", stream=closed_before)
    late(1, 2)
    late.close()


def test_concurrent_bars_share_one_terminal_line() -> None:
    out = TTY()
    first = ProgressBar("a.png", stream=out, min_interval=0)
    second = ProgressBar("b.png", stream=out, min_interval=0)
    first(0, 100)
    second(0, 100)  # the line is first's: second waits
    assert "b.png" not in out.getvalue()
    second(100, 100)
    second.close()  # its final line goes above; first's live line is drawn again below it
    done_part, live_part = out.getvalue().split("\n")
    assert done_part.split("\r")[-1].startswith("b.png 100% [####################]")
    assert live_part.startswith("\ra.png   0% [") and live_part.count("\r") == 1
    first(100, 100)
    first.close()
    lines = [line.split("\r")[-1].strip() for line in out.getvalue().split("\n") if line]
    assert [line.split()[:2] for line in lines] == [["b.png", "100%"], ["a.png", "100%"]]
    assert out.getvalue().endswith("\n") and out.getvalue().count("\n") == 2


def test_status_line_and_human_units() -> None:
    out = TTY()
    with StatusLine("local/hello t1", stream=out, min_interval=60) as status:
        status.update("queued")
        status.update("running · step 1")  # throttled
        assert "step 1" not in out.getvalue()
        status.update("running · step 2\nsecond line", force=True)
    text = out.getvalue()
    assert "local/hello t1 [" in text and "running · step 2" in text and "second line" not in text
    assert text.endswith("\n")
    assert [human_bytes(n) for n in (0, 999, 1000, 1_500_000, 2 * 10**12)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "1.5 MB",
        "2.0 TB",
    ]


# -- `inferencesh run` with core alone: the command line is checked before any request -------------


def test_run_command_is_core_and_checks_its_arguments(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from inferencesh.core.cli import build_parser, main

    assert "run" in build_parser().format_help()
    monkeypatch.setenv("INFERENCE_API_KEY", KEY)
    monkeypatch.setenv("INFERENCE_BASE_URL", BASE)
    assert main(["run", "a/b", "--input", "{nope}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --input: invalid JSON in the argument: Expecting property name")
    assert main(["run", "a/b", "--setup", '"text"']) == 2
    assert "--setup must be a JSON object, got a string" in capsys.readouterr().err
    assert main(["run", "a/b", "--base-url", "ftp://host"]) == 2
    assert "base_url must start with http:// or https://" in capsys.readouterr().err
    assert main(["run", " "]) == 2
    assert "params['app'] must be a non-empty string" in capsys.readouterr().err
