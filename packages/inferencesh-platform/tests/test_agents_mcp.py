"""MCP tools in the local agent loop: real MCP servers written with the ``mcp`` package
(FastMCP), one over streamable HTTP on 127.0.0.1 and the same one over stdio, called by the real
platform for the scripted model's tool calls."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentloop_testkit import AGENTS, Platform, call, invocations, last_reply, scripted, text_of
from inferencesh.platform.agents.internal_tools import ToolFailure
from inferencesh.platform.agents.mcp import (
    MCPRegistry,
    MCPSetupError,
    list_mcp_tools,
    parse_server_option,
)
from platform_testkit import OWN, PlatformFactory

SERVER = textwrap.dedent(
    '''
    import os, sys, time
    from mcp.server.fastmcp import Context, FastMCP

    mcp = FastMCP("calc", host="127.0.0.1", port=int(sys.argv[2]) if len(sys.argv) > 2 else 0)

    @mcp.tool()
    def add(a: int, b: int) -> int:
        """Add two whole numbers."""
        return a + b

    @mcp.tool()
    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    @mcp.tool()
    def explode(why: str) -> str:
        """Always fails."""
        raise ValueError(f"exploded: {why}")

    @mcp.tool()
    def big(n: int) -> str:
        """A long text."""
        return "x" * n

    @mcp.tool()
    def slow(seconds: float) -> str:
        """Takes its time."""
        time.sleep(seconds)
        return "done"

    @mcp.tool()
    def pid() -> int:
        """The server's process id (a stdio server runs one process per session)."""
        return os.getpid()

    @mcp.tool()
    def session(ctx: Context) -> str:
        """The HTTP session id the call came on."""
        return ctx.request_context.request.headers.get("mcp-session-id", "")

    @mcp.tool()
    def die() -> str:
        """Ends the server process mid-call."""
        os._exit(3)

    if __name__ == "__main__":
        mcp.run(transport="streamable-http" if sys.argv[1] == "http" else "stdio")
    '''
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mcp") / "calc_server.py"
    path.write_text(SERVER)
    return path


@pytest.fixture(scope="module")
def mcp_url(server_file: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(server_file), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the MCP test server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def platform(
    local_platform: PlatformFactory, mcp_url: str, server_file: Path
) -> Iterator[Platform]:
    yaml = (
        "servers:\n"
        f"  calc-stdio:\n    command: {sys.executable}\n    args: [{server_file}, stdio]\n"
    )
    server = Platform.shared(
        local_platform,
        [AGENTS, OWN / "agents"],
        # 20 s: a stdio server's start imports the mcp package, seconds on a loaded CI.
        {"INFERENCESH_MCP_TIMEOUT": "20", "INFERENCESH_MCP_MAX_RESULT": "1000"},
        files={"agents/mcp.yaml": yaml},
        args=["--mcp", f"calc={mcp_url}", "--mcp", f"down=http://127.0.0.1:{_free_port()}/mcp"],
    )
    yield server
    server.close()


def mcp(name: str, server: str, tool_name: str, **section: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "mcp",
        "description": "",
        "mcp": {"server": server, "tool_name": tool_name, **section},
    }


def run_turn(platform: Platform, config: dict[str, Any]) -> dict[str, Any]:
    reply = platform.run({"agent_config": config, "input": {"text": "go"}})
    return platform.finish(reply["assistant_message"]["chat_id"])


def offered_tools(platform: Platform, chat: dict[str, Any]) -> dict[str, Any]:
    """The tools the model was offered in the chat's first model call (its task's input)."""
    first = next(m for m in chat["chat_messages"] if m["role"] == "assistant")
    task = platform.call("GET", f"/tasks/{first['task_id']}")
    return {t["function"]["name"]: t["function"] for t in task["input"]["tools"]}


@pytest.mark.parametrize("server", ["calc", "calc-stdio", "url"])
def test_an_mcp_tool_calls_the_server_and_the_model_reads_the_result(
    platform: Platform, server: str, mcp_url: str
) -> None:
    name = mcp_url if server == "url" else server
    config = scripted(
        {"tool_calls": [call("add", a=2, b=40), call("shout", text="hi")]},
        {"text": "Got: {{tool_results}}"},
        tools=[mcp("add", name, "add"), mcp("shout", name, "shout")],
    )
    chat = run_turn(platform, config)
    add, shout = invocations(chat)
    assert (add["type"], add["status"], add["result"]) == ("mcp", "completed", "42")
    assert add["data"] == {"result": 42}  # structured content
    assert (shout["status"], shout["result"]) == ("completed", "HI")
    assert text_of(last_reply(chat)) == "Got: 42\nHI"
    # The model was shown the server's own schema and description.
    offered = offered_tools(platform, chat)
    assert offered["add"]["description"] == "Add two whole numbers."
    params = offered["add"]["parameters"]
    assert params["required"] == ["a", "b"]
    assert params["properties"]["a"]["type"] == "integer"


def test_declared_params_win_over_the_servers_schema(platform: Platform) -> None:
    schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    config = scripted(
        {"tool_calls": [call("loud", text="ok")]},
        {"text": "{{tool_results}}"},
        tools=[{**mcp("loud", "calc", "shout", input_schema=schema), "description": "Mine"}],
    )
    chat = run_turn(platform, config)
    assert offered_tools(platform, chat)["loud"] == {
        "name": "loud",
        "description": "Mine",
        "parameters": schema,
    }
    assert invocations(chat)[0]["result"] == "OK"


def test_the_js_shape_names_the_server_by_integration_id(platform: Platform) -> None:
    tool = {
        "name": "add",
        "type": "mcp",
        "mcp": {"integration_id": "calc", "tool_name": "add"},
    }
    config = scripted(
        {"tool_calls": [call("add", a=1, b=1)]}, {"text": "{{tool_results}}"}, tools=[tool]
    )
    chat = run_turn(platform, config)
    assert invocations(chat)[0]["result"] == "2"


@pytest.mark.parametrize(
    ("server", "tool_name", "args", "expected"),
    [
        ("calc", "explode", {"why": "bad"}, "MCP server 'calc' tool 'explode' returned an error"),
        ("down", "add", {"a": 1, "b": 2}, "MCP server 'down' ("),
        ("nowhere", "add", {"a": 1, "b": 2}, "MCP server 'nowhere' is not registered"),
        ("calc", "missing", {}, "MCP server 'calc' tool 'missing' returned an error"),
        ("calc", "slow", {"seconds": 60}, "MCP server 'calc' (http://127.0.0.1:"),
    ],
)
def test_a_failing_server_gives_the_model_a_tool_error_naming_it(
    platform: Platform, server: str, tool_name: str, args: dict[str, Any], expected: str
) -> None:
    config = scripted(
        {"tool_calls": [call("t", **args)]},
        {"text": "after: {{tool_results}}"},
        tools=[mcp("t", server, tool_name)],
    )
    chat = run_turn(platform, config)
    (inv,) = invocations(chat)
    assert inv["status"] == "failed"
    assert inv["result"].startswith("Error: " + expected), inv["result"]
    if tool_name == "explode":
        assert "exploded: bad" in inv["result"]
    if tool_name == "slow":
        assert "did not answer tools/call 'slow' within 20 s" in inv["result"]
    # The turn went on: the model read the error and replied.
    reply = last_reply(chat)
    assert reply["status"] == "ready"
    assert text_of(reply).startswith("after: Error: MCP server")


def test_a_result_past_the_limit_is_cut_and_says_so(platform: Platform) -> None:
    config = scripted(
        {"tool_calls": [call("big", n=5000)]}, {"text": "ok"}, tools=[mcp("big", "calc", "big")]
    )
    (inv,) = invocations(run_turn(platform, config))
    assert inv["status"] == "completed"
    assert inv["result"] == "x" * 1000 + "\n[truncated: 1000 of 5000 characters]"
    assert "data" not in inv or inv["data"] is None  # 5 KB of structured content dropped


def test_a_stdio_server_that_never_speaks_times_out() -> None:
    # `sleep` runs but never answers the MCP handshake.
    registry = MCPRegistry(["mute=sleep 30"])
    started = time.monotonic()
    with pytest.raises(ToolFailure, match=r"MCP server 'mute' \(sleep 30\) did not answer"):
        asyncio.run(list_mcp_tools(registry.resolve("mute"), timeout=1.0))
    assert time.monotonic() - started < 10  # the silent process was not waited out


# -- configuration ------------------------------------------------------------------------------


def test_server_options_parse_urls_and_commands() -> None:
    assert parse_server_option("docs=http://127.0.0.1:9/mcp").url == "http://127.0.0.1:9/mcp"
    stdio = parse_server_option("fs=python 'my server.py' --root /tmp")
    assert stdio.command == ("python", "my server.py", "--root", "/tmp")
    for bad in ("noequals", "=http://x", "name=", "q=python 'unclosed"):
        with pytest.raises(MCPSetupError):
            parse_server_option(bad)


def test_mcp_yaml_entries_and_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "mcp.yaml").write_text(
        "servers:\n"
        "  a: http://127.0.0.1:1/mcp\n"
        "  b: {command: python, args: [srv.py], env: {K: v}, cwd: sub}\n"
        "  c: python other.py\n"
    )
    registry = MCPRegistry(["a=http://127.0.0.1:2/mcp"], [tmp_path])
    assert registry.resolve("a").url == "http://127.0.0.1:2/mcp"  # the command line wins
    b = registry.resolve("b")
    assert (b.command, b.env, b.cwd) == (("python", "srv.py"), (("K", "v"),), str(tmp_path / "sub"))
    assert registry.resolve("c").cwd == str(tmp_path)
    assert registry.resolve("http://h:1/mcp").url == "http://h:1/mcp"
    (tmp_path / "mcp.yaml").write_text("servers: [1, 2]\n")
    with pytest.raises(MCPSetupError, match="servers"):
        MCPRegistry([], [tmp_path])
    (tmp_path / "mcp.yaml").write_text("servers:\n  x: {url: ftp://h}\n")
    with pytest.raises(MCPSetupError, match="http"):
        MCPRegistry([], [tmp_path])


def test_dev_refuses_a_bad_mcp_option(tmp_path: Path) -> None:
    hello = AGENTS.parent / "apps" / "hello"
    done = subprocess.run(
        [sys.executable, "-m", "inferencesh", "dev", str(hello), "--mcp", "broken"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--mcp 'broken': expected NAME=URL" in done.stderr
