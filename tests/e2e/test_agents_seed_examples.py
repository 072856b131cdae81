"""Every agent snippet of the seed ("Agent SDK" to "Human Approval Workflows"), as written, with
the project's own client against the local platform and the scripted model.

Cloud refs in the snippets (``infsh/claude-sonnet-4@latest``, ``my-team/support-agent@latest``,
``infsh/flux-schnell@latest``, ...) resolve through the agents directory: template files with
those namespaces and an ``aliases.yaml``. The model's turns come from a script file the tests
rewrite (``SCRIPTED_MODEL_SCRIPT``). Only the webhook URL differs from the seed: it points at a
loopback receiver instead of hooks.slack.com.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import agentloop_testkit as e2e
import pytest
from inferencesh import (
    RequirementsNotMetException,
    agent_tool,
    app_tool,
    array,
    async_inference,
    boolean,
    enum_of,
    inference,
    integer,
    internal_tools,
    number,
    obj,
    optional,
    string,
    tool,
    webhook_tool,
)
from platform_testkit import OWN, App, PlatformFactory

KEY = e2e.KEY
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

_IMAGE_APP = """
from pathlib import Path
import tempfile
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, BaseAppSetup, File


class AppSetup(BaseAppSetup):
    model: str = "dev"


class AppInput(BaseAppInput):
    prompt: str
    steps: int = 4


class AppOutput(BaseAppOutput):
    image: File
    caption: str


class App(BaseApp):
    async def setup(self, config: AppSetup):
        self.model = config.model

    async def run(self, input_data: AppInput) -> AppOutput:
        path = Path(tempfile.mkdtemp()) / "image.png"
        path.write_bytes(bytes.fromhex("89504e470d0a1a0a") + input_data.prompt.encode())
        caption = f"{input_data.prompt} ({self.model}, {input_data.steps} steps)"
        return AppOutput(image=File(path=str(path)), caption=caption)
