"""The fluent tool builder: describe a tool once, hand the built JSON to an agent.

Every builder method returns the builder, and ``.build()`` returns the tool JSON the platform
expects (a ``dict``).

Example:
    >>> from inferencesh.agents import tool, string
    >>> calc = tool("calculate").describe("Do math").param("expression", string("Math")).build()
    >>> calc["type"], calc["client"]["input_schema"]["required"]
    ('client', ['expression'])

Builders check their input as early as possible and raise ``ToolDefinitionError`` (a
``ValueError``) naming the tool and the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from inferencesh.agents.params import JSONSchema, ToolDefinitionError, to_json_schema
from inferencesh.core.requests import AGENT_REF_PATTERN, TOOL_NAME_PATTERN

__all__ = [
    "AgentToolBuilder",
    "AppToolBuilder",
    "BuiltTool",
    "ClientToolBuilder",
    "HttpToolBuilder",
    "InternalToolsBuilder",
    "ToolHandler",
    "WebhookToolBuilder",
    "agent_tool",
    "app_tool",
    "call_tool",
    "http_tool",
    "internal_tools",
    "tool",
    "webhook_tool",
]

ToolHandler = Callable[[dict[str, Any]], Any]
"""A client tool's handler: called with the call's arguments as one dict; may be async; the return
value is sent as the tool result (strings as they are, anything else as JSON)."""

# The same rules as the AgentTool / AgentConfig wire structs (inferencesh.core.requests): a tool
# name is what LLM function names allow; a ref is namespace/name with an optional @version.
_NAME = re.compile(TOOL_NAME_PATTERN)
_REF = re.compile(AGENT_REF_PATTERN)
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

_B = TypeVar("_B", bound="_ToolBuilder")


class BuiltTool(dict[str, Any]):
    """The JSON of a built tool (a plain ``dict``), plus the client-side ``handler`` if any.

    The handler never goes over the wire; an agent given this tool runs it for each call.
    """

    __slots__ = ("handler",)

    def __init__(self, data: Mapping[str, Any], handler: ToolHandler | None = None) -> None:
        super().__init__(data)
        self.handler = handler


def check_name(name: object, what: str = "tool") -> str:
    """Return ``name`` if it is a valid tool name, else raise ``ToolDefinitionError``."""
    if not isinstance(name, str) or not name:
        raise ToolDefinitionError(f"a {what} needs a name (a non-empty string), got {name!r}")
    if not _NAME.match(name):
        raise ToolDefinitionError(
            f"invalid {what} name {name!r}: use 1-64 letters, digits, '_' or '-' "
            "(LLM function names allow nothing else)"
        )
    return name


def check_ref(ref: object, what: str) -> str:
    """Return ``ref`` if it looks like ``namespace/name[@version]``, else raise."""
    if not isinstance(ref, str) or not _REF.match(ref):
        raise ToolDefinitionError(
            f"invalid {what} reference {ref!r}: expected 'namespace/name' or "
            "'namespace/name@version', e.g. 'infsh/flux-schnell@latest'"
        )
    return ref


def _check_url(url: object, where: str) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ToolDefinitionError(
            f"{where}: the URL must start with http:// or https://, got {url!r}"
        )
    return url


def _check_mapping(values: object, where: str) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise ToolDefinitionError(f"{where} takes a dict, got {values!r}")
    return dict(values)


class _ToolBuilder:
    """What every tool builder shares: name, display name, description, params, approval."""

    _type: str = ""

    def __init__(self, name: str) -> None:
        self._name = check_name(name)
        self._display_name: str | None = None
        self._description = ""
        self._params: dict[str, JSONSchema] = {}
        self._require_approval = False

    @property
    def name(self) -> str:
        """The tool's name, as the LLM calls it."""
        return self._name

    def describe(self: _B, text: str) -> _B:
        """Set the description the LLM reads to decide when to call the tool."""
        if not isinstance(text, str):
            raise ToolDefinitionError(f"tool {self._name!r}: describe() takes a string")
        self._description = text
        return self

    def description(self: _B, text: str) -> _B:
        """Alias of :meth:`describe`."""
        return self.describe(text)

    def display_name(self: _B, name: str) -> _B:
        """Set the human-readable name shown in UIs (defaults to the tool name)."""
        if not isinstance(name, str) or not name:
            raise ToolDefinitionError(
                f"tool {self._name!r}: display name must be a non-empty string"
            )
        self._display_name = name
        return self

    def display(self: _B, name: str) -> _B:
        """Alias of :meth:`display_name`."""
        return self.display_name(name)

    def param(self: _B, name: str, schema: Mapping[str, Any]) -> _B:
        """Add a parameter; ``schema`` comes from ``string()``, ``integer()``, ... or is JSON Schema."""
        if not isinstance(name, str) or not name:
            raise ToolDefinitionError(f"tool {self._name!r}: a parameter needs a non-empty name")
        if name in self._params:
            raise ToolDefinitionError(f"tool {self._name!r}: duplicate parameter {name!r}")
        # Validates now, so the error points at the line that added the bad parameter.
        to_json_schema({name: schema}, f"tool {self._name!r}")
        self._params[name] = dict(schema)
        return self

    def params(self: _B, params: Mapping[str, Mapping[str, Any]]) -> _B:
        """Add several parameters at once, in the mapping's order."""
        for name, schema in _check_mapping(params, f"tool {self._name!r}: params()").items():
            self.param(name, schema)
        return self

    def require_approval(self: _B, required: bool = True) -> _B:
        """Ask a person to approve each call before it runs (human in the loop)."""
        self._require_approval = bool(required)
        return self

    def _input_schema(self) -> JSONSchema:
        return to_json_schema(self._params, f"tool {self._name!r}")

    def _body(self) -> dict[str, Any]:
        raise NotImplementedError

    def build(self) -> BuiltTool:
        """Validate everything and return the tool JSON for an agent's ``tools`` list."""
        data: dict[str, Any] = {
            "name": check_name(self._name),
            "display_name": self._display_name or self._name,
            "description": self._description,
            "type": self._type,
            "require_approval": self._require_approval,  # always a bool, as 0.36 sends it
        }
        data.update(self._body())
        return BuiltTool(data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r})"


