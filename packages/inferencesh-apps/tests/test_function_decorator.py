"""``@function``: metadata checked at import, discovery writing ``kind``, ``capabilities``,
``credentials`` and ``annotations`` into the schema ``inferencesh app schema`` writes, and an
``@function`` on a method that cannot be served failing that command with file, line and reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apps_testkit import app_in
from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, function
from inferencesh.apps.function_meta import normalize_credentials
from inferencesh.apps.runtime.functions import discover_functions
from inferencesh.apps.schema import app_schema
from inferencesh.core.cli import main
from inferencesh.models import LLMInput, LLMOutput

pytestmark = pytest.mark.usefixtures("file_cache")


class Query(BaseAppInput):
    text: str


class Answer(BaseAppOutput):
    text: str


class Chat(LLMInput):
    pass


class Reply(LLMOutput):
    pass


class MultiApp(BaseApp):
    async def run(self, input_data: Chat) -> Reply:
        """Chat."""
        return Reply(response=input_data.text)

    @function(
        credentials={"slack": {"capabilities": ["slack.chat.write"], "optional": True}},
        annotations={"title": "Post", "destructiveHint": True, "readOnlyHint": None},
    )
    async def post(self, input_data: Query) -> Answer:
        """Post a message."""
        return Answer(text=input_data.text)

    @function
    def plain(self, input_data: Query) -> Answer:
        """Bare decorator."""
        return Answer(text=input_data.text.upper())

    async def talk(self, input_data: Query, socket: object) -> Answer:
        """A stream function: it takes the socket."""
        return Answer(text="bye")

    async def listen(self, input_data: Query, sock: object) -> Answer:
        return Answer(text="")


def test_discovery_classifies_kind_and_capabilities() -> None:
    functions = discover_functions(MultiApp)
    assert list(functions) == ["run", "post", "plain", "talk", "listen"]
    assert {name: fn.kind for name, fn in functions.items()} == {
        "run": "run",
        "post": "run",
        "plain": "run",
        "talk": "stream",
        "listen": "stream",
    }
    assert functions["run"].capabilities == ("llm",)
    assert functions["post"].capabilities == ()
    # The socket is not an input: the function still takes its input model; the runtime binds it.
    assert functions["talk"].input_model is Query
    assert functions["talk"].binding.positional == ("input", "socket")  # the runtime passes it


def test_schema_carries_credentials_annotations_kind_and_description() -> None:
    entries = app_schema(MultiApp)["functions"]
    assert entries["post"]["credentials"] == [
        {"slug": "slack", "capabilities": ["slack.chat.write"], "optional": True}
    ]
    assert entries["post"]["annotations"] == {"title": "Post", "destructiveHint": True}
    assert entries["post"]["description"] == "Post a message."
    assert entries["post"]["kind"] == "run" and entries["talk"]["kind"] == "stream"
    assert entries["run"]["capabilities"] == ["llm"]
    # Without @function nothing is declared: the app-wide lists of inf.yml apply.
    assert "credentials" not in entries["talk"] and "annotations" not in entries["plain"]
    assert entries["plain"]["description"] == "Bare decorator."


def test_decorated_methods_still_run() -> None:
    import asyncio

    app = MultiApp()
    assert asyncio.run(app.post(Query(text="hi"))).text == "hi"
    assert app.plain(Query(text="hi")).text == "HI"


@pytest.mark.parametrize(
    ("credentials", "error", "message"),
    [
        ([], ValueError, "empty list"),
        ({}, ValueError, "empty"),
        ("slack", TypeError, "expected a dict keyed by slug or a list"),
        ([3], TypeError, r"credentials\[0\]: expected a dict or a slug"),
        ([{"bogus": 1}], ValueError, r"unknown keys \['bogus'\]"),
        ({"slack": {"capabilities": ["x"]}}, ValueError, "'x' is not <slug>.<name>"),
        ({"a": {"slug": "b"}}, ValueError, "keyed as 'a'"),
        ([{"slug": "s", "provider": "p"}], ValueError, "disagree"),
        ([{"provider": {"name": "P"}}], ValueError, "set 'slug'"),
        ([{"slug": "s", "secrets": "KEY"}], TypeError, "list of strings"),
        ([{"slug": "s", "provider": {"name": "P", "color": "red"}}], ValueError, "color"),
    ],
)
def test_bad_credentials_fail_at_import(credentials: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        function(credentials=credentials)


@pytest.mark.parametrize(
    ("annotations", "error", "message"),
    [
        ({"title": None}, TypeError, "title: expected a string"),
        ({"bogus": True}, ValueError, "unknown keys"),
        ({"readOnlyHint": "yes"}, TypeError, "expected a bool"),
        (["readOnlyHint"], TypeError, "expected a dict"),
    ],
)
def test_bad_annotations_fail_at_import(annotations: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        function(annotations=annotations)  # type: ignore[arg-type]


def test_credential_forms_normalise() -> None:
    assert normalize_credentials(["slack.a", "slack.b"]) == [
        {"slug": "slack", "capabilities": ["slack.a"]},
        {"slug": "slack", "capabilities": ["slack.b"]},
    ]
    assert normalize_credentials({"s": None}) == [{"slug": "s"}]
    assert normalize_credentials([{"key": "github", "website": "https://github.com"}]) == [
        {"slug": "github", "provider": {"website": "https://github.com"}}
    ]
    # Key order is the documented one, whatever order the entry was written in.
    entry = normalize_credentials(
        [{"auth": {"type": "oauth"}, "scopes": ["a"], "slug": "s", "description": "d"}]
    )[0]
    assert list(entry) == ["slug", "description", "scopes", "auth"]


UNSERVABLE = """
from inferencesh import function