"""


# The seed's agents and apps, written into the platform's own folder.
AGENT_FILES = {
    "agents/support-agent.yaml": (
        "namespace: my-team\n"
        "system_prompt: You are a support agent.\n"
        "core_app: {ref: infsh/claude-sonnet-4@latest}\n"
    ),
    "agents/assistant.yaml": "namespace: my-org\ncore_app: {ref: infsh/gpt-4o-mini@latest}\n",
    "agents/researcher.yaml": (
        "namespace: my-org\n"
        "core_app:\n"
        "  ref: local/scripted-model\n"
        "  input:\n"
        "    script:\n"
        "      - tool_calls:\n"
        "          - name: finish\n"
        "            arguments: {result: 'Findings on {{input}}'}\n"
        "      - text: unused\n"
    ),
    "agents/aliases.yaml": "infsh/flux-schnell: local/image-gen\ninfsh/flux: local/image-gen\n",
}
APPS = [
    App("image-gen", _IMAGE_APP),
    App(
        "needs-secret",
        "from inferencesh import BaseApp\n\n\nclass App(BaseApp):\n    async def run(self, input_data):\n        return {}\n",
        "secrets:\n  - AGENTLOOP_MISSING_KEY\n",
    ),
]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Any]:
    with e2e.Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> Iterator[Any]:
    server = e2e.Platform.shared(
        local_platform,
        [e2e.AGENTS, OWN / "agents"],
        {"SLACK_SECRET": "slack-signing-secret"},
        APPS,
        files=AGENT_FILES,
    )
    yield server
    server.close()


@pytest.fixture
def client(platform: Any) -> Iterator[Any]:
    with inference(api_key=KEY, base_url=platform.base_url) as c:
        yield c


def model_input(platform: Any, message: Any) -> dict[str, Any]:
    """The input the core app received for an assistant message."""
    message = getattr(message, "message", message)  # an AgentResponse wraps its message
    task: dict[str, Any] = platform.call("GET", f"/tasks/{message['task_id']}")
    return task["input"]


# ---- Template Agents -----------------------------------------------------------------------------


def test_template_agents(platform: Any, client: Any) -> None:
    platform.script({"text": "Hi! How can I help?"}, {"text": "More. So far: {{history}}"})

    agent = client.agent("my-team/support-agent@latest")

    # Send message
    response = agent.send_message("Hello!")
    print(response.text)
    assert response.text == "Hi! How can I help?"

    # Multi-turn conversation
    response = agent.send_message("Tell me more")
    assert response.text == (
        "More. So far: user: Hello! | assistant: Hi! How can I help? | user: Tell me more"
    )
    chat_id = agent.chat_id

    # Get chat history
    chat = agent.get_chat()
    assert chat["id"] == chat_id
    assert [m["role"] for m in chat["chat_messages"]] == ["user", "assistant"] * 2
    assert model_input(platform, response)["system_prompt"] == "You are a support agent."

    # Reset conversation
    agent.reset()
    assert agent.chat_id is None
    platform.script({"text": "Fresh start"})
    assert agent.send_message("Hello!").text == "Fresh start"
    assert agent.chat_id != chat_id


# ---- Ad-hoc Agents -------------------------------------------------------------------------------


def test_ad_hoc_agents(platform: Any, client: Any) -> None:
    platform.script(
        {"tool_calls": [{"name": "calculate", "arguments": {"expression": "25 * 4"}}]},
        {"text": "25 * 4 = {{tool_results}}"},
    )

    # Define tools
    calculator = (
        tool("calculate")
        .describe("Perform a calculation")
        .param("expression", string("Math expression"))
        .build()
    )

    image_gen = (
        app_tool("generate_image", "infsh/flux-schnell@latest")
        .describe("Generate an image")
        .param("prompt", string("Image description"))
        .build()
    )

    # Create agent
    agent = client.agent(
        {
            "core_app": {"ref": "infsh/claude-sonnet-4@latest"},
            "system_prompt": "You are a helpful assistant.",
            "tools": [calculator, image_gen],
            "temperature": 0.7,
            "max_tokens": 4096,
        }
    )

    response = agent.send_message("What is 25 * 4?")

    # The calculator is a client tool without a handler: the turn waits for its result.
    (call,) = response.pending_tool_calls
    assert (call.name, call.args) == ("calculate", {"expression": "25 * 4"})
    agent.submit_tool_result(call.id, str(eval(call.args["expression"])))
    response = agent.wait()
    assert response.text == "25 * 4 = 100"
    first = agent.get_chat()["chat_messages"][1]
    sent = model_input(platform, first)
    assert sent["temperature"] == 0.7 and sent["max_tokens"] == 4096
    offered = {t["function"]["name"]: t["function"] for t in sent["tools"]}
    assert set(offered) >= {"calculate", "generate_image"}
    assert offered["generate_image"]["parameters"]["required"] == ["prompt"]


# ---- Tool Builder API ----------------------------------------------------------------------------


def test_parameter_types_reach_the_model(platform: Any, client: Any) -> None:
    name = string("User's name")
    age = integer("Age in years")
    score = number("Score 0-1")
    active = boolean("Is active")
    priority = enum_of(["low", "medium", "high"], "Priority")
    tags = array(string("Tag"), "List of tags")
    address = obj(
        {"street": string("Street"), "city": string("City"), "zip": optional(string("ZIP"))},
        "Address",
    )
    profile = (
        tool("save_profile")
        .describe("Save a profile")
        .param("name", name)
        .param("age", age)
        .param("score", score)
        .param("active", active)
        .param("priority", priority)
        .param("tags", tags)
        .param("address", address)
        .build()
    )
    platform.script({"text": "Saw {{tools}}"})
    agent = client.agent({"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "tools": [profile]})
    response = agent.send_message("save me")
    assert "save_profile" in response.text
    (offered,) = [
        t
        for t in model_input(platform, response)["tools"]
        if t["function"]["name"] == "save_profile"
    ]
    schema = offered["function"]["parameters"]
    assert schema == profile["client"]["input_schema"]
    assert schema["properties"]["address"]["required"] == ["street", "city"]
    assert schema["properties"]["priority"]["enum"] == ["low", "medium", "high"]


def test_client_tools_run_in_your_code(platform: Any, client: Any) -> None:
    greet = (
        tool("greet")
        .display("Greet User")
        .describe("Greets a user by name")
        .param("name", string("Name to greet"))
        .require_approval()
        .build()
    )
    platform.script(
        {"tool_calls": [{"name": "greet", "arguments": {"name": "Ada"}}]},
        {"text": "{{tool_results}}"},
    )
    agent = client.agent({"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "tools": [greet]})
    seen: list[Any] = []

    def handle_tool(call: Any) -> None:
        seen.append((call.name, call.args, call.requires_approval))
        agent.submit_tool_result(call.id, f"Hello, {call.args['name']}!")

    response = agent.send_message("greet Ada", on_tool_call=handle_tool)
    assert seen == [("greet", {"name": "Ada"}, True)]
    assert response.text == "Hello, Ada!"
    (inv,) = agent.get_chat()["chat_messages"][1]["tool_invocations"]
    assert inv["display_name"] == "Greet User" and inv["status"] == "completed"


def test_app_tools_call_ai_apps(platform: Any, client: Any) -> None:
    generate = (
        app_tool("generate_image", "infsh/flux-schnell@latest")
        .describe("Generate an image from text")
        .param("prompt", string("Image description"))
        .setup({"model": "schnell"})
        .input({"steps": 20})
        .require_approval()
        .build()
    )
    platform.script(
        {"tool_calls": [{"name": "generate_image", "arguments": {"prompt": "a red fox"}}]},
        {"text": "Here it is: {{tool_results}}"},
    )
    agent = client.agent({"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "tools": [generate]})

    def handle_tool(call: Any) -> None:
        assert call.requires_approval
        agent.approve_tool(call.id)

    response = agent.send_message("draw a fox", on_tool_call=handle_tool)
    (inv,) = agent.get_chat()["chat_messages"][1]["tool_invocations"]
    task = client.get_task(inv["execution_id"])
    assert task["output"]["caption"] == "a red fox (schnell, 20 steps)"
    assert task["output"]["image"]["uri"].startswith(platform.base_url)
    assert response.text.startswith(f"Here it is: Task {task['id']} local/image-gen completed")
    assert "a red fox (schnell, 20 steps)" in response.text


def test_agent_tools_delegate_to_sub_agents(platform: Any, client: Any) -> None:
    researcher = (
        agent_tool("research", "my-org/researcher@v1")
        .describe("Research a topic")
        .param("topic", string("Topic to research"))
        .build()
    )
    platform.script(
        {"tool_calls": [{"name": "research", "arguments": {"topic": "tidal energy"}}]},
        {"text": "Summary: {{tool_results}}"},
    )
    agent = client.agent(
        {"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "tools": [researcher]}
    )
    response = agent.send_message("research tidal energy")
    assert response.text == "Summary: Findings on tidal energy"
    chat = agent.get_chat()
    (child_id,) = chat["children"]
    child = client.agents.get_chat(child_id)
    assert child["parent_id"] == chat["id"]
    assert child["output"] == "Findings on tidal energy"


def test_webhook_tools_call_external_apis(platform: Any, client: Any, receiver: Any) -> None:
    notify = (
        webhook_tool("slack", receiver.base_url + "/hook")
        .describe("Send Slack notification")
        .secret("SLACK_SECRET")
        .param("channel", string("Channel"))
        .param("message", string("Message"))
        .build()
    )
    receiver.hooks.clear()
    receiver.callback = (KEY, "ok: delivered")
    platform.script(
        {
            "tool_calls": [
                {"name": "slack", "arguments": {"channel": "#ops", "message": "deployed"}}
            ]
        },
        {"text": "Slack says {{tool_results}}"},
    )
    agent = client.agent({"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "tools": [notify]})
    try:
        response = agent.send_message("tell ops we deployed")
    finally:
        receiver.callback = None
    assert response.text == "Slack says ok: delivered"
    ((headers, payload),) = receiver.hooks
    assert headers["x-hook-secret"] == "slack-signing-secret"
    assert payload["arguments"] == {"channel": "#ops", "message": "deployed"}
    assert payload["hook_name"] == "slack"


def test_internal_tools(platform: Any, client: Any) -> None:
    config = (
        internal_tools()
        .plan()
        .memory()
        .web_search(True)
        .code_execution(True)
        .image_generation({"enabled": True, "app_ref": "infsh/flux@latest"})
        .build()
    )

    agent = client.agent(
        {"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "internal_tools": config}
    )
    platform.script(
        {"text": "Tools: {{tools}}"},
        {"tool_calls": [{"name": "image_generation", "arguments": {"prompt": "a moon"}}]},
        {"text": "{{tool_results}}"},
    )
    response = agent.send_message("what can you do?")
    assert response.text == (
        "Tools: plan_create, plan_update, plan_load, memory_set, memory_get, memory_getall, "
        "web_search, code_execution, image_generation"
    )
    response = agent.send_message("draw the moon")
    assert "local/image-gen completed" in response.text and "a moon (dev, 4 steps)" in response.text


# ---- Streaming Agent Responses ---------------------------------------------------------------


def test_streaming_agent_responses(
    platform: Any, client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    platform.script(
        {"text": "Let me compute.", "tool_calls": [{"name": "qubits", "arguments": {"n": 3}}]},
        {"text": "Quantum computing uses {{tool_results}} states at once.", "delay": 0.02},
    )
    qubits = tool("qubits").describe("States of n qubits").param("n", integer("Qubits")).build()
    agent = client.agent({"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "tools": [qubits]})

    def execute_tool(name: str, args: dict[str, Any]) -> str:
        return str(2 ** args["n"])

    def handle_message(msg: Any) -> None:
        if msg.get("content"):
            print(msg["content"], end="", flush=True)

    def handle_tool(call: Any) -> None:
        print(f"\n[Tool: {call.name}]")
        result = execute_tool(call.name, call.args)
        agent.submit_tool_result(call.id, result)

    response = agent.send_message(
        "Explain quantum computing", on_message=handle_message, on_tool_call=handle_tool
    )
    out = capsys.readouterr().out
    assert out.startswith("Let me compute.\n[Tool: qubits]\n")
    assert out.endswith("Quantum computing uses 8 states at once.")
    assert response.text == "Quantum computing uses 8 states at once."


# ---- File Attachments ------------------------------------------------------------------------


def test_file_attachments(platform: Any, client: Any, tmp_path: Path) -> None:
    (tmp_path / "image.png").write_bytes(PNG)
    platform.script({"text": "I see {{files}}"}, {"text": "Analyzed {{files}}"})
    agent = client.agent({"core_app": {"ref": "infsh/claude-sonnet-4@latest"}})

    # From file path
    with open(tmp_path / "image.png", "rb") as f:
        response = agent.send_message("What's in this image?", files=[f.read()])
    assert response.text.startswith("I see ") and response.text.endswith(f":{len(PNG)}")

    # From base64
    response = agent.send_message(
        "Analyze this", files=["data:image/png;base64," + base64.b64encode(PNG).decode()]
    )
    assert response.text.startswith("Analyzed ") and response.text.endswith(f":{len(PNG)}")
    sent = model_input(platform, response)
    assert len(sent["images"]) == 1 and sent["images"][0].startswith(platform.base_url)
    # The first file stays in the conversation (raw bytes: an image only if it has a name).
    first = sent["context"][0]
    assert len(first.get("images", []) + first.get("files", [])) == 1


# ---- Skills ----------------------------------------------------------------------------------


def test_skills(platform: Any, client: Any) -> None:
    agent = client.agent(
        {
            "core_app": {"ref": "infsh/claude-sonnet-4@latest"},
            "skills": [
                {
                    "name": "code-review",
                    "description": "Code review guidelines",
                    "content": "# Code Review\n\n1. Check security\n2. Check performance...",
                },
                {
                    "name": "api-docs",
                    "description": "API documentation",
                    "url": "https://example.com/skills/api-docs.md",
                },
            ],
        }
    )
    # The model loads the inline skill on demand; the URL skill is only listed (nothing
    # reaches the internet unless the model asks for it).
    platform.script(
        {"tool_calls": [{"name": "skill_get", "arguments": {"skill": "code-review"}}]},
        {"text": "{{tool_results}}"},
    )
    response = agent.send_message("review my code")
    assert response.text == "# Code Review\n\n1. Check security\n2. Check performance..."
    offered = model_input(platform, agent.get_chat()["chat_messages"][1])["tools"]
    (skill_get,) = [t for t in offered if t["function"]["name"] == "skill_get"]
    assert "- api-docs: API documentation" in skill_get["function"]["description"]


# ---- Async Support ---------------------------------------------------------------------------


def test_async_support(platform: Any) -> None:
    platform.script({"text": "Hello from async!", "delay": 0.01})

    async def main() -> list[Any]:
        client = async_inference(api_key=KEY, base_url=platform.base_url)

        # Async app execution (the cloud ref resolves through the agents dir's aliases)
        result = await client.run({"app": "infsh/flux-schnell", "input": {"prompt": "A galaxy"}})
        assert result["output"]["caption"] == "A galaxy (dev, 4 steps)"

        # Async agent
        agent = client.agent("my-org/assistant@latest")
        response = await agent.send_message("Hello!")
        assert response.text == "Hello from async!"

        # Async streaming
        messages = []
        async for msg in agent.stream_messages():
            print(msg)
            messages.append(msg)
        await client.aclose()
        return messages

    messages = asyncio.run(main())
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[-1].text == "Hello from async!"


# ---- Error Handling --------------------------------------------------------------------------


def test_error_handling(platform: Any, client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        client.run({"app": "local/needs-secret", "input": {}})
    except RequirementsNotMetException as e:
        print("Missing requirements:")
        for err in e.errors:
            print(f"  - {err['type']}: {err['key']}")
    except RuntimeError as e:
        print(f"Error: {e}")
    assert capsys.readouterr().out == "Missing requirements:\n  - secret: AGENTLOOP_MISSING_KEY\n"


# ---- Human Approval Workflows ----------------------------------------------------------------


@pytest.mark.parametrize("approved", [True, False])
def test_human_approval_workflows(platform: Any, client: Any, approved: bool) -> None:
    delete_files = (
        tool("delete_files")
        .describe("Delete files matching a pattern")
        .param("pattern", string("Glob pattern"))
        .require_approval()
        .build()
    )
    platform.script(
        {"tool_calls": [{"name": "delete_files", "arguments": {"pattern": "/tmp/*.tmp"}}]},
        {"text": "Outcome: {{tool_results}}"},
    )
    agent = client.agent(
        {"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "tools": [delete_files]}
    )
    asked: list[str] = []

    def prompt_user(question: str) -> bool:
        asked.append(question)
        return approved

    def execute_tool(name: str, args: dict[str, Any]) -> dict[str, Any]:
        return {"deleted": 3, "pattern": args["pattern"]}

    def handle_tool(call: Any) -> None:
        if call.requires_approval:
            # Show to user, get confirmation
            approved = prompt_user(f"Allow {call.name}?")
            if approved:
                result = execute_tool(call.name, call.args)
                agent.submit_tool_result(call.id, result)
            else:
                agent.submit_tool_result(call.id, {"error": "Denied by user"})

    response = agent.send_message("Delete all temp files", on_tool_call=handle_tool)
    assert asked == ["Allow delete_files?"]
    (inv,) = agent.get_chat()["chat_messages"][1]["tool_invocations"]
    if approved:
        assert inv["status"] == "completed"
        assert json.loads(response.text.removeprefix("Outcome: ")) == {
            "deleted": 3,
            "pattern": "/tmp/*.tmp",
        }
    else:
        assert inv["status"] == "cancelled"
        assert response.text == "Outcome: Rejected by the user: Denied by user"


def test_always_allow_and_stop(platform: Any, client: Any) -> None:
    """The approval calls beyond the seed, and stopping a reply mid-stream."""
    ping = tool("ping").describe("Ping").param("n", integer("N")).require_approval().build()
    platform.script(
        {"tool_calls": [{"name": "ping", "arguments": {"n": 1}}]},
        {"text": "{{tool_results}}"},
        {"tool_calls": [{"name": "ping", "arguments": {"n": 2}}]},
        {"text": "second {{tool_results}}"},
        {"text": " ".join(["long"] * 200), "delay": 0.05},
    )
    agent = client.agent({"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "tools": [ping]})
    calls: list[Any] = []

    def first(call: Any) -> None:
        calls.append(call)
        agent.always_allow(call.id)
        agent.submit_tool_result(call.id, "pong 1")

    assert agent.send_message("ping", on_tool_call=first).text == "pong 1"
    # Now allowed: the next call asks nobody and waits only for its result.
    second = agent.send_message("ping again", on_tool_call=calls.append)
    assert second.status == "awaiting_input"
    (pending,) = second.pending_tool_calls
    assert not pending.requires_approval or pending.status == "awaiting_input"
    agent.submit_tool_result(pending.id, "pong 2")
    assert agent.wait().text == "second pong 2"
    assert agent.get_chat()["agent_data"]["always_allowed_tools"] == ["ping"]

    async def stop_midway() -> Any:
        async with async_inference(api_key=KEY, base_url=platform.base_url) as aclient:
            aagent = aclient.agent(
                {"core_app": {"ref": "infsh/claude-sonnet-4@latest"}, "tools": [ping]}
            )
            aagent.chat_id = agent.chat_id
            started = asyncio.Event()

            def on_message(update: Any) -> None:
                if update.message.text:
                    started.set()

            turn = asyncio.create_task(aagent.send_message("talk", on_message=on_message))
            await asyncio.wait_for(started.wait(), 20)
            await aagent.stop_chat()
            return await asyncio.wait_for(turn, 20)

    stopped = asyncio.run(stop_midway())
    assert stopped.status == "cancelled"
    assert 0 < len(stopped.text) < len(" ".join(["long"] * 200))
