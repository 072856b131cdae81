"""The published clients' streaming agent features against the local agent loop, unchanged:
0.36's ``on_delta`` and the JS SDK's ``onDelta`` (``@inferencesh/sdk`` 0.6.54 from npm, in
``.venvs/js-sdk``; skipped with the reason where Node is missing) receive the loop's token deltas,
and the JS SDK's streaming second turn of a chat completes (it opens the chat stream before
posting). Also: every 0.36 agent, tool and delta name of this package imports from
``inferencesh`` with 0.36's enum values and fields (compared with the published package)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import agentloop_testkit as e2e
import inferencesh
import msgspec
import pytest
from platform_testkit import PlatformFactory, run_published

ROOT = Path(__file__).resolve().parents[2]
JS_SDK = "@inferencesh/sdk@0.6.54"
TEXT = "Tokens arrive one small batch after another"
STREAMED = {"text": TEXT, "chunks": 5, "delay": 0.15}
SECOND = {"text": "second turn streamed", "chunks": 3, "delay": 0.15}


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Any]:
    server = e2e.Platform.shared(local_platform, [e2e.AGENTS])
    yield server
    server.close()


PY_DELTAS = textwrap.dedent(
    """
    import json, sys
    import inferencesh
    from inferencesh import inference

    base_url, api_key, config = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    agent = inference(api_key=api_key, base_url=base_url).agent(config)
    out = {"version": inferencesh.__version__, "turns": []}
    for text in ("first", "second"):
        deltas = []
        agent.send_message(text, on_delta=deltas.append)
        chat = getattr(agent.get_chat(), "data", None) or agent.get_chat()
        final = chat["chat_messages"][-1]
        out["turns"].append({
            "types": sorted({type(d).__name__ for d in deltas}),
            "ids": sorted({d.message_id for d in deltas}),
            "seqs": [d.seq for d in deltas],
            "merged": "".join(d.delta.get("response") or "" for d in deltas),
            "output": deltas[-1].output.get("response") if deltas else None,
            "final_id": final["id"],
            "final": "".join(c.get("text") or "" for c in final["content"] if c["type"] == "text"),
        })
    print(json.dumps(out))
    """
)


def test_published_on_delta_receives_the_loops_deltas(
    published_python: Path, platform: Any, tmp_path: Path
) -> None:
    config = json.dumps(e2e.scripted(STREAMED, SECOND))
    out = run_published(published_python, PY_DELTAS, [platform.base_url, e2e.KEY, config], tmp_path)
    first, second = out["turns"]
    for turn, text in ((first, TEXT), (second, "second turn streamed")):
        assert turn["types"] == ["AgentDelta"]
        assert turn["merged"] == turn["output"] == turn["final"] == text
        assert turn["ids"] == [turn["final_id"]]
        # Increasing; a stream that joins part way starts with the deltas so far, merged.
        assert turn["seqs"] == sorted(set(turn["seqs"])) and len(turn["seqs"]) > 1


# -- the JS SDK ------------------------------------------------------------------------------------

# The published package's ES modules import their siblings without file extensions (as a
# bundler resolves them); plain Node needs this resolve hook to load the package as shipped.
_RESOLVE = """
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith("./") || specifier.startsWith("../");
    if (!relative || !["ERR_MODULE_NOT_FOUND", "ERR_UNSUPPORTED_DIR_IMPORT"].includes(error.code)) {
      throw error;
    }
    for (const suffix of [".js", "/index.js"]) {
      try {
        return await next(specifier + suffix, context);
      } catch {}
    }
    throw error;
  }
}
"""
_REGISTER = 'import { register } from "node:module";\nregister("./resolve.mjs", import.meta.url);\n'

JS_SCRIPT = """
import { inference } from "@inferencesh/sdk";