class In(BaseAppInput):
    x: int = 1

class Out(BaseAppOutput):
    y: int = 0

class App(BaseApp):
    async def run(self, input_data: In) -> Out:
        return Out(y=input_data.x)

    @function(annotations={"readOnlyHint": True})
    async def broken(self, count: int) -> Out:
        return Out(y=count)
"""


def _schema(capsys: pytest.CaptureFixture[str], app: Path) -> tuple[int, str]:
    code = main(["app", "schema", str(app)])
    out, err = capsys.readouterr()
    return code, out + err


def test_unservable_function_fails_app_schema_with_file_line_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_in(tmp_path, UNSERVABLE)
    source = (app / "inference.py").read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if "@function(annotations" in text)
    code, output = _schema(capsys, app)
    assert code != 0
    assert output.startswith(f"error: {app / 'inference.py'}:{line}: ")
    assert "App.broken" in output and "input parameter is not a pydantic model" in output
    assert not (app / "functions_schema.json").exists()

    # Missing return annotation, and a decorated static method.
    for body, reason in [
        ("    @function\n    def nothing(self, input_data: In):\n        pass\n", "return"),
        (
            "    @staticmethod\n    @function\n    def helper(input_data: In) -> Out:\n"
            "        return Out()\n",
            "only plain (or async) methods",
        ),
        (
            "    @function\n    def _private(self, input_data: In) -> Out:\n        pass\n",
            "private",
        ),
    ]:
        fixed = UNSERVABLE.replace(
            '    @function(annotations={"readOnlyHint": True})\n'
            "    async def broken(self, count: int) -> Out:\n"
            "        return Out(y=count)\n",
            body,
        )
        code, output = _schema(capsys, app_in(tmp_path, fixed, name=f"app_{reason[:4]}"))
        assert code != 0 and "cannot be served" in output and reason in output, output


def test_app_schema_writes_the_function_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = UNSERVABLE.replace("count: int", "input_data: In").replace("y=count", "y=2")
    app = app_in(tmp_path, body)
    code, output = _schema(capsys, app)
    assert code == 0, output
    functions = json.loads((app / "functions_schema.json").read_text())
    assert functions["broken"]["annotations"] == {"readOnlyHint": True}
    assert functions["broken"]["kind"] == "run"
    assert functions["run"]["capabilities"] == []