class ClientToolBuilder(_ToolBuilder):
    """A tool that runs in your code: the agent pauses, you (or the handler) send the result.

    Example:
        >>> from inferencesh import string, tool
        >>> greet = (
        ...     tool("greet")
        ...     .describe("Greet someone by name")
        ...     .param("name", string("Who to greet"))
        ...     .handler(lambda args: f"Hello, {args['name']}!")
        ...     .build()
        ... )
        >>> greet["type"], greet.handler({"name": "Ada"})
        ('client', 'Hello, Ada!')
    """

    _type = "client"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._handler: ToolHandler | None = None

    def handler(self, fn: ToolHandler) -> ClientToolBuilder:
        """Run ``fn`` automatically for every call of this tool and send its return value."""
        if not callable(fn):
            raise ToolDefinitionError(
                f"tool {self._name!r}: handler() takes a callable, got {fn!r}"
            )
        self._handler = fn
        return self

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> ClientToolBuilder:
        """A client tool from a typed function: its signature and docstring become the schema.

        The function becomes the tool's handler. Supported annotations: ``str``, ``int``,
        ``float``, ``bool``, ``list[T]``, ``dict``, ``Literal[...]``, ``Enum`` subclasses,
        ``T | None`` and parameters with defaults (both optional).

        Example:
            >>> from inferencesh import tool
            >>> def get_weather(city: str, unit: str = "celsius") -> str:
            ...     '''Current weather for a city.
            ...
            ...     Args:
            ...         city: the city name
            ...     '''
            ...     return f"Sunny in {city}"
            >>> weather = tool.from_function(get_weather).build()
            >>> weather["description"], weather["client"]["input_schema"]["required"]
            ('Current weather for a city.', ['city'])
        """
        from inferencesh.agents._function import describe_function, function_handler

        fn_name, fn_description, params = describe_function(fn)
        builder = cls(name or fn_name)
        builder.describe(description if description is not None else fn_description)
        builder.params(params)
        builder._handler = function_handler(fn)
        return builder

    def _body(self) -> dict[str, Any]:
        return {"client": {"input_schema": self._input_schema()}}

    def build(self) -> BuiltTool:
        """The tool JSON; the handler, if any, rides along as ``.handler``."""
        built = super().build()
        built.handler = self._handler
        return built


