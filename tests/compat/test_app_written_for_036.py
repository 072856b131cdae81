"""An app written for the published inferencesh 0.36 runs unchanged (issue 13, "Done when").

``examples/apps/chat-036`` imports only names 0.36 publishes: a ``run`` that streams
``LLMDelta`` tokens, an ``@function`` with tool annotations and a credential that bills a
``VideoMeta`` at ``VideoResolution.VIDEO_RES480_P``, and the ``openai`` function of
``OpenAIChatMixin``. Here:

* the same file imports and builds its schemas under the published 0.36.0 package
  (``.venvs/published``), equal to the ones ``inferencesh app schema`` writes (apart from the
  packages' own help texts and the differences kept on purpose);
* ``inferencesh app schema`` writes each function's kind, capabilities, annotations and
  credentials; ``inferencesh app test`` runs each function and prints its deltas;
* under ``inferencesh dev`` (the real local platform, the app in a worker process) our client's
  ``on_delta`` gets the tokens and they merge to the final output; the published 0.36 client
  follows the same task and gets its delta updates and the same output; the ``openai`` function
  answers in the Chat Completions shape with its chunks streamed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inferencesh import DeltaAccumulator, TaskDelta, inference
from inferencesh.core import TaskStatus
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "apps" / "chat-036"
REF = "local/chat-036"
REPLY = "Hello! You said: hi there"
TOKENS = ["Hello!", " You", " said:", " hi", " there"]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inferencesh", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_clean_env(),
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def app_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app, copied (the schema files are written into the app's folder)."""
    target = tmp_path_factory.mktemp("apps") / "chat-036"
    shutil.copytree(APP, target, ignore=shutil.ignore_patterns("__pycache__", "*_schema.json"))
    return target


# -- the same file under the published 0.36 ------------------------------------------------------

