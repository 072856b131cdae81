"""The request structs of ``inferencesh.core.requests``: the rules on their fields, the errors that
name a broken field, and the client refusing a bad run before any request."""

from __future__ import annotations

import pickle
from typing import Any

import msgspec
import pytest
from core_testkit import Driver, FakePlatform
from inferencesh.core import chat, types
from inferencesh.core.requests import (
    AgentConfig,
    AgentRunRequest,
    CancelTaskRequest,
    FileCreateRequest,
    RequestError,
    RunRequest,
    convert_request,
    decode_request,
)
from pytest_httpx import HTTPXMock


@pytest.fixture
def platform(httpx_mock: HTTPXMock) -> FakePlatform:
    return FakePlatform().install(httpx_mock)


def refused(body: Any, type_: type[Any] = RunRequest) -> RequestError:
    with pytest.raises(RequestError) as info:
        convert_request(body, type_)
    # Decoding the same body as JSON says the same thing.
    with pytest.raises(RequestError) as again:
        decode_request(msgspec.json.encode(body), type_)
    assert (again.value.path, again.value.reason) == (info.value.path, info.value.reason)
    return info.value


def test_the_structs_are_one_set_for_both_modules() -> None:
    assert types.RunRequest is RunRequest and types.FileCreateRequest is FileCreateRequest
    assert chat.AgentConfig is AgentConfig and chat.AgentRunRequest is AgentRunRequest


# ---- boundaries of each rule --------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [1, 3600])
def test_session_timeout_range_includes_its_ends(timeout: int) -> None:
    body = {"app": "a/b", "session": "new", "session_timeout": timeout}
    assert convert_request(body, RunRequest).session_timeout == timeout


@pytest.mark.parametrize("timeout", [0, 3601, -1, "300", True, 1.5])
def test_session_timeout_outside_its_range_or_type_is_refused(timeout: Any) -> None:
    error = refused({"app": "a/b", "session": "new", "session_timeout": timeout})
    assert error.path == ("session_timeout",)
    assert error.reason == (f"must be a whole number of seconds from 1 to 3600, got {timeout!r}")


def test_session_timeout_goes_only_with_a_new_session() -> None:
    error = refused({"app": "a/b", "session": "sess_1", "session_timeout": 30})
    assert str(error) == "session_timeout is only valid together with session = 'new'"


@pytest.mark.parametrize(
    "ref",
    [
        "my-app",
        "infsh/flux",
        "infsh/flux@latest",
        "ns/name@abc:fn",
        "app/ns/name",
        "local/hello:run",
    ],
)
def test_app_refs_the_platforms_accept(ref: str) -> None:
    assert convert_request({"app": ref}, RunRequest).ref == ref


@pytest.mark.parametrize("ref", ["", "a b", "ns/name\t", "x" * 513])
def test_app_refs_that_name_nothing_are_refused(ref: str) -> None:
    error = refused({"app": ref})
    assert error.path == ("app",)
    assert error.reason.startswith("must be a non-empty string naming an app")


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("infsh/flux@", "has an empty version"),
        ("ns/:fn", "has an empty name"),
        ("/name", "has an empty namespace"),
        ("ns/name:", "has an empty function"),
        ("a/b/c/d", "has too many '/'-separated parts"),
        ("ns/name@v1@v2", "has a version 'v1@v2' with '@' or ':' in it"),
    ],
)
def test_app_refs_of_the_wrong_form_say_which_part(ref: str, problem: str) -> None:
    error = refused({"app": ref})
    assert error.path == ("app",)
    assert error.reason == (
        f"{problem} (the form is [namespace/]name[@version][:function]), got {ref!r}"
    )
    assert refused({"app_id": ref}).path == ("app_id",)


def test_an_app_is_required_and_app_id_stands_for_it() -> None:
    assert str(refused({"input": {}})).startswith("app is required")
    assert convert_request({"app_id": "ns/x"}, RunRequest).ref == "ns/x"