class AppToolBuilder(_ToolBuilder):
    """A tool that runs an inference.sh app as a task; its arguments become the task input.

    Example:
        >>> from inferencesh import app_tool, string
        >>> image_gen = (
        ...     app_tool("generate_image", "infsh/flux-schnell@latest")
        ...     .describe("Generate an image")
        ...     .param("prompt", string("Image description"))
        ...     .build()
        ... )
        >>> image_gen["type"], image_gen["app"]["ref"]
        ('app', 'infsh/flux-schnell@latest')
    """

    _type = "app"

    def __init__(self, name: str, app_ref: str) -> None:
        super().__init__(name)
        self._ref = check_ref(app_ref, f"tool {name!r}: app")
        self._function: str | None = None
        self._session_enabled = False
        self._setup: dict[str, Any] = {}
        self._input: dict[str, Any] = {}

    def setup(self, values: Mapping[str, Any]) -> AppToolBuilder:
        """Fixed setup values for the app (hidden from the agent)."""
        self._setup = _check_mapping(values, f"tool {self._name!r}: setup()")
        return self

    def input(self, values: Mapping[str, Any]) -> AppToolBuilder:
        """Default input values; the agent may override them."""
        self._input = _check_mapping(values, f"tool {self._name!r}: input()")
        return self

    def function(self, name: str) -> AppToolBuilder:
        """Call this function of a multi-function app instead of the default one."""
        if not isinstance(name, str) or not name:
            raise ToolDefinitionError(f"tool {self._name!r}: function() takes a non-empty name")
        self._function = name
        return self

    def session_enabled(self, enabled: bool = True) -> AppToolBuilder:
        """Let the agent keep a warm session across calls (it sees ``session_id`` in outputs)."""
        self._session_enabled = bool(enabled)
        return self

    def _body(self) -> dict[str, Any]:
        app: dict[str, Any] = {"ref": self._ref}
        if self._function:
            app["function"] = self._function
        if self._session_enabled:
            app["session_enabled"] = True
        if self._setup:
            app["setup"] = self._setup
        if self._input:
            app["input"] = self._input
        if self._params:
            # The platform derives the schema from the app; declared params narrow what the
            # agent is shown instead of being dropped silently.
            app["input_schema"] = self._input_schema()
        return {"app": app}


class AgentToolBuilder(_ToolBuilder):
    """A tool that delegates to a sub-agent; its arguments become the sub-agent's message.

    Example:
        >>> from inferencesh import agent_tool, string
        >>> research = (
        ...     agent_tool("research", "local/researcher")
        ...     .describe("Research a topic and report back")
        ...     .param("topic", string("What to research"))
        ...     .build()
        ... )
        >>> research["type"], research["agent"]["ref"]
        ('agent', 'local/researcher')
    """

    _type = "agent"

    def __init__(self, name: str, agent_ref: str) -> None:
        super().__init__(name)
        self._ref = check_ref(agent_ref, f"tool {name!r}: agent")

    def describe(self, description: str) -> AgentToolBuilder:
        """Set the description the LLM reads to decide when to delegate (0.36 names the
        parameter ``description`` here)."""
        return super().describe(description)

    def _body(self) -> dict[str, Any]:
        agent: dict[str, Any] = {"ref": self._ref}
        if self._params:
            agent["input_schema"] = self._input_schema()
        return {"agent": agent}


class WebhookToolBuilder(_ToolBuilder):
    """A tool the platform calls by POSTing the arguments to your URL (``hook`` type)."""

    _type = "hook"

    def __init__(self, name: str, url: str) -> None:
        super().__init__(name)
        self._url = _check_url(url, f"tool {name!r}")
        self._secret: str | None = None

    def secret(self, key: str) -> WebhookToolBuilder:
        """Name a secret (by its key in your vault) sent with each call, so the hook can verify it."""
        if not isinstance(key, str) or not key:
            raise ToolDefinitionError(f"tool {self._name!r}: secret() takes a secret's key name")
        self._secret = key
        return self

    def _body(self) -> dict[str, Any]:
        return {
            "hook": {"url": self._url, "secret": self._secret, "input_schema": self._input_schema()}
        }


