"""One command, no account, no model download: agents on the local platform.

    python examples/agents/demo.py

Starts ``inferencesh dev`` over ``examples/apps`` with the template agents of this folder, then
chats with a template agent and with an ad-hoc agent whose tool runs in this process. Both think
with ``local/scripted-model``; see docs/local-agents.md to put a real model behind them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from inferencesh import inference, string, tool
from inferencesh.platform.launcher import LocalPlatform

HERE = Path(__file__).resolve().parent
APPS = HERE.parent / "apps"


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as data,
        LocalPlatform([APPS], data_dir=data, args=["--agents-dir", str(HERE)]) as platform,
    ):
        print(f"local platform at {platform.base_url}\n")
        client = inference(api_key=platform.api_key, base_url=platform.base_url)

        agent = client.agent("local/assistant")
        for text in ("Hello!", "Tell me more"):
            print(f"you:   {text}")
            print(f"agent: {agent.send_message(text).text}\n")

        lookup = (
            tool("lookup")
            .describe("Look a word up in the dictionary")
            .param("word", string("The word"))
            .handler(lambda args: f"{args['word']}: an atom or molecule with a net charge")
        )
        helper = client.agent(
            {
                "core_app": {
                    "ref": "local/scripted-model",
                    "input": {
                        "script": [
                            {"tool_calls": [{"name": "lookup", "arguments": {"word": "ion"}}]},
                            {"text": "The dictionary says {{tool_results}}", "delay": 0.05},
                        ]
                    },
                },
                "system_prompt": "Answer with the lookup tool.",
                "tools": [lookup],
            }
        )
        print("you:   What is an ion?")
        print("agent: ", end="", flush=True)
        helper.send_message(
            "What is an ion?",
            on_message=lambda update: print(update.content, end="", flush=True),
            on_tool_call=lambda call: print(f"[{call.name}({call.args})] ", end="", flush=True),
        )
        print()


if __name__ == "__main__":
    main()
