"""MCP sessions reused across calls (``agents/mcp_pool.py``): a turn's calls share one session
per server, an idle one is closed, a dead one (the stdio process gone, the HTTP server
restarted) is replaced and never reused. Real FastMCP servers, over stdio and over
streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentloop_testkit import Platform, call, invocations, last_reply, scripted
from inferencesh.platform.agents.mcp import MCPServer, parse_server_option
from inferencesh.platform.agents.mcp_pool import MCPPool
from test_agents_mcp import _free_port, mcp, mcp_url, platform, run_turn, server_file

__all__ = ["mcp_url", "platform", "server_file"]  # the fixtures, shared with test_agents_mcp


def _start_http(server_file: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, str(server_file), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            return process
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the MCP test server did not start") from None
            time.sleep(0.1)


async def _value(pool: MCPPool, server: MCPServer, tool: str) -> Any:
    result = await pool.run(server, lambda session: session.call_tool(tool, {}))
    assert not result.isError, result
    return result.structuredContent["result"]


def test_a_turns_calls_share_one_session_and_a_dead_one_is_replaced(platform: Platform) -> None:
    config = scripted(
        {"tool_calls": [call("pid")]},
        {"tool_calls": [call("pid")]},
        {"tool_calls": [call("die")]},
        {"tool_calls": [call("pid")]},
        {"text": "ok"},
        tools=[mcp("pid", "calc-stdio", "pid"), mcp("die", "calc-stdio", "die")],
    )
    chat = run_turn(platform, config)
    first, second, died, after = invocations(chat)
    # One stdio process served both calls (and the tools/list before them).
    assert first["status"] == second["status"] == "completed"
    assert first["result"] == second["result"]
    # The server died mid-call: a tool error naming it, and the turn went on.
    assert died["status"] == "failed"
    assert died["result"].startswith("Error: MCP server 'calc-stdio' ("), died["result"]
    # The dead session was not reused: the next call got a new process.
    assert after["status"] == "completed"
    assert after["result"] != first["result"]
    assert last_reply(chat)["status"] == "ready"


def test_an_idle_session_is_closed_and_the_next_call_opens_one(server_file: Path) -> None:
    server = parse_server_option(f"s={sys.executable} {server_file} stdio")

    async def scenario() -> tuple[int, int, int, int]:
        pool = MCPPool(idle=0.5)
        try:
            a = await _value(pool, server, "pid")
            b = await _value(pool, server, "pid")
            opened = pool.open_sessions()
            await asyncio.sleep(1.5)
            closed = pool.open_sessions()
            c = await _value(pool, server, "pid")
            return (opened, closed, int(a == b), int(c != a))
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == (1, 0, 1, 1)


@pytest.fixture
def restartable(server_file: Path) -> Iterator[tuple[Path, int, list[subprocess.Popen[bytes]]]]:
    port = _free_port()
    processes = [_start_http(server_file, port)]
    yield server_file, port, processes
    for process in processes:
        process.kill()
        process.wait()


def test_an_http_session_is_reused_and_replaced_when_the_server_restarts(
    restartable: tuple[Path, int, list[subprocess.Popen[bytes]]],
) -> None:
    server_file, port, processes = restartable
    server = MCPServer("h", url=f"http://127.0.0.1:{port}/mcp")

    async def scenario() -> tuple[str, str, str, int]:
        pool = MCPPool()
        try:
            a = await _value(pool, server, "session")
            b = await _value(pool, server, "session")
            processes[0].kill()
            processes[0].wait()
            processes.append(await asyncio.to_thread(_start_http, server_file, port))
            # The pooled session is unknown to the new process: replaced, then the call runs.
            c = await _value(pool, server, "session")
            return a, b, c, pool.open_sessions()
        finally:
            await pool.close()

    a, b, c, open_now = asyncio.run(scenario())
    assert a and a == b
    assert c and c != a
    assert open_now == 1


def test_a_server_that_cannot_be_reached_fails_and_leaves_nothing_open() -> None:
    server = MCPServer("down", url=f"http://127.0.0.1:{_free_port()}/mcp")

    async def scenario() -> int:
        pool = MCPPool()
        try:
            with pytest.raises(Exception):  # noqa: B017, PT011 - the transport's own error
                await asyncio.wait_for(_value(pool, server, "pid"), 20)
            return pool.open_sessions()
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == 0