class HttpToolBuilder(_ToolBuilder):
    """A tool the platform calls as an authenticated HTTP request; the response is the result.

    Example:
        >>> from inferencesh import http_tool, string
        >>> orders = (
        ...     http_tool("order_status", "https://api.example.com/orders")
        ...     .method("GET")
        ...     .auth(bearer="SHOP_API_TOKEN")  # the name of a secret, never its value
        ...     .param("order_id", string("The order number"))
        ...     .build()
        ... )
        >>> orders["type"], orders["http"]["method"]
        ('http', 'GET')
    """

    _type = "http"

    def __init__(self, name: str, url: str) -> None:
        super().__init__(name)
        self._url = _check_url(url, f"tool {name!r}")
        self._method = "POST"
        self._auth: dict[str, Any] | None = None
        self._headers: dict[str, str] = {}

    def method(self, m: str) -> HttpToolBuilder:
        """The HTTP method ``m`` (default POST; 0.36's parameter name)."""
        upper = m.upper() if isinstance(m, str) else ""
        if upper not in _HTTP_METHODS:
            raise ToolDefinitionError(
                f"tool {self._name!r}: unknown HTTP method {m!r}; use one of "
                f"{sorted(_HTTP_METHODS)}"
            )
        self._method = upper
        return self

    def auth(
        self,
        *,
        credential: str | None = None,
        integration: str | None = None,
        integration_id: str | None = None,
        api_key: str | None = None,
        bearer: str | None = None,
        header: str | None = None,
    ) -> HttpToolBuilder:
        """How the platform authenticates the call; values name secrets or providers, never keys.

        Exactly one of ``credential`` (a connected account's provider), ``integration`` (the
        older name of the same), ``api_key`` (a secret sent in ``header``, default
        ``X-API-Key``) or ``bearer`` (a secret sent as a bearer token).
        """
        given = {
            k: v
            for k, v in {
                "credential": credential,
                "integration": integration,
                "api_key": api_key,
                "bearer": bearer,
            }.items()
            if v
        }
        if len(given) != 1:
            raise ToolDefinitionError(
                f"tool {self._name!r}: auth() takes exactly one of credential=, integration=, "
                f"api_key= or bearer=, got {sorted(given) or 'none'}"
            )
        kind, value = next(iter(given.items()))
        if kind == "credential":
            self._auth = {"type": "credential", "provider": value}
        elif kind == "integration":
            self._auth = {"type": "integration", "provider": value}
            if integration_id:
                self._auth["integration_id"] = integration_id
        elif kind == "api_key":
            self._auth = {"type": "api_key", "secret": value, "header": header or "X-API-Key"}
        else:
            self._auth = {"type": "bearer", "secret": value}
        return self

    def header(self, name: str, value: str) -> HttpToolBuilder:
        """Add a request header; ``${{secrets.NAME}}`` in ``value`` refers to a secret."""
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise ToolDefinitionError(
                f"tool {self._name!r}: header() takes a name and a string value"
            )
        self._headers[name] = value
        return self

    def _body(self) -> dict[str, Any]:
        return {
            "http": {
                "url": self._url,
                "method": None if self._method == "POST" else self._method,
                "auth": self._auth,
                "headers": self._headers or None,
                "input_schema": self._input_schema(),
            }
        }