const [baseUrl, apiKey, config] = process.argv.slice(2);
const client = inference({ apiKey, baseUrl });
const agent = client.agent(JSON.parse(config));
const turns = [];
for (const text of ["first", "second"]) {
  const deltas = [];
  const result = await agent.sendMessage(text, {
    onDelta: (d) => deltas.push(d),
    onMessage: () => {},
  });
  const chat = await agent.getChat();
  const final = chat.chat_messages[chat.chat_messages.length - 1];
  turns.push({
    assistant: result.assistantMessage.id,
    ids: [...new Set(deltas.map((d) => d.messageId))],
    seqs: deltas.map((d) => d.seq),
    merged: deltas.map((d) => d.delta.response ?? "").join(""),
    output: deltas.length ? deltas[deltas.length - 1].output.response : null,
    final: final.content.filter((c) => c.type === "text").map((c) => c.text).join(""),
    status: chat.status,
  });
}
agent.disconnect();
console.log(JSON.stringify({ turns }));
process.exit(0);
"""


@pytest.fixture(scope="session")
def js_sdk() -> Path:
    """``.venvs/js-sdk``: the published JS SDK from npm, installed on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js (node and npm) is not installed: the JS SDK cannot run here")
    home = ROOT / ".venvs" / "js-sdk"
    package = home / "node_modules" / "@inferencesh" / "sdk" / "package.json"
    wanted = JS_SDK.rsplit("@", 1)[1]
    if not package.exists() or json.loads(package.read_text())["version"] != wanted:
        home.mkdir(parents=True, exist_ok=True)
        (home / "package.json").write_text('{"name": "js-sdk-peer", "private": true}\n')
        proc = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", JS_SDK],
            cwd=home,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"npm install {JS_SDK} failed:\n{proc.stderr[-2000:]}"
    (home / "resolve.mjs").write_text(_RESOLVE)
    (home / "register.mjs").write_text(_REGISTER)
    return home


def test_js_sdk_streams_two_turns_with_on_delta(js_sdk: Path, platform: Any) -> None:
    script = js_sdk / "agent_turns.mjs"
    script.write_text(JS_SCRIPT)
    config = json.dumps(e2e.scripted(STREAMED, SECOND))
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    proc = subprocess.run(
        ["node", "--import", "./register.mjs", script.name, platform.base_url, e2e.KEY, config],
        cwd=js_sdk,
        capture_output=True,
        text=True,
        timeout=90,  # before: the second turn never finished
        env=env,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    first, second = json.loads(proc.stdout.strip().splitlines()[-1])["turns"]
    for turn, text in ((first, TEXT), (second, "second turn streamed")):
        assert turn["merged"] == turn["output"] == turn["final"] == text
        assert turn["ids"] == [turn["assistant"]]
        # Increasing; a stream that joins part way starts with the deltas so far, merged.
        assert turn["seqs"] == sorted(set(turn["seqs"])) and len(turn["seqs"]) > 1
        assert turn["status"] == "idle"


# -- every 0.36 agent name, with 0.36's values and fields ----------------------------------------

ENUMS = [
    "ChatStatus",
    "ChatMessageRole",
    "ChatMessageContentType",
    "ToolType",
    "ToolInvocationStatus",
]
STRUCTS = [
    "AgentTool",
    "AgentToolDTO",
    "AgentConfig",
    "InternalToolsConfig",
    "ChatDTO",
    "ChatMessageDTO",
    "ChatData",
    "ChatMessageContent",
    "LLMContextMessage",
    "ToolCall",
    "ToolCallFunction",
    "ToolInvocationDTO",
    "ToolResultRequest",
    "Tool",
    "ToolFunction",
    "ToolParameters",
]
RECORDS = ["ToolCallInfo", "AgentDelta", "PendingApproval", "ClientTool"]
NAMES = [*ENUMS, *STRUCTS, *RECORDS, "pending_approvals", "ClientToolHandler"]

PY_NAMES = textwrap.dedent(
    """
    import json, sys, typing, dataclasses
    import inferencesh

    enums, structs, records = (json.loads(a) for a in sys.argv[1:4])
    out = {"version": inferencesh.__version__, "enums": {}, "fields": {}}
    for name in enums:
        out["enums"][name] = sorted(m.value for m in getattr(inferencesh, name))
    for name in structs + records:
        out["fields"][name] = sorted(typing.get_type_hints(getattr(inferencesh, name)))
    print(json.dumps(out))
    """
)


def _our_fields(value: Any) -> set[str]:
    if isinstance(value, type) and issubclass(value, msgspec.Struct):
        return {f.encode_name for f in msgspec.structs.fields(value)}
    slots = getattr(value, "_keys", None)
    if slots is not None:
        return set(slots)
    return set(typing.get_type_hints(value))


def test_every_036_agent_name_imports_with_its_values_and_fields(
    published_python: Path, tmp_path: Path
) -> None:
    for name in NAMES:
        assert getattr(inferencesh, name) is not None, name
        assert name in inferencesh.__all__
    args = [json.dumps(ENUMS), json.dumps(STRUCTS), json.dumps(RECORDS)]
    theirs = run_published(published_python, PY_NAMES, args, tmp_path)
    for name, values in theirs["enums"].items():
        ours = getattr(inferencesh, name)
        assert sorted(m.value for m in ours) == values, name
        assert all(isinstance(m, str) for m in ours), name  # str enums, as 0.36's
    for name, fields in theirs["fields"].items():
        missing = set(fields) - _our_fields(getattr(inferencesh, name))
        assert not missing, f"{name} lacks 0.36's fields {sorted(missing)}"