@pytest.mark.parametrize("name", ["a", "A-b_9", "x" * 64])
def test_tool_names_up_to_64_allowed_characters(name: str) -> None:
    config = convert_request({"tools": [{"name": name, "type": "client"}]}, AgentConfig)
    assert config.tools is not None and config.tools[0].name == name


@pytest.mark.parametrize("name", ["", "x" * 65, "a b", "a.b", "é"])
def test_tool_names_outside_the_rule_are_refused(name: str) -> None:
    error = refused({"tools": [{"name": name, "type": "client"}]}, AgentConfig)
    assert error.location("agent_config") == "agent_config.tools[0].name"
    assert error.reason == f"must be 1-64 letters, digits, '_' or '-', got {name!r}"


@pytest.mark.parametrize(
    ("tool", "where"),
    [
        ({"name": "t", "type": "app"}, "tools[0].app.ref"),
        ({"name": "t", "type": "app", "app": {"function": "f"}}, "tools[0].app.ref"),
        ({"name": "t", "type": "agent", "agent": {}}, "tools[0].agent.ref"),
        ({"name": "t", "type": "hook"}, "tools[0].hook.url"),
        ({"name": "t", "type": "hook", "hook": {"secret": "S"}}, "tools[0].hook.url"),
        ({"name": "t", "type": "call", "call": {"url": "ftp://x"}}, "tools[0].call.url"),
    ],
)
def test_each_tool_type_needs_its_section(tool: dict[str, Any], where: str) -> None:
    error = refused({"tools": [tool]}, AgentConfig)
    assert error.location() == where


def test_an_app_tool_may_name_its_app_by_id() -> None:
    body = {"tools": [{"name": "t", "type": "app", "app": {"id": "app_1"}}]}
    assert convert_request(body, AgentConfig).tools is not None


def test_tool_names_are_unique_within_an_agent() -> None:
    body = {"tools": [{"name": "a", "type": "client"}, {"name": "a", "type": "client"}]}
    error = refused(body, AgentConfig)
    assert error.path == ("tools", 1, "name")
    assert "two tools are named 'a'" in error.reason


@pytest.mark.parametrize(
    ("ref", "ok"),
    [("a/b", True), ("a/b@v1", True), ("nope", False), ("a/b/c", False), ("a/b@", False)],
)
def test_refs_inside_an_agent_are_namespaced(ref: str, ok: bool) -> None:
    body = {"core_app": {"ref": ref}}
    if ok:
        assert convert_request(body, AgentConfig).core_app is not None
    else:
        assert refused(body, AgentConfig).location() == "core_app.ref"


@pytest.mark.parametrize(("size", "ok"), [(0, True), (2**40, True), (-1, False)])
def test_file_sizes_are_not_negative(size: int, ok: bool) -> None:
    body = {"files": [{"filename": "a.txt", "size": size}]}
    if ok:
        assert convert_request(body, FileCreateRequest).files[0].size == size
    else:
        assert refused(body, FileCreateRequest).location() == "files[0].size"


@pytest.mark.parametrize(("count", "ok"), [(1, True), (256, True), (0, False), (257, False)])
def test_a_file_request_announces_1_to_256_files(count: int, ok: bool) -> None:
    body = {"files": [{"filename": f"{n}.txt"} for n in range(count)]}
    if ok:
        assert len(convert_request(body, FileCreateRequest).files) == count
    else:
        error = refused(body, FileCreateRequest)
        assert error.path == ("files",)
        assert error.reason.startswith("must be a list of 1 to 256 files")


@pytest.mark.parametrize(("category", "ok"), [("uploads", True), ("repos", True), ("tmp", False)])
def test_file_categories(category: str, ok: bool) -> None:
    body = {"files": [{}], "category": category}
    if ok:
        assert convert_request(body, FileCreateRequest).category == category
    else:
        assert "must be one of" in refused(body, FileCreateRequest).reason