class InternalToolsBuilder:
    """Switch the agent's built-in capabilities on or off; ``.build()`` gives the config dict.

    Example:
        >>> from inferencesh import internal_tools
        >>> internal_tools().plan().memory(False).build()  # pass it as "internal_tools"
        {'plan': True, 'memory': False}
    """

    # The platform's built-in tool groups (on by default when omitted, except host_context).
    _PLATFORM = ("plan", "memory", "widget", "finish", "skills")

    def __init__(self) -> None:
        self._config: dict[str, Any] = {}

    def _set(self, key: str, enabled: bool) -> InternalToolsBuilder:
        if not isinstance(enabled, bool):
            raise ToolDefinitionError(
                f"internal_tools().{key}() takes True or False, got {enabled!r}"
            )
        self._config[key] = enabled
        return self

    def plan(self, enabled: bool = True) -> InternalToolsBuilder:
        """Planning tools (plan_create, plan_update, plan_load)."""
        return self._set("plan", enabled)

    def memory(self, enabled: bool = True) -> InternalToolsBuilder:
        """Chat-scoped memory tools (memory_set, memory_get, memory_getall)."""
        return self._set("memory", enabled)

    def widget(self, enabled: bool = True) -> InternalToolsBuilder:
        """Interactive UI widgets (top-level agents only)."""
        return self._set("widget", enabled)

    def finish(self, enabled: bool = True) -> InternalToolsBuilder:
        """The finish tool that ends a run with a result (sub-agents)."""
        return self._set("finish", enabled)

    def skills(self, enabled: bool = True) -> InternalToolsBuilder:
        """The skill_get tool that loads the agent's skills on demand."""
        return self._set("skills", enabled)

    def host_context(self, enabled: bool = True) -> InternalToolsBuilder:
        """Tools for agents embedded in a host page (get_host_context, send_to_host)."""
        return self._set("host_context", enabled)

    # The cloud's newer opt-in groups (0.36's setters). The local platform's agent loop has none
    # of them: it accepts the flags and offers no tools for them.
    def meta(self, enabled: bool = True) -> InternalToolsBuilder:
        """Tools about the agent itself (opt-in; cloud only)."""
        return self._set("meta", enabled)

    def artifact(self, enabled: bool = True) -> InternalToolsBuilder:
        """Tools that create and update the chat's artifacts (opt-in; cloud only)."""
        return self._set("artifact", enabled)

    def agent(self, enabled: bool = True) -> InternalToolsBuilder:
        """Tools that spawn sub-agents on the fly (opt-in; cloud only)."""
        return self._set("agent", enabled)

    def remote(self, enabled: bool = True) -> InternalToolsBuilder:
        """Tools that work on a remote machine the chat is attached to (opt-in; cloud only)."""
        return self._set("remote", enabled)

    def knowledge(self, enabled: bool = True) -> InternalToolsBuilder:
        """Tools that search the team's knowledge base (opt-in; cloud only)."""
        return self._set("knowledge", enabled)

    def web_search(self, enabled: bool = True) -> InternalToolsBuilder:
        """Web search."""
        return self._set("web_search", enabled)

    def code_execution(self, enabled: bool = True) -> InternalToolsBuilder:
        """Code execution in a sandbox."""
        return self._set("code_execution", enabled)

    def image_generation(self, config: bool | Mapping[str, Any] = True) -> InternalToolsBuilder:
        """Image generation: ``True``/``False`` or ``{"enabled": bool, "app_ref": "ns/app@ver"}``."""
        if isinstance(config, bool):
            self._config["image_generation"] = config
            return self
        values = _check_mapping(config, "internal_tools().image_generation()")
        unknown = sorted(set(values) - {"enabled", "app_ref"})
        if unknown:
            raise ToolDefinitionError(
                f"internal_tools().image_generation(): unknown keys {unknown}; "
                "use 'enabled' and 'app_ref'"
            )
        if "enabled" in values and not isinstance(values["enabled"], bool):
            raise ToolDefinitionError(
                "internal_tools().image_generation(): 'enabled' must be a bool"
            )
        if "app_ref" in values:
            check_ref(values["app_ref"], "internal_tools().image_generation(): app")
        self._config["image_generation"] = values
        return self

    def all(self) -> InternalToolsBuilder:
        """Turn on every platform tool group: plan, memory, widget, finish, skills."""
        for key in self._PLATFORM:
            self._config[key] = True
        return self

    def none(self) -> InternalToolsBuilder:
        """Turn off every platform tool group: plan, memory, widget, finish, skills."""
        for key in self._PLATFORM:
            self._config[key] = False
        return self

    def build(self) -> dict[str, Any]:
        """The ``internal_tools`` config for an agent."""
        return {k: dict(v) if isinstance(v, dict) else v for k, v in self._config.items()}

    def __repr__(self) -> str:
        return f"internal_tools({self._config!r})"


# The seed's lowercase entry points: `tool("name")` and friends are the builder classes
# themselves, so `tool.from_function(fn)` reads naturally.
tool = ClientToolBuilder
app_tool = AppToolBuilder
agent_tool = AgentToolBuilder
webhook_tool = WebhookToolBuilder
http_tool = HttpToolBuilder
call_tool = HttpToolBuilder
"""0.36's preferred name for :data:`http_tool`; it builds the same ``type: "http"`` tool (the
platform runs ``http`` and ``call`` tools alike)."""
internal_tools = InternalToolsBuilder
