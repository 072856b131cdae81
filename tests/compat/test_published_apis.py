"""More of the published ``inferencesh`` client (latest from PyPI, in ``.venvs/published``) run
unchanged against the local platform: the namespaced APIs (``tasks``, ``files``, ``sessions``,
``agents``), task streams and waits, uploads in every accepted form, downloads, a task's files,
session handles, and the agent calls the other compatibility tests leave out (stop, reject,
structured output, attachments, the chat streams), each sync and async.

Each scenario runs in one subprocess of the published client and prints one JSON object; the
tests assert on it. One platform serves the whole module.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory, run_published

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "examples" / "apps"
AGENTS = ROOT / "examples" / "agents"

SCRIPT = textwrap.dedent(
    '''
    import asyncio, base64, json, sys, time
    import requests
    import inferencesh
    from inferencesh import inference, async_inference, UploadFileOptions, app_tool, tool, string
    from inferencesh.models.errors import APIError
    from inferencesh.agent import pending_approvals

    base_url, api_key, scenario, workdir = sys.argv[1:5]
    client = inference(api_key=api_key, base_url=base_url)
    out = {"version": inferencesh.__version__}

    def fetch(uri):
        """The bytes at a file uri, fetched as any user would (no API key: it is signed)."""
        response = requests.get(uri, timeout=10)
        return {"status": response.status_code, "text": response.text if response.ok else None}

    def api_error(call):
        try:
            call()
        except APIError as exc:
            return {"status": exc.status_code, "code": exc.code}
        return None

    def text_of(message):
        return "".join(c.get("text") or "" for c in message["content"] if c.get("type") == "text")

    RUNNING = ("working", "submitted", "input_required")

    def settled(agent):
        deadline = time.time() + 30
        while time.time() < deadline:
            chat = agent.get_chat()
            if (chat.get("active_run") or {}).get("state") not in RUNNING:
                return chat
            time.sleep(0.05)
        raise SystemExit(f"chat never settled: {chat}")

    async def asettled(agent):
        deadline = time.time() + 30
        while time.time() < deadline:
            chat = await agent.get_chat()
            if (chat.get("active_run") or {}).get("state") not in RUNNING:
                return chat
            await asyncio.sleep(0.05)
        raise SystemExit(f"chat never settled: {chat}")

    def running(task_id):
        deadline = time.time() + 30
        while time.time() < deadline:
            if client.tasks.get(task_id).data["status"] == 7:
                return
            time.sleep(0.05)
        raise SystemExit(f"task {task_id} never ran")

    def waiting_approval(get_chat):
        deadline = time.time() + 30
        while time.time() < deadline:
            waiting = pending_approvals(get_chat())
            if waiting:
                return waiting
            time.sleep(0.05)
        raise SystemExit("no approval ever pending")

    def scripted(*turns, **extra):
        return {"core_app": {"ref": "local/scripted-model", "input": {"script": list(turns)}}, **extra}

    HELLO = {"app": "local/hello", "input": {"prompt": "namespaced"}}
    SLOW = {"app": "local/slow", "input": {"seconds": 30}}

    if scenario == "tasks":
        done = client.tasks.run(HELLO)
        out["run"] = {"status": done["status"], "result": done["output"]["result"]}
        task = client.tasks.run(HELLO, wait=False)
        out["waited"] = client.tasks.wait_for_completion(task["id"])["status"]
        got = client.tasks.get(task["id"])
        out["get"] = {"wrapped": type(got).__name__, "id": got.data["id"], "status": got.data["status"]}
        # A stream of a finished task still ends with its final state.
        with client.tasks.stream(task["id"]) as finished:
            out["finished_stream"] = [u["status"] for u in finished]
        out["finished_result"] = finished.result["status"]
        words = {"app": "local/streaming", "input": {"text": "a b c", "delay": 0.05}}
        stream = client.run(words, stream=True)
        out["run_stream"] = [(u.get("output") or {}).get("words") for u in stream if u["status"] == 7]
        out["run_stream_result"] = stream.result["output"]
        started = client.run(words, wait=False)
        out["stream_task"] = [u["status"] for u in client.stream_task(started["id"])][-1]
        try:
            client.run({"app": "local/failing", "input": {"message": "kaboom"}})
            out["failed"] = None
        except RuntimeError as exc:
            out["failed"] = str(exc)
        slow = client.run(SLOW, wait=False)
        running(slow["id"])  # the wait starts on a running task (a worker start can take 0.5 s)
        try:
            client.wait_for_completion(slow["id"], timeout=0.5)
            out["timeout"] = None
        except TimeoutError as exc:
            # The task (30 s, cancelled only below) is still running when the wait gives up.
            after = client.tasks.get(slow["id"]).data["status"]
            out["timeout"] = {"message": str(exc), "task_status_after": after}
        client.tasks.cancel(slow["id"])
        try:
            client.wait_for_completion(slow["id"])
        except RuntimeError as exc:
            out["cancelled"] = str(exc)
        client.tasks.delete(task["id"])
        out["deleted_get"] = api_error(lambda: client.tasks.get(task["id"]))
        out["unknown_get"] = api_error(lambda: client.get_task("no-such-task"))
    elif scenario == "files":
        raw = client.files.upload(b"raw bytes", UploadFileOptions(filename="raw.txt", content_type="text/plain"))
        out["raw"] = {"filename": raw["filename"], "content_type": raw["content_type"], "fetched": fetch(raw["uri"])}
        data_uri = "data:text/plain;base64," + base64.b64encode(b"from a data uri").decode()
        out["data_uri"] = fetch(client.upload_file(data_uri)["uri"])
        long_text = b"base64 text long enough to be taken for base64 by the client, " * 2
        out["base64"] = fetch(client.files.upload(base64.b64encode(long_text).decode())["uri"])["text"]
        out["base64_expected"] = long_text.decode()
        # A data URI in the input is uploaded by the client and reaches the app as a file.
        result = client.run({"app": "local/files", "input": {"document": data_uri}})
        out["run"] = {"size": result["output"]["size"], "upper": fetch(result["output"]["upper"]["uri"])}
        # The SDK's download helper fetches an output into a folder of the user's choosing.
        saved = inferencesh.download(result["output"]["upper"]["uri"], f"{workdir}/downloads")
        out["downloaded"] = {"name": saved.rsplit("/", 1)[-1], "text": open(saved).read()}
    elif scenario == "task_files":
        source = client.files.upload(b"task input", UploadFileOptions(filename="in.txt", content_type="text/plain"))
        task = client.run({"app": "local/files", "input": {"document": source["uri"]}})
        listed = client.tasks.files(task["id"]).data
        out["listed"] = sorted((f["role"], f["uri"]) for f in listed)
        out["input_uri"], out["output_uri"] = source["uri"], task["output"]["upper"]["uri"]
        out["outputs"] = [f["role"] for f in client.tasks.files(task["id"], role="output").data]
        removed = client.tasks.delete_files(task["id"], role="output").data
        out["removed"] = {"deleted": len(removed["deleted"]), "skipped": len(removed["skipped"])}
        out["output_after"] = fetch(task["output"]["upper"]["uri"])["status"]
        out["input_after"] = fetch(source["uri"])["status"]
        out["task_after"] = client.tasks.get(task["id"]).data["status"]
        out["files_after"] = [f["role"] for f in client.tasks.files(task["id"]).data]
        out["bad_role"] = api_error(lambda: client.tasks.files(task["id"], role="both"))
        running = client.run(SLOW, wait=False)
        out["running_delete_files"] = api_error(lambda: client.tasks.delete_files(running["id"]))
        out["running_delete"] = api_error(lambda: client.tasks.delete(running["id"], files=True))
        client.tasks.cancel(running["id"])
        client.tasks.delete(task["id"], files=True)
        out["input_after_delete"] = fetch(source["uri"])["status"]
        out["task_after_delete"] = api_error(lambda: client.tasks.get(task["id"]))
    elif scenario == "sessions":
        with client.session("local/counter", function="set_value", input={"value": 2}) as handle:
            out["called"] = handle.call("increment", {"by": 5})["output"]
            out["info"] = {k: handle.info()[k] for k in ("id", "status", "call_count")}
            before = handle.info()["expires_at"]
            time.sleep(1.1)
            out["keepalive_later"] = handle.keepalive()["expires_at"] > before
            out["listed"] = handle.session_id in [s["id"] for s in client.sessions.list()]
            out["keepalive_ns"] = client.sessions.keepalive(handle.session_id)["status"]
            session_id = handle.session_id
        out["after_exit"] = client.sessions.get(session_id)["status"]
        try:
            handle.call("increment", {"by": 1})
            out["call_after_end"] = None
        except RuntimeError as exc:
            out["call_after_end"] = str(exc)
        out["keepalive_ended"] = api_error(lambda: client.sessions.keepalive(session_id))
        out["unknown_session"] = api_error(lambda: client.sessions.get("sess_nope"))
    elif scenario == "async":
        async def main():
            aclient = async_inference(api_key=api_key, base_url=base_url)
            res = {}
            task = await aclient.tasks.run(HELLO, wait=False)
            res["waited"] = (await aclient.wait_for_completion(task["id"]))["status"]
            res["get"] = (await aclient.tasks.get(task["id"])).data["status"]
            res["streamed"] = [u["status"] async for u in aclient.stream_task(task["id"])][-1]
            uploaded = await aclient.files.upload(b"async bytes", UploadFileOptions(filename="a.txt", content_type="text/plain"))
            res["uploaded"] = fetch(uploaded["uri"])["text"]
            used = await aclient.run({"app": "local/files", "input": {"document": uploaded["uri"]}})
            res["task_files"] = sorted(f["role"] for f in (await aclient.tasks.files(used["id"])).data)
            removed = (await aclient.tasks.delete_files(used["id"], role="input")).data
            res["removed"] = {"deleted": removed["deleted"], "gone": fetch(uploaded["uri"])["status"]}
            res["uploaded_id"] = uploaded["id"]
            slow = await aclient.run(SLOW, wait=False)
            await aclient.tasks.cancel(slow["id"])
            try:
                await aclient.tasks.wait_for_completion(slow["id"])
            except RuntimeError as exc:
                res["cancelled"] = str(exc)
            await aclient.tasks.delete(task["id"])
            try:
                await aclient.get_task(task["id"])
            except APIError as exc:
                res["deleted"] = exc.status_code
            async with await aclient.session("local/counter", function="set_value", input={"value": 4}) as handle:
                res["called"] = (await handle.call("increment", {"by": 1}))["output"]
                res["info"] = (await handle.info())["call_count"]
                res["keepalive"] = (await handle.keepalive())["status"]
                res["listed"] = handle.session_id in [s["id"] for s in await aclient.sessions.list()]
                session_id = handle.session_id
            res["after_exit"] = (await aclient.sessions.get(session_id))["status"]
            return res
        out.update(asyncio.run(main()))
    elif scenario == "agent":
        # stop_chat: a slow reply is cut short.
        agent = client.agents.create(scripted({"text": "one two three four five six", "delay": 0.5}))
        agent.send_message("go slowly")
        time.sleep(0.3)
        agent.stop_chat()
        chat = settled(agent)
        out["stopped"] = {"chat": chat["status"], "message": chat["chat_messages"][-1]["status"]}
        # reject_tool: the model reads why.
        write = app_tool("write", "local/hello").describe("Write").require_approval().build()
        agent = client.agent(scripted(
            {"tool_calls": [{"name": "write", "arguments": {"prompt": "an ode"}}]},
            {"text": "Done: {{tool_results}}"}, tools=[write]))
        agent.send_message("write an ode")
        waiting = waiting_approval(agent.get_chat)
        agent.reject_tool(waiting[0].tool_invocation_id, "not today")
        chat = settled(agent)
        out["rejected"] = {"final": text_of(chat["chat_messages"][-1]),
                           "invocation": chat["chat_messages"][1]["tool_invocations"][0]["status"]}
        # run: the finish tool's result is the chat's output.
        agent = client.agent(scripted(
            {"tool_calls": [{"name": "finish", "arguments": {"answer": 42}}]},
            output_schema={"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}))
        out["run_output"] = agent.run("what is the answer?", on_message=lambda m: None)
        # files: uploaded by the agent and attached to the message.
        agent = client.agent(scripted({"text": "Files: {{files}}"}))
        ref = agent.upload_file(b"attached bytes", filename="notes.txt")
        out["file_ref"] = {"filename": ref["filename"], "size": ref["size"], "fetched": fetch(ref["uri"])["text"]}
        agent.send_message("read this", files=[base64.b64encode(b"twelve bytes").decode()], on_message=lambda m: None)
        out["files_reply"] = text_of(settled(agent)["chat_messages"][-1])
        # A widget action (a dict) is sent as JSON text.
        ask = tool("ask").describe("Ask the user").param("question", string("The question")).build()
        agent = client.agent(scripted(
            {"tool_calls": [{"name": "ask", "arguments": {"question": "name?"}}]},
            {"text": "Got: {{tool_results}}"}, tools=[ask]))
        action = {"action": {"type": "confirm"}, "form_data": {"name": "Ada"}}
        agent.send_message("ask me", on_tool_call=lambda call: agent.submit_tool_result(call.id, action))
        chat = settled(agent)
        out["widget"] = {"result": chat["chat_messages"][1]["tool_invocations"][0]["result"],
                         "final": text_of(chat["chat_messages"][-1])}
        # The chat streams, read after a message sent without callbacks.
        agent = client.agent("local/assistant")
        agent.send_message("stream me")
        for message in agent.stream_messages():
            if message["role"] == "assistant" and message["status"] == "ready":
                out["stream_messages"] = text_of(message)
                break
        agent.send_message("again")
        states = []
        for chat in agent.stream_chat():
            states.append(chat["status"])
            if chat["status"] != "busy":
                break
        out["stream_chat"] = states[-1]
        agent.send_message("and all")
        seen = {"chats": 0, "messages": []}
        agent.stream_all(on_chat=lambda c: seen.__setitem__("chats", seen["chats"] + 1),
                         on_message=lambda m: seen["messages"].append(m["role"]))
        out["stream_all"] = {"chats": seen["chats"] > 0, "roles": sorted(set(seen["messages"]))}
        # Per-chat context: required fields the agent declares must come with the chat.
        needs = scripted({"text": "ok"}, context=[{"name": "team", "required": True}])
        try:
            client.agent(needs).send_message("hi")
            out["context_missing"] = None
        except RuntimeError as exc:
            out["context_missing"] = str(exc)
        given = client.agent(needs, context={"team": "blue"})
        given.send_message("hi", on_message=lambda m: None)
        out["context_given"] = text_of(settled(given)["chat_messages"][-1])
    elif scenario == "agent_async":
        async def main():
            aclient = async_inference(api_key=api_key, base_url=base_url)
            res = {}
            agent = aclient.agents.create("local/assistant")
            await agent.send_message("async stream")
            async for message in agent.stream_messages():
                if message["role"] == "assistant" and message["status"] == "ready":
                    res["stream_messages"] = text_of(message)
                    break
            await agent.send_message("async chat")
            async for chat in agent.stream_chat():
                if chat["status"] != "busy":
                    res["stream_chat"] = chat["status"]
                    break
            seen = []
            await agent.send_message("async all")
            await agent.stream_all(on_message=lambda m: seen.append(m["role"]))
            res["stream_all"] = sorted(set(seen))
            slow = aclient.agent(scripted({"text": "one two three four five six", "delay": 0.5}))
            await slow.send_message("slowly")
            await asyncio.sleep(0.3)
            await slow.stop_chat()
            chat = await slow.get_chat()
            res["stopped"] = chat["chat_messages"][-1]["status"]
            write = app_tool("write", "local/hello").describe("Write").require_approval().build()
            for decision in ("approve", "reject"):
                gated = aclient.agent(scripted(
                    {"tool_calls": [{"name": "write", "arguments": {"prompt": "a haiku"}}]},
                    {"text": "Done: {{tool_results}}"}, tools=[write]))
                await gated.send_message("write")
                for _ in range(600):
                    waiting = pending_approvals(await gated.get_chat())
                    if waiting:
                        break
                    await asyncio.sleep(0.05)
                if decision == "approve":
                    await gated.approve_tool(waiting[0].tool_invocation_id)
                else:
                    await gated.reject_tool(waiting[0].tool_invocation_id, "no")
                await gated.stream_all()
                res[decision] = text_of((await gated.get_chat())["chat_messages"][-1])
            lookup = tool("lookup").describe("Look up").param("word", string("The word")).build()
            helper = aclient.agent(scripted(
                {"tool_calls": [{"name": "lookup", "arguments": {"word": "ion"}}]},
                {"text": "It means: {{tool_results}}"}, tools=[lookup]))
            async def answer(call):
                await helper.submit_tool_result(call.id, "a charged particle")
            await helper.send_message("what is an ion?", on_tool_call=answer)
            # The stream ends once the run waits on the tool; the reply follows the result.
            res["tool"] = text_of((await asettled(helper))["chat_messages"][-1])
            finisher = aclient.agent(scripted(
                {"tool_calls": [{"name": "finish", "arguments": {"result": "all done"}}]},
                internal_tools={"finish": True}))
            res["run_output"] = await finisher.run("finish it", on_message=lambda m: None)
            ref = await aclient.files.upload(b"attached", UploadFileOptions(filename="a.txt", content_type="text/plain"))
            reader = aclient.agent(scripted({"text": "Files: {{files}}"}))
            await reader.send_message("read", attachments=[
                {"uri": ref["uri"], "filename": ref["filename"], "content_type": ref["content_type"]}],
                on_message=lambda m: None)
            res["files_reply"] = text_of((await reader.get_chat())["chat_messages"][-1])
            return res
        out.update(asyncio.run(main()))
    print(json.dumps(out))
    '''
)


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    args = ["--heartbeat", "1", "--cancel-timeout", "3"]
    return local_platform([APPS], agents=[AGENTS], args=args, env={"SCRIPTED_MODEL_SCRIPT": None})


def scenario(published: Path, server: LocalPlatform, name: str, tmp_path: Path) -> dict[str, Any]:
    args = [server.base_url, server.api_key, name, str(tmp_path)]
    return run_published(published, SCRIPT, args, tmp_path)


def test_tasks_api_streams_waits_and_errors(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "tasks", tmp_path)
    assert out["run"] == {"status": 10, "result": "modern: namespaced"}
    assert out["waited"] == 10
    assert out["get"]["wrapped"] == "Response" and out["get"]["status"] == 10
    assert out["finished_stream"] == [10] and out["finished_result"] == 10
    assert [w for w in out["run_stream"] if w is not None] == [1, 2, 3]
    assert out["run_stream_result"] == {"text": "a b c", "words": 3, "done": True}
    assert out["stream_task"] == 10
    assert out["failed"] == "ValueError: kaboom"
    assert "did not complete within 0.5s (status: 7)" in out["timeout"]["message"]
    # It gave up at its own deadline: the task was still running (it ends only when cancelled,
    # after the wait returned), rather than a bound on seconds that a loaded machine can miss.
    assert out["timeout"]["task_status_after"] == 7
    assert out["cancelled"] == "task cancelled"
    assert out["deleted_get"] == {"status": 404, "code": "not_found"}
    assert out["unknown_get"] == {"status": 404, "code": "not_found"}


def test_files_upload_bytes_data_uri_and_base64(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "files", tmp_path)
    assert out["raw"] == {
        "filename": "raw.txt",
        "content_type": "text/plain",
        "fetched": {"status": 200, "text": "raw bytes"},
    }
    assert out["data_uri"] == {"status": 200, "text": "from a data uri"}
    assert out["base64"] == out["base64_expected"]
    assert out["run"] == {"size": 15, "upper": {"status": 200, "text": "FROM A DATA URI"}}
    assert out["downloaded"]["text"] == "FROM A DATA URI"
    assert out["downloaded"]["name"].startswith("upper-")


def test_task_files_listed_and_deleted(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "task_files", tmp_path)
    assert out["listed"] == sorted([["input", out["input_uri"]], ["output", out["output_uri"]]])
    assert out["outputs"] == ["output"]
    assert out["removed"] == {"deleted": 1, "skipped": 0}
    assert out["output_after"] == 404 and out["input_after"] == 200
    assert out["task_after"] == 10 and out["files_after"] == ["input"]
    assert out["bad_role"] == {"status": 400, "code": "invalid_request"}
    assert out["running_delete_files"] == {"status": 409, "code": "conflict"}
    assert out["running_delete"] == {"status": 409, "code": "conflict"}
    assert out["input_after_delete"] == 404
    assert out["task_after_delete"] == {"status": 404, "code": "not_found"}


def test_session_handle_and_sessions_api(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "sessions", tmp_path)
    assert out["called"] == {"value": 7}
    assert out["info"]["status"] == "active" and out["info"]["call_count"] == 2
    assert out["info"]["id"].startswith("sess_")
    assert out["keepalive_later"] is True and out["keepalive_ns"] == "active"
    assert out["listed"] is True
    assert out["after_exit"] == "ended"
    assert out["call_after_end"] == "Session has been ended"
    assert out["keepalive_ended"] == {"status": 410, "code": "SESSION_ENDED"}
    assert out["unknown_session"] == {"status": 404, "code": "SESSION_NOT_FOUND"}


def test_async_tasks_files_and_sessions(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "async", tmp_path)
    assert out["waited"] == 10 and out["get"] == 10 and out["streamed"] == 10
    assert out["uploaded"] == "async bytes"
    assert out["task_files"] == ["input", "output"]
    assert out["removed"] == {"deleted": [out["uploaded_id"]], "gone": 404}
    assert out["cancelled"] == "task cancelled"
    assert out["deleted"] == 404
    assert out["called"] == {"value": 5} and out["info"] == 2
    assert out["keepalive"] == "active" and out["listed"] is True
    assert out["after_exit"] == "ended"


def test_agent_stop_reject_output_files_and_streams(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "agent", tmp_path)
    assert out["stopped"] == {"chat": "idle", "message": "cancelled"}
    assert out["rejected"] == {
        "final": "Done: Rejected by the user: not today",
        "invocation": "cancelled",
    }
    assert out["run_output"] == {"answer": 42}
    assert out["file_ref"] == {"filename": "notes.txt", "size": 14, "fetched": "attached bytes"}
    assert out["files_reply"].startswith("Files: ") and out["files_reply"].endswith(":12")
    action = {"action": {"type": "confirm"}, "form_data": {"name": "Ada"}}
    assert json.loads(out["widget"]["result"]) == action
    assert out["widget"]["final"] == "Got: " + json.dumps(action)
    assert out["stream_messages"] == "Hello! You said: stream me"
    assert out["stream_chat"] == "idle"
    assert out["stream_all"] == {"chats": True, "roles": ["assistant", "user"]}
    assert out["context_missing"] == "context is missing required field(s) team of this agent"
    assert out["context_given"] == "ok"


def test_async_agent_streams_stop_approvals_tools_output_and_files(
    published_python: Path, server: LocalPlatform, tmp_path: Path
) -> None:
    out = scenario(published_python, server, "agent_async", tmp_path)
    assert out["stream_messages"] == "Hello! You said: async stream"
    assert out["stream_chat"] == "idle"
    assert out["stream_all"] == ["assistant", "user"]
    assert out["stopped"] == "cancelled"
    assert out["approve"].startswith("Done: Task ") and "modern: a haiku" in out["approve"]
    assert out["reject"] == "Done: Rejected by the user: no"
    assert out["tool"] == "It means: a charged particle"
    assert out["run_output"] == "all done"
    assert out["files_reply"] == "Files: a.txt:8"


def test_only_this_servers_signed_file_urls_count_as_task_files(tmp_path: Path) -> None:
    from inferencesh.core.requests import PartialFile
    from inferencesh.platform.auth import Signer
    from inferencesh.platform.files import FileStore
    from inferencesh.platform.store import Store

    files = FileStore(
        tmp_path / "files",
        Store(tmp_path / "db.sqlite"),
        Signer("inf_key"),
        max_upload_bytes=1024,
        url_ttl=60,
    )
    files.base_url = "http://127.0.0.1:1"
    uri = files.create(PartialFile(filename="a.txt", size=1), "uploads")["uri"]
    file_id = uri.split("/storage/files/")[1].split("/")[0]
    # Another port serving the same data directory: still this server's file.
    assert files.id_of(uri.replace(":1/", ":2/")) == file_id
    assert files.id_of(uri.replace("sig=", "sig=x")) is None
    assert files.id_of(f"https://example.com/storage/files/{file_id}/a.txt") is None
    assert files.id_of("a plain string") is None
    task = {"input": {"doc": uri, "again": [uri], "note": "text"}, "output": None}
    assert [f["id"] for f in files.task_files(task)] == [file_id]
    assert files.task_files(task, "output") == []