@pytest.mark.parametrize(("timeout", "ok"), [(0, True), (10_000.5, True), (-1, False)])
def test_cancel_timeouts_are_not_negative(timeout: float, ok: bool) -> None:
    if ok:
        assert convert_request({"timeout": timeout}, CancelTaskRequest).timeout == timeout
    else:
        assert refused({"timeout": timeout}, CancelTaskRequest).location() == "timeout"


@pytest.mark.parametrize(
    ("run_at", "why"),
    [
        ("tomorrow", "must be an ISO 8601 timestamp"),
        ("2030-01-01T00:00:00", "needs a time zone"),
        (5, "must be an ISO 8601 timestamp"),
    ],
)
def test_run_at_is_a_zoned_time(run_at: Any, why: str) -> None:
    error = refused({"app": "a/b", "run_at": run_at})
    assert error.path == ("run_at",) and error.reason.startswith(why)
    assert repr(run_at) in error.reason
    ok = convert_request({"app": "a/b", "run_at": "2030-01-01T02:00:00+02:00"}, RunRequest)
    assert ok.run_at_time is not None and ok.run_at_time.isoformat() == "2030-01-01T00:00:00+00:00"


def test_webhooks_are_http_urls() -> None:
    assert convert_request({"app": "a/b", "webhook": "https://x.test/h"}, RunRequest).webhook
    assert refused({"app": "a/b", "webhook": "ftp://x.test"}).location() == "webhook"


def test_stream_and_wait_do_not_go_together() -> None:
    assert refused({"app": "a/b", "stream": True, "wait": True}).path == ("wait",)


def test_an_empty_message_needs_a_file() -> None:
    body: dict[str, Any] = {"agent": "a/b", "input": {"text": ""}}
    assert refused(body, AgentRunRequest).location() == "input.text"
    body["input"]["attachments"] = ["https://x.test/a.png"]
    assert convert_request(body, AgentRunRequest).input.attachments == ["https://x.test/a.png"]


# ---- errors ------------------------------------------------------------------------------------


def test_errors_name_the_path_in_every_form() -> None:
    error = refused(
        {"tools": [{"name": "ok", "type": "client"}, {"name": "a b", "type": "x"}]}, AgentConfig
    )
    assert error.path == ("tools", 1, "name")
    assert error.json_path == "$.tools[1].name"
    assert error.subscripts("params") == "params['tools'][1]['name']"
    assert error.location("agent_config") == "agent_config.tools[1].name"
    assert "- at `$.tools[1].name`" in error.detail  # msgspec's own message is kept
    assert str(error.located("`x`")) == f"`x` {error.reason}"
    copy = pickle.loads(pickle.dumps(error.located("here")))
    assert (copy.path, copy.reason, str(copy)) == (error.path, error.reason, f"here {error.reason}")


def test_wrong_types_say_what_was_expected_and_what_came() -> None:
    assert str(refused({"app": "a/b", "input": [1, 2]})) == (
        "input must be an object, got a list of 2 items"
    )
    assert str(refused({"app": "a/b", "workers": ["w", 3]})) == (
        "workers[1] must be a string, got 3"
    )
    assert str(refused([{"app": "a/b"}])) == "the body must be an object, got a list of 1 item"
    assert (
        str(refused({"tools": ["calc"]}, AgentConfig)) == "tools[0] must be an object, got 'calc'"
    )
    long = refused({"app": "a/b", "function": "x y" * 100})
    assert len(str(long)) < 200  # a long value is cut short in the message


def test_a_missing_field_is_named() -> None:
    error = refused({"agent": "a/b"}, AgentRunRequest)
    assert (error.location(), error.reason) == ("input", "is required")
    nested = refused({"agent": "a/b", "input": {"text": "x", "attachments": [{}]}}, AgentRunRequest)
    assert nested.location() == "input.attachments[0].uri" and nested.reason == "is required"