PUBLISHED_SCHEMAS = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(0, sys.argv[1])
    import inferencesh
    import inference as app

    schemas = {
        "input": app.AppInput.model_json_schema(),
        "output": app.AppOutput.model_json_schema(),
        "setup": app.AppSetup.model_json_schema(),
        "plan_clip_input": app.ClipInput.model_json_schema(),
        "plan_clip_output": app.ClipOutput.model_json_schema(),
    }
    instance = app.App()
    asyncio.run(instance.setup(app.AppSetup()))

    async def tokens():
        return [item async for item in instance.run(app.AppInput(text="hi there"))]

    *deltas, final = asyncio.run(tokens())
    clip = asyncio.run(instance.plan_clip(app.ClipInput(prompt="a cat")))
    print(json.dumps({
        "version": inferencesh.__version__,
        "module": inferencesh.__file__,
        "schemas": schemas,
        "meta": app.App.plan_clip.__inferencesh_function__,
        "deltas": [d.response for d in deltas],
        "delta_type": type(deltas[0]).__name__,
        "final": final.response,
        "clip": clip.model_dump(mode="json"),
    }))
    """
)


@pytest.fixture(scope="module")
def published_run(published_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    cwd = tmp_path_factory.mktemp("published-036")
    script = cwd / "load_app.py"
    script.write_text(PUBLISHED_SCHEMAS)
    done = subprocess.run(
        [str(published_python), str(script), str(APP)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_clean_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _comparable(schema: Any) -> Any:
    """The schema without the packages' own help texts (each says it in its own words) and with
    ``LLMInput``'s differences kept on purpose taken out (``temperature`` up to 2, context tools
    as plain objects: docs/migration.md, "Differences kept on purpose")."""
    if isinstance(schema, list):
        return [_comparable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kept = {k: v for k, v in schema.items() if not (k == "description" and isinstance(v, str))}
    if kept.get("title") == "ContextMessage":
        kept["properties"] = {k: v for k, v in kept["properties"].items() if k != "tools"}
    if kept.get("title") == "Temperature":
        kept.pop("maximum", None)
    defs = kept.get("$defs")
    if isinstance(defs, dict):
        kept["$defs"] = {k: v for k, v in defs.items() if not k.startswith("Tool")}
    return {k: _comparable(v) for k, v in kept.items()}


def _orders(node: Any, path: str = "") -> dict[str, list[str]]:
    """Every ``properties`` key order, by path (dict equality ignores order; forms do not)."""
    found: dict[str, list[str]] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found[path] = list(value)
            found.update(_orders(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.update(_orders(item, f"{path}/{index}"))
    return found


@pytest.fixture(scope="module")
def written(app_copy: Path) -> dict[str, Any]:
    """What ``inferencesh app schema`` writes for the app: file name -> JSON."""
    done = _cli("app", "schema", str(app_copy), cwd=app_copy.parent)
    assert done.returncode == 0, done.stderr
    names = ("input_schema", "output_schema", "setup_schema", "functions_schema")
    for name in names:
        assert f"wrote {app_copy / name}.json" in done.stdout
    return {name: json.loads((app_copy / f"{name}.json").read_text()) for name in names}


def test_the_file_is_a_real_036_app(published_run: Any) -> None:
    assert published_run["version"] == "0.36.0"
    assert ".venvs/published" in published_run["module"]  # not our package
    assert published_run["delta_type"] == "LLMDelta"
    assert published_run["deltas"] == TOKENS and published_run["final"] == REPLY
    assert published_run["clip"]["resolution"] == "480p"
    assert published_run["clip"]["output_meta"]["outputs"][0]["resolution"] == "480p"


def test_its_schemas_equal_the_published_ones(published_run: Any, written: Any) -> None:
    functions = written["functions_schema"]
    ours = {
        "input": written["input_schema"],
        "output": written["output_schema"],
        "setup": written["setup_schema"],
        "plan_clip_input": functions["plan_clip"]["input_schema"],
        "plan_clip_output": functions["plan_clip"]["output_schema"],
    }
    assert functions["run"]["input_schema"] == ours["input"]
    for name, theirs in published_run["schemas"].items():
        expected, got = _comparable(theirs), _comparable(ours[name])
        assert _orders(got) == _orders(expected), name
        assert got == expected, name
    # What was compared is not empty: the app's own fields, in 0.36's order.
    assert list(ours["input"]["properties"])[:2] == ["token_delay", "text"]
    assert list(ours["plan_clip_input"]["properties"]) == [
        "prompt",
        "seconds",
        "quality",
        "reference",
    ]
    assert list(ours["output"]["properties"])[:2] == ["output_meta", "response"]


def test_app_schema_writes_kind_capabilities_and_annotations(
    published_run: Any, written: Any
) -> None:
    functions = written["functions_schema"]
    assert list(functions) == ["run", "plan_clip", "openai"]
    assert {name: f["kind"] for name, f in functions.items()} == dict.fromkeys(functions, "run")
    assert functions["run"]["capabilities"] == ["llm"]
    assert (
        functions["run"]["description"] == "Reply to the user's text, streaming it token by token."
    )
    clip = functions["plan_clip"]
    assert clip["description"] == "Plan the shots of a short video clip."
    # `@function`'s metadata, normalised as 0.36 normalises it.
    meta = published_run["meta"]
    assert (
        clip["annotations"]
        == meta["annotations"]
        == {
            "title": "Plan a clip",
            "readOnlyHint": True,
            "idempotentHint": True,
            "openWorldHint": False,
        }
    )
    assert (
        clip["credentials"]
        == meta["credentials"]
        == [{"slug": "storyboard", "capabilities": ["storyboard.clips.read"]}]
    )
    assert "annotations" not in functions["run"] and "credentials" not in functions["run"]
    openai = functions["openai"]
    assert openai["input_schema"]["title"] == "ChatCompletionInput"
    assert "messages" in openai["input_schema"]["properties"]


# -- inferencesh app test ------------------------------------------------------------------------

TEST_CASES = {
    "run": ({"text": "hi there"}, [{"response": t} for t in TOKENS]),
    "plan_clip": ({"prompt": "a cat", "seconds": 1}, []),
    "openai": (
        {"model": "m", "messages": [{"role": "user", "content": "hi there"}], "stream": True},
        None,  # chunks: checked below
    ),
}


@pytest.mark.parametrize("function", list(TEST_CASES))
def test_app_test_runs_each_function_and_prints_its_deltas(app_copy: Path, function: str) -> None:
    given, expected_deltas = TEST_CASES[function]
    done = _cli(
        "app", "test", str(app_copy), "-f", function, "-i", json.dumps(given), cwd=app_copy.parent
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    prefix = "-- delta: "
    deltas = [
        json.loads(line[len(prefix) :])
        for line in done.stderr.splitlines()
        if line.startswith(prefix)
    ]
    if function == "run":
        assert deltas == expected_deltas
        assert output["response"] == REPLY
        assert output["usage"]["completion_tokens"] == len(TOKENS)
        assert output["output_meta"]["outputs"] == [
            {"type": "text", "tokens": 5, "cached_tokens": 0, "cache_write_tokens": 0}
        ]
    elif function == "plan_clip":
        assert deltas == expected_deltas
        assert output["plan"] == "shot 1: a cat" and output["resolution"] == "480p"
        [video] = output["output_meta"]["outputs"]
        assert video["type"] == "video" and video["resolution"] == "480p" and video["fps"] == 24
    else:
        assert [d["object"] for d in deltas] == ["chat.completion.chunk"] * 6
        contents = [d["choices"][0]["delta"].get("content") for d in deltas]
        assert "".join(c for c in contents if c) == REPLY
        assert deltas[-1]["choices"][0]["finish_reason"] == "stop"
        assert output["object"] == "chat.completion"
        assert output["choices"][0]["message"] == {"role": "assistant", "content": REPLY}


# -- under inferencesh dev -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform([APP])


@pytest.fixture(scope="module")
def client(server: LocalPlatform) -> Iterator[Any]:
    with inference(api_key=server.api_key, base_url=server.base_url) as c:
        yield c


def _merged(deltas: list[TaskDelta]) -> dict[str, Any]:
    acc = DeltaAccumulator()
    for delta in deltas:
        acc.apply(delta)
    return acc.to_dict()


def test_on_delta_gets_the_tokens_and_they_merge_to_the_output(client: Any) -> None:
    deltas: list[TaskDelta] = []
    task = client.run({"app": REF, "input": {"text": "hi there"}}, on_delta=deltas.append)
    assert task.status is TaskStatus.COMPLETED
    assert [d.text for d in deltas] == TOKENS
    assert _merged(deltas)["response"] == task.output["response"] == REPLY
    # The usage report stays with the platform (protocol section 1.5: never in the API output).
    assert "output_meta" not in task.output
    assert task.output["usage"]["completion_tokens"] == len(TOKENS)


def test_the_function_with_annotations_runs_with_480p(client: Any) -> None:
    deltas: list[TaskDelta] = []
    task = client.run(
        {"app": REF, "function": "plan_clip", "input": {"prompt": "waves", "seconds": 3}},
        on_delta=deltas.append,
    )
    assert deltas == []
    assert task.output == {
        "plan": "shot 1: waves; shot 2: waves; shot 3: waves",
        "resolution": "480p",  # VideoResolution.VIDEO_RES480_P at run time
    }


FOLLOW = textwrap.dedent(
    """
    import json, sys
    import inferencesh
    from inferencesh import inference

    base_url, api_key, id_file = sys.argv[1:4]
    client = inference(api_key=api_key, base_url=base_url)
    params = {"app": "local/chat-036", "input": {"text": "hi there", "token_delay": 0.3}}
    deltas, final = [], None
    for update in client.run(params, stream=True):
        if update.get("id"):
            with open(id_file, "a") as f:
                f.write(update["id"] + "\\n")
        if update.get("_delta"):
            deltas.append(update["output"].get("response"))
        else:
            final = update
    print(json.dumps({"version": inferencesh.__version__, "deltas": deltas, "id": final["id"],
                      "status": final["status"], "output": final["output"]}))
    """
)


def test_the_published_client_and_ours_follow_the_same_task(
    client: Any, server: LocalPlatform, published_python: Path, tmp_path: Path
) -> None:
    script = tmp_path / "follow.py"
    script.write_text(FOLLOW)
    id_file = tmp_path / "task-id"
    published = subprocess.Popen(
        [str(published_python), str(script), server.base_url, server.api_key, str(id_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
    )
    try:
        deadline = time.monotonic() + 60
        while not (id_file.exists() and id_file.read_text().strip()):
            assert published.poll() is None, published.communicate()
            assert time.monotonic() < deadline, "the published client created no task"
            time.sleep(0.02)
        task_id = id_file.read_text().split()[0]
        ours: list[TaskDelta] = []
        result: dict[str, Any] = {}

        def follow() -> None:
            result["task"] = client.wait_for_completion(task_id, on_delta=ours.append)

        follower = threading.Thread(target=follow)
        follower.start()
        out, err = published.communicate(timeout=120)
        follower.join(timeout=60)
    finally:
        if published.poll() is None:
            published.kill()
            published.wait()
    assert published.returncode == 0, err
    theirs = json.loads(out.strip().splitlines()[-1])
    assert theirs["version"] == "0.36.0" and theirs["id"] == task_id
    assert theirs["status"] == TaskStatus.COMPLETED.value
    task = result["task"]
    # The same final output in both clients.
    assert theirs["output"]["response"] == task.output["response"] == REPLY
    assert theirs["output"]["usage"] == task.output["usage"]
    # Both got every delta: ours one token each (replayed from the start when it joined late),
    # 0.36's as updates carrying the output merged so far, ending with the whole reply.
    assert [d.text for d in ours] == TOKENS
    assert [d.seq for d in ours] == list(range(1, len(TOKENS) + 1))
    assert _merged(ours)["response"] == REPLY
    expected = ["".join(TOKENS[: n + 1]) for n in range(len(TOKENS))]
    assert theirs["deltas"] == expected


def test_the_openai_function_answers_in_chat_completions_shape(client: Any) -> None:
    request = {
        "model": "gpt-compatible",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi there"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chunks: list[TaskDelta] = []
    task = client.run({"app": REF, "function": "openai", "input": request}, on_delta=chunks.append)
    completion = task.output
    assert completion["object"] == "chat.completion" and completion["model"] == "gpt-compatible"
    assert completion["id"].startswith("chatcmpl-")
    [choice] = completion["choices"]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": REPLY},
        "finish_reason": "stop",
    }
    assert completion["usage"]["prompt_tokens"] == 2
    assert completion["usage"]["completion_tokens"] == len(TOKENS)
    # Streamed chunks, each in the chunk shape: one id, choice index 0, the role first.
    frames = [c.delta for c in chunks]
    assert {f["object"] for f in frames} == {"chat.completion.chunk"}
    assert {f["id"] for f in frames} == {completion["id"]}
    content = [f for f in frames if f["choices"]]
    assert all(f["choices"][0]["index"] == 0 for f in content)
    assert content[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c.text for c in chunks if c.text] == TOKENS
    assert content[-1]["choices"][0]["finish_reason"] == "stop"
    usage_frame = frames[-1]
    assert usage_frame["choices"] == [] and usage_frame["usage"]["total_tokens"] == 7
    merged = _merged(chunks)
    assert merged["choices"][0]["delta"]["content"] == REPLY
