"""Golden JSON of every tool builder, the parameter helpers, and the builders' validation."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any, Literal

import pytest
from inferencesh.agents import (
    ToolDefinitionError,
    agent_tool,
    app_tool,
    array,
    boolean,
    enum_of,
    http_tool,
    integer,
    internal_tools,
    number,
    obj,
    optional,
    string,
    tool,
    webhook_tool,
)


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


# ---- parameter helpers (published-sdk-0.6.md §11.1) --------------------------------------------


def test_param_helpers_exact_output() -> None:
    assert string("User's name") == {"type": "string", "description": "User's name"}
    assert string() == {"type": "string"}
    assert integer("Age in years") == {"type": "integer", "description": "Age in years"}
    assert number("Score 0-1") == {"type": "number", "description": "Score 0-1"}
    assert boolean("Is active") == {"type": "boolean", "description": "Is active"}
    assert enum_of(["low", "medium", "high"], "Priority") == {
        "type": "string",
        "enum": ["low", "medium", "high"],
        "description": "Priority",
    }
    assert array(string("Tag"), "List of tags") == {
        "type": "array",
        "items": {"type": "string", "description": "Tag"},
        "description": "List of tags",
    }
    assert optional(string("ZIP")) == {"type": "string", "description": "ZIP", "optional": True}
    assert obj({"street": string("Street")}, "Address") == {
        "type": "object",
        "properties": {"street": {"type": "string", "description": "Street"}},
        "description": "Address",
    }


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: enum_of("abc"), "list of strings"),
        (lambda: enum_of([]), "at least one value"),
        (lambda: enum_of(["a", 1]), "must be strings"),
        (lambda: array("string"), "item schema"),
        (lambda: obj(["a"]), "mapping"),
        (lambda: optional("x"), "schema"),
    ],
)
def test_param_helpers_reject_bad_input(call: object, message: str) -> None:
    with pytest.raises(ToolDefinitionError, match=message):
        call()  # type: ignore[operator]


# ---- builders: exact JSON (published-sdk-0.6.md §11.4; 0.36 sends require_approval as a bool) ---------------------------------------


def test_client_tool_matches_the_verified_reference_bytes() -> None:
    built = tool("calc").describe("d").param("a", number("A")).build()
    assert compact(built) == (
        '{"name":"calc","display_name":"calc","description":"d","type":"client",'
        '"require_approval":false,"client":{"input_schema":{"type":"object","properties":'
        '{"a":{"type":"number","description":"A"}},"required":["a"]}}}'
    )


def test_client_tool_seed_greet() -> None:
    built = (
        tool("greet")
        .display("Greet User")
        .describe("Greets a user by name")
        .param("name", string("Name to greet"))
        .require_approval()
        .build()
    )
    assert built == {
        "name": "greet",
        "display_name": "Greet User",
        "description": "Greets a user by name",
        "type": "client",
        "require_approval": True,
        "client": {
            "input_schema": {
                "type": "object",
                "properties": {"name": {"type": "string", "description": "Name to greet"}},
                "required": ["name"],
            }
        },
    }
    assert built.handler is None


def test_tool_without_params_still_has_an_object_schema() -> None:
    built = tool("ping").build()
    assert built["client"] == {"input_schema": {"type": "object", "properties": {}, "required": []}}
    assert built["description"] == ""


def test_optional_and_nested_objects_compute_required_everywhere() -> None:
    address = obj(
        {"street": string("Street"), "city": string("City"), "zip": optional(string("ZIP"))},
        "Address",
    )
    built = (
        tool("save")
        .param("address", address)
        .param("tags", array(obj({"k": string(), "v": optional(string())})))
        .param("note", optional(string("Note")))
        .build()
    )
    schema = built["client"]["input_schema"]
    assert schema["required"] == ["address", "tags"]
    assert schema["properties"]["address"] == {
        "type": "object",
        "properties": {
            "street": {"type": "string", "description": "Street"},
            "city": {"type": "string", "description": "City"},
            "zip": {"type": "string", "description": "ZIP"},
        },
        "description": "Address",
        "required": ["street", "city"],
    }
    # The `optional` marker never leaks into array items (a published-SDK bug).
    assert schema["properties"]["tags"]["items"] == {
        "type": "object",
        "properties": {"k": {"type": "string"}, "v": {"type": "string"}},
        "required": ["k"],
    }
    assert "optional" not in compact(built)


def test_app_tool_seed_golden() -> None:
    built = (
        app_tool("generate_image", "infsh/flux-schnell@latest")
        .describe("Generate an image from text")
        .param("prompt", string("Image description"))
        .setup({"model": "schnell"})
        .input({"steps": 20})
        .require_approval()
        .build()
    )
    assert built == {
        "name": "generate_image",
        "display_name": "generate_image",
        "description": "Generate an image from text",
        "type": "app",
        "require_approval": True,
        "app": {
            "ref": "infsh/flux-schnell@latest",
            "setup": {"model": "schnell"},
            "input": {"steps": 20},
            "input_schema": {
                "type": "object",
                "properties": {"prompt": {"type": "string", "description": "Image description"}},
                "required": ["prompt"],
            },
        },
    }


def test_app_tool_minimal_and_options() -> None:
    assert app_tool("img", "infsh/flux").build() == {
        "name": "img",
        "display_name": "img",
        "description": "",
        "type": "app",
        "require_approval": False,
        "app": {"ref": "infsh/flux"},
    }
    built = app_tool("img", "infsh/flux@v2").function("upscale").session_enabled().build()
    assert built["app"] == {"ref": "infsh/flux@v2", "function": "upscale", "session_enabled": True}


def test_agent_tool_seed_golden() -> None:
    built = (
        agent_tool("research", "my-org/researcher@v1")
        .describe("Research a topic")
        .param("topic", string("Topic to research"))
        .build()
    )
    assert built == {
        "name": "research",
        "display_name": "research",
        "description": "Research a topic",
        "type": "agent",
        "require_approval": False,
        "agent": {
            "ref": "my-org/researcher@v1",
            "input_schema": {
                "type": "object",
                "properties": {"topic": {"type": "string", "description": "Topic to research"}},
                "required": ["topic"],
            },
        },
    }
    assert agent_tool("r", "my-org/researcher").build()["agent"] == {"ref": "my-org/researcher"}


def test_webhook_tool_seed_golden() -> None:
    built = (
        webhook_tool("slack", "https://hooks.slack.com/services/x")
        .describe("Send Slack notification")
        .secret("SLACK_SECRET")
        .param("channel", string("Channel"))
        .param("message", string("Message"))
        .build()
    )
    assert built == {
        "name": "slack",
        "display_name": "slack",
        "description": "Send Slack notification",
        "type": "hook",
        "require_approval": False,
        "hook": {
            "url": "https://hooks.slack.com/services/x",
            "secret": "SLACK_SECRET",
            "input_schema": {
                "type": "object",
                "properties": {
                    "channel": {"type": "string", "description": "Channel"},
                    "message": {"type": "string", "description": "Message"},
                },
                "required": ["channel", "message"],
            },
        },
    }
    assert webhook_tool("h", "https://x.test/h").build()["hook"]["secret"] is None


def test_http_tool_builds_and_defaults() -> None:
    # The published http_tool(...).build() always raised AttributeError; this one works.
    assert http_tool("get_user", "https://api.example.com/u").build() == {
        "name": "get_user",
        "display_name": "get_user",
        "description": "",
        "type": "http",
        "require_approval": False,
        "http": {
            "url": "https://api.example.com/u",
            "method": None,
            "auth": None,
            "headers": None,
            "input_schema": {"type": "object", "properties": {}, "required": []},
        },
    }


@pytest.mark.parametrize(
    ("kwargs", "auth"),
    [
        ({"credential": "github"}, {"type": "credential", "provider": "github"}),
        (
            {"integration": "google", "integration_id": "i1"},
            {"type": "integration", "provider": "google", "integration_id": "i1"},
        ),
        ({"api_key": "MY_KEY"}, {"type": "api_key", "secret": "MY_KEY", "header": "X-API-Key"}),
        (
            {"api_key": "MY_KEY", "header": "X-Token"},
            {"type": "api_key", "secret": "MY_KEY", "header": "X-Token"},
        ),
        ({"bearer": "TOKEN"}, {"type": "bearer", "secret": "TOKEN"}),
    ],
)
def test_http_tool_auth_variants(kwargs: dict[str, str], auth: dict[str, str]) -> None:
    built = (
        http_tool("call", "https://api.example.com/x")
        .method("get")
        .auth(**kwargs)
        .header("X-Team", "${{secrets.TEAM}}")
        .param("q", string("Query"))
        .build()
    )
    assert built["http"]["method"] == "GET"
    assert built["http"]["auth"] == auth
    assert built["http"]["headers"] == {"X-Team": "${{secrets.TEAM}}"}
    assert built["http"]["input_schema"]["required"] == ["q"]


def test_internal_tools_seed_golden() -> None:
    config = (
        internal_tools()
        .plan()
        .memory()
        .web_search(True)
        .code_execution(True)
        .image_generation({"enabled": True, "app_ref": "infsh/flux@latest"})
        .build()
    )
    assert config == {
        "plan": True,
        "memory": True,
        "web_search": True,
        "code_execution": True,
        "image_generation": {"enabled": True, "app_ref": "infsh/flux@latest"},
    }


def test_internal_tools_switches_all_and_none() -> None:
    assert internal_tools().build() == {}
    assert internal_tools().widget().finish(False).skills().host_context().build() == {
        "widget": True,
        "finish": False,
        "skills": True,
        "host_context": True,
    }
    everything = {"plan": True, "memory": True, "widget": True, "finish": True, "skills": True}
    assert internal_tools().all().build() == everything
    assert internal_tools().none().build() == dict.fromkeys(everything, False)
    assert internal_tools().image_generation(False).build() == {"image_generation": False}


def test_build_returns_independent_copies() -> None:
    builder = internal_tools().image_generation({"enabled": True})
    first = builder.build()
    first["image_generation"]["enabled"] = False
    assert builder.build()["image_generation"] == {"enabled": True}


# ---- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: tool(""), "needs a name"),
        (lambda: tool(None), "needs a name"),  # type: ignore[arg-type]
        (lambda: tool("has space"), "invalid tool name 'has space'"),
        (lambda: tool("t").param("x", {"type": "strin"}), "unknown parameter type 'strin'"),
        (lambda: tool("t").param("x", "string"), "must be a dict"),
        (lambda: tool("t").param("x", string()).param("x", integer()), "duplicate parameter 'x'"),
        (lambda: tool("t").param("x", {"type": "array"}), "array needs an item schema"),
        (
            lambda: tool("t").param("x", obj({"a": {"type": "bogus"}})),
            r"parameter 'x'\.a: unknown parameter type 'bogus'",
        ),
        (lambda: app_tool("img", "flux-schnell"), "invalid tool 'img': app reference"),
        (lambda: app_tool("img", "infsh/flux@"), "app reference"),
        (lambda: agent_tool("a", "researcher"), "agent reference"),
        (lambda: webhook_tool("h", "ftp://x"), "http:// or https://"),
        (lambda: http_tool("h", "https://x").method("FETCH"), "unknown HTTP method"),
        (lambda: http_tool("h", "https://x").auth(), "exactly one of"),
        (lambda: http_tool("h", "https://x").auth(api_key="A", bearer="B"), "exactly one of"),
        (lambda: app_tool("i", "a/b").setup(["x"]), r"setup\(\) takes a dict"),
        (lambda: internal_tools().plan("yes"), "takes True or False"),  # type: ignore[arg-type]
        (lambda: internal_tools().image_generation({"model": "x"}), "unknown keys"),
        (lambda: internal_tools().image_generation({"app_ref": "nope"}), "app reference"),
        (lambda: tool("t").handler("not callable"), "takes a callable"),  # type: ignore[arg-type]
    ],
)
def test_builders_reject_bad_definitions(make: object, message: str) -> None:
    with pytest.raises(ToolDefinitionError, match=message):
        make().build()  # type: ignore[operator]


def test_tool_definition_error_is_a_value_error() -> None:
    assert issubclass(ToolDefinitionError, ValueError)


def test_params_adds_in_order_and_accepts_raw_json_schema() -> None:
    built = (
        tool("t")
        .params({"b": string(), "a": {"type": ["string", "null"]}, "c": {"enum": [1, 2]}})
        .build()
    )
    assert list(built["client"]["input_schema"]["properties"]) == ["b", "a", "c"]


def test_handler_travels_with_the_built_tool_but_not_in_json() -> None:
    def greet(args: dict[str, str]) -> str:
        return f"hi {args['name']}"

    built = tool("greet").param("name", string()).handler(greet).build()
    assert built.handler is greet
    assert "handler" not in built
    assert json.loads(json.dumps(built)) == dict(built)


# ---- tools from typed functions -----------------------------------------------------------


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


def get_weather(
    city: str,
    days: int,
    unit: Unit = Unit.C,
    detail: Literal["short", "long"] = "short",
    hourly: bool | None = None,
    tags: list[str] | None = None,
    ratio: Annotated[float, "A ratio from 0 to 1"] = 0.5,
    extra: dict[str, str] | None = None,
) -> str:
    """Get the weather forecast for a city.

    Longer explanation that is not part of the summary.

    Args:
        city: The city name,
            for example Paris.
        days (int): How many days ahead.
        unit: Temperature unit.

    Returns:
        The forecast as text.
    """
    return f"{city}:{days}:{unit.value}:{detail}"


def test_from_function_schema_and_description() -> None:
    built = tool.from_function(get_weather).build()
    assert built["name"] == "get_weather"
    assert built["description"] == "Get the weather forecast for a city."
    schema = built["client"]["input_schema"]
    assert schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city name, for example Paris."},
            "days": {"type": "integer", "description": "How many days ahead."},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "description": "Temperature unit.",
            },
            "detail": {"type": "string", "enum": ["short", "long"]},
            "hourly": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "ratio": {"type": "number", "description": "A ratio from 0 to 1"},
            "extra": {"type": "object"},
        },
        "required": ["city", "days"],
    }


def test_from_function_handler_calls_with_keyword_arguments() -> None:
    built = tool.from_function(get_weather, name="weather", description="W").build()
    assert built["name"] == "weather"
    assert built["description"] == "W"
    assert built.handler is not None
    assert built.handler({"city": "Oslo", "days": 2}) == "Oslo:2:celsius:short"


def test_from_function_sphinx_docstring() -> None:
    def add(a: int, b: int = 0) -> int:
        """Add two numbers.

        :param a: first
        :param int b: second
        """
        return a + b

    schema = tool.from_function(add).build()["client"]["input_schema"]
    assert schema["properties"] == {
        "a": {"type": "integer", "description": "first"},
        "b": {"type": "integer", "description": "second"},
    }
    assert schema["required"] == ["a"]


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda x: x, "add a type annotation"),
        (lambda *args: args, "named arguments only"),
    ],
)
def test_from_function_rejects_unusable_signatures(fn: object, message: str) -> None:
    with pytest.raises(ToolDefinitionError, match=message):
        tool.from_function(fn)  # type: ignore[arg-type]


def test_from_function_rejects_unsupported_annotations() -> None:
    def f(x: int | str) -> None: ...

    def g(x: list) -> None: ...  # type: ignore[type-arg]

    def h(x: object) -> None: ...

    with pytest.raises(ToolDefinitionError, match=r"only `T \| None`"):
        tool.from_function(f)
    with pytest.raises(ToolDefinitionError, match=r"list\[str\]"):
        tool.from_function(g)
    with pytest.raises(ToolDefinitionError, match="unsupported annotation"):
        tool.from_function(h)


# ---- from_function: the handler gets what the annotations say --------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def test_from_function_converts_arguments_to_the_annotations() -> None:
    seen: dict[str, Any] = {}

    def paint(
        color: Color,
        tags: set[str],
        scale: float,
        mode: Literal["fast", "slow"] = "fast",
        note: str | None = None,
    ) -> str:
        """Paint something."""
        seen.update(color=color, tags=tags, scale=scale, mode=mode, note=note)
        return color.name

    handler = tool.from_function(paint).build().handler
    assert handler is not None
    # JSON gives the enum's value, a list for the set and an int for the float.
    assert handler({"color": "red", "tags": ["a", "a", "b"], "scale": 2}) == "RED"
    assert seen == {
        "color": Color.RED,
        "tags": {"a", "b"},
        "scale": 2.0,
        "mode": "fast",
        "note": None,
    }
    assert type(seen["scale"]) is float
    # `null` for a parameter with a default (how many models leave one out) keeps the default.
    assert handler({"color": "blue", "tags": [], "scale": 1.5, "mode": None}) == "BLUE"
    assert seen["mode"] == "fast"


def test_from_function_passes_none_for_a_missing_nullable_argument() -> None:
    def lookup(key: str, limit: int | None) -> str:
        """Look up."""
        return f"{key}:{limit}"

    built = tool.from_function(lookup).build()
    # The schema tells the model `limit` may be left out...
    assert built["client"]["input_schema"]["required"] == ["key"]
    # ...so leaving it out must not break the call.
    assert built.handler is not None
    assert built.handler({"key": "k"}) == "k:None"
    assert built.handler({"key": "k", "limit": "7"}) == "k:7"  # a number sent as text


def test_from_function_bad_arguments_name_the_parameter() -> None:
    def paint(color: Color) -> str:
        """Paint."""
        return color.name

    handler = tool.from_function(paint).build().handler
    assert handler is not None
    with pytest.raises(ValueError, match=r"argument 'color'.*'green'"):
        handler({"color": "green"})
    with pytest.raises(ValueError, match=r"unknown arguments \['size'\]"):
        handler({"color": "red", "size": 3})


def test_from_function_refuses_a_fixed_length_tuple() -> None:
    def pair(point: tuple[int, str]) -> None:
        """Pair."""

    with pytest.raises(ToolDefinitionError, match=r"parameter 'point'.*tuple\[T, \.\.\.\]"):
        tool.from_function(pair)

    def many(points: tuple[int, ...]) -> int:
        """Many."""
        return sum(points)

    built = tool.from_function(many).build()
    assert built["client"]["input_schema"]["properties"]["points"] == {
        "type": "array",
        "items": {"type": "integer"},
    }
    assert built.handler is not None
    assert built.handler({"points": [1, 2]}) == 3