# ---- hostile bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_deep_nesting_is_refused_not_a_crash(depth: int) -> None:
    body = b'{"app": "a/b", "input": {"x": ' + b"[" * depth + b"]" * depth + b"}}"
    with pytest.raises(RequestError) as info:
        decode_request(body, RunRequest)
    assert str(info.value) == "the body nests too deeply"


def test_moderate_nesting_in_free_form_fields_is_kept() -> None:
    body = b'{"app": "a/b", "input": {"x": ' + b"[" * 200 + b"1" + b"]" * 200 + b"}}"
    value: Any = decode_request(body, RunRequest).input
    value = value["x"]
    for _ in range(200):
        value = value[0]
    assert value == 1


def test_huge_arrays_are_refused_where_a_limit_applies() -> None:
    files = b"[" + b",".join([b"{}"] * 100_000) + b"]"
    with pytest.raises(RequestError) as info:
        decode_request(b'{"files": ' + files + b"}", FileCreateRequest)
    assert info.value.path == ("files",)
    tools = [{"name": f"t{n}", "type": "client"} for n in range(600)]
    assert refused({"tools": tools}, AgentConfig).path == ("tools",)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "is not valid JSON"),
        (b'{"app": "a/b"', "is not valid JSON"),
        (b"\xff\xfe", "is not valid JSON"),
        (b"null", "must be an object"),
        (b'"a/b"', "must be an object"),
        (b'{"app": {"$ref": "x"}}', "must be a non-empty string naming an app"),
    ],
)
def test_malformed_bodies_are_refused_cleanly(raw: bytes, reason: str) -> None:
    with pytest.raises(RequestError) as info:
        decode_request(raw, RunRequest)
    assert reason in info.value.reason


def test_keys_that_are_not_strings_are_named() -> None:
    with pytest.raises(RequestError) as info:
        convert_request({"app": "a/b", "input": {1: "x"}}, RunRequest)
    assert info.value.location() == "input" and "key that is not a string" in info.value.reason


# ---- the client ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"app": "a/b", "sesion": "new"}, r"params\['sesion'\] is not a run parameter"),
        ({"app": "a/b", "input": [1]}, r"params\['input'\] must be an object, got a list"),
        ({"app": "a/b", "workers": [1]}, r"params\['workers'\]\[0\] must be a string, got 1"),
        ({"app": "a b"}, r"params\['app'\] must be a non-empty string naming an app"),
        ({"app": "a/b", "function": "do it"}, r"params\['function'\] must be the name of"),
        ({"app": "a/b", "webhook": "ftp://x"}, r"params\['webhook'\] must be an http"),
        ({"app": "a/b", "run_at": "soon"}, r"params\['run_at'\] must be an ISO 8601 timestamp"),
    ],
)
def test_client_refuses_a_bad_run_before_any_request(
    driver: Driver, platform: FakePlatform, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(RequestError, match=message):
        driver.call(lambda c: c.run(params))
    assert platform.runs == [] and platform.uploads == {}


def test_client_sends_the_request_as_the_struct_encodes_it(
    driver: Driver, platform: FakePlatform
) -> None:
    driver.call(
        lambda c: c.run(
            {"app": "a/b", "input": None, "variant": "fast", "metadata": {"k": 1}}, wait=False
        )
    )
    assert platform.runs == [{"app": "a/b", "input": {}, "variant": "fast", "metadata": {"k": 1}}]


def test_upload_options_are_checked_before_any_request(
    driver: Driver, platform: FakePlatform
) -> None:
    from inferencesh.core.files import UploadFileOptions

    with pytest.raises(RequestError, match=r"UploadFileOptions\.category must be one of"):
        driver.call(lambda c: c.upload_file(b"x", UploadFileOptions(category="tmp")))
    assert platform.files == {}
