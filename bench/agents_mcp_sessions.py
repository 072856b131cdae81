"""MCP tool calls with a session per call versus pooled sessions (the local agent loop's MCP
client, ``inferencesh.platform.agents.mcp``).

A FastMCP server (the official ``mcp`` package) runs over streamable HTTP on 127.0.0.1 and over
stdio; 20 sequential ``tools/call``s go through ``call_mcp_tool`` with the registry unpooled
(a session opened and closed per call: the loop before pooling) and pooled (one session kept
per server). Best of ``--rounds`` rounds; prints each side and the ratio.

Run: ``.venv/bin/python bench/agents_mcp_sessions.py [--calls 20] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
from inferencesh.platform.agents.mcp import MCPRegistry, call_mcp_tool
from inferencesh.platform.agents.tool_calls import collect_tools

SERVER = textwrap.dedent(
    '''
    import sys
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("bench", host="127.0.0.1", port=int(sys.argv[2]) if len(sys.argv) > 2 else 0)

    @mcp.tool()
    def add(a: int, b: int) -> int:
        """Add two whole numbers."""
        return a + b

    mcp.run(transport="streamable-http" if sys.argv[1] == "http" else "stdio")
    '''
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_http(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(path), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the MCP bench server did not start")


async def _calls(registry: MCPRegistry, server: str, calls: int) -> float:
    tool = {"name": "add", "type": "mcp", "mcp": {"server": server, "tool_name": "add"}}
    spec = collect_tools({"tools": [tool]}, is_child=False)["add"]
    started = time.perf_counter()
    for index in range(calls):
        text, _ = await call_mcp_tool(registry, spec, {"a": index, "b": 1})
        assert text == str(index + 1), text
    elapsed = time.perf_counter() - started
    await registry.close()
    return elapsed


def _best(options: list[str], server: str, calls: int, rounds: int, pooled: bool) -> float:
    return min(
        asyncio.run(_calls(MCPRegistry(options, pooled=pooled), server, calls))
        for _ in range(rounds)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench_server.py"
        path.write_text(SERVER)
        process, url = _start_http(path)
        try:
            options = [f"http={url}", f"stdio={sys.executable} {path} stdio"]
            print(f"{args.calls} sequential MCP tools/call, best of {args.rounds}")
            print(f"{'transport':<10} {'per call':>12} {'pooled':>12} {'ratio':>8}")
            for name in ("http", "stdio"):
                per_call = _best(options, name, args.calls, args.rounds, pooled=False)
                pooled = _best(options, name, args.calls, args.rounds, pooled=True)
                print(
                    f"{name:<10} {per_call:>10.3f} s {pooled:>10.3f} s {per_call / pooled:>7.1f}x"
                )
        finally:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
