"""Every ``>>>`` example in the SDK's docstrings runs, and prints what it shows.

The examples are collected with the stdlib ``doctest`` from every module of the three
distributions, so an example added anywhere is run too. They run the way a reader would run them:
against the local platform (``inferencesh dev examples/apps --agents-dir examples/agents``, where
``infsh/flux-schnell`` is a stand-in image app and the model refs are the scripted model), with
``INFERENCE_API_KEY`` and ``INFERENCE_BASE_URL`` pointing at it, in a working directory that holds
``report.txt``. Each docstring gets fresh globals: its own imports, plus ``client`` (an
``inference()`` client from that environment) for the examples of the client's methods.
``ELLIPSIS`` is on, so ``...`` in an expected output matches what differs between runs (ids,
URLs).

A failure names the object and the line of its docstring, with what was expected and what came.
``DOCUMENTED`` lists the entry points a user meets first: each must keep an example.
"""

from __future__ import annotations

import doctest
import importlib
import io
import json
import pkgutil
from pathlib import Path

import inferencesh
import pytest
from inferencesh import inference
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
REPORT = "quarterly report\n"

# The public entry points that must carry a runnable example (doctest names: module.qualname).
DOCUMENTED = [
    "inferencesh",
    "inferencesh.core",
    "inferencesh.core.client.Inference",
    "inferencesh.core.client.Inference.run",
    "inferencesh.core.client.Inference.wait_for_completion",
    "inferencesh.core.client.Inference.stream_task",
    "inferencesh.core.client.Inference.upload_file",
    "inferencesh.core.client.Inference.session",
    "inferencesh.core.client.AsyncInference",
    "inferencesh.core.client.inference",
    "inferencesh.core.client.async_inference",
    "inferencesh.core.sessions.SessionHandle",
    "inferencesh.core.tasks.TaskStream",
    "inferencesh.core.errors.InferenceError",
    "inferencesh.core.errors.APIError",
    "inferencesh.core.errors.APITimeoutError",
    "inferencesh.core.errors.TaskFailedError",
    "inferencesh.core.errors.TaskCancelledError",
    "inferencesh.core.progress.ProgressBar",
    "inferencesh.agents",
    "inferencesh.agents.params",
    "inferencesh.agents.tools",
    "inferencesh.agents.tools.ClientToolBuilder",
    "inferencesh.agents.tools.ClientToolBuilder.from_function",
    "inferencesh.agents.tools.AppToolBuilder",
    "inferencesh.agents.tools.AgentToolBuilder",
    "inferencesh.agents.tools.HttpToolBuilder",
    "inferencesh.agents.tools.InternalToolsBuilder",
    "inferencesh.agents.agent.Agent",
    "inferencesh.agents.agent.Agent.send_message",
    "inferencesh.agents.agent.Agent.run",
    "inferencesh.agents.agent.Agent.approve_tool",
    "inferencesh.agents.agent.AsyncAgent",
    "inferencesh.apps.app.BaseApp",
    "inferencesh.apps.app.BaseAppInput",
    "inferencesh.apps.app.BaseAppOutput",
    "inferencesh.apps.metadata.Metadata",
    "inferencesh.models",
    "inferencesh.models.llm.ModelSettings.as_kwargs",
    "inferencesh.models.llm.build_messages",
]


def _modules() -> list[str]:
    names = ["inferencesh"]
    for info in pkgutil.walk_packages(inferencesh.__path__, "inferencesh."):
        if not info.name.endswith("__main__"):  # running it is the CLI
            names.append(info.name)
    return names


def _collect() -> dict[str, doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    found: dict[str, doctest.DocTest] = {}
    for name in _modules():
        # Empty globals: an example must import what it uses, as a reader's script would.
        for test in finder.find(importlib.import_module(name), globs={}):
            if test.examples:
                found.setdefault(test.name, test)
    return found


TESTS = _collect()


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory) -> LocalPlatform:
    # No script from the caller's environment: the scripted model plays the agents' own scripts.
    return local_platform(
        [ROOT / "examples" / "apps"],
        agents=[ROOT / "examples" / "agents"],
        env={"SCRIPTED_MODEL_SCRIPT": None},
    )


@pytest.fixture
def reader_env(platform: LocalPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What a reader has: the key and URL in the environment, and the files the examples name."""
    monkeypatch.setenv("INFERENCE_API_KEY", platform.api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", platform.base_url)
    monkeypatch.delenv("INFERENCE_LOG", raising=False)
    (tmp_path / "report.txt").write_text(REPORT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_main_entry_points_have_examples() -> None:
    missing = [name for name in DOCUMENTED if name not in TESTS]
    assert missing == [], f"these lost their docstring example: {missing}"


@pytest.mark.parametrize("name", sorted(TESTS))
def test_docstring_example_runs(name: str, reader_env: Path) -> None:
    test = TESTS[name]
    test.globs = {"__name__": "__docstring_example__"}
    with inference() as client:
        test.globs["client"] = client
        report = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
        try:
            result = runner.run(test, out=report.write, clear_globs=True)
        finally:
            test.globs.clear()
    where = f"{test.filename}:{(test.lineno or 0) + 1} ({name})"
    assert result.failed == 0, f"docstring example of {where} failed:\n{report.getvalue()}"
    assert result.attempted > 0, where


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


# Models whose own schema no app serves: apps subclass them (a subclass's schema does not take
# the base's docstring), or, for Metadata, receive them as an argument.
_NEVER_SERVED = {"BaseAppInput", "BaseAppOutput", "BaseAppSetup", "Metadata"}


def test_examples_stay_out_of_the_schemas_apps_serve() -> None:
    """A pydantic model's docstring is its JSON Schema ``description``, which the platform shows:
    an example belongs there only on a model whose own schema is never served."""
    models = _models()
    assert {m.__name__ for m in models} >= _NEVER_SERVED | {"ChatInput", "OutputMeta"}
    leaked = []
    for model in models:
        served = type(f"Sub{model.__name__}", (model,), {"__module__": __name__})
        for schema_of in (served,) if model.__name__ in _NEVER_SERVED else (model, served):
            if ">>>" in json.dumps(schema_of.model_json_schema()):
                leaked.append(schema_of.__name__)
    assert leaked == []


def test_a_wrong_claim_fails_naming_the_object_and_line() -> None:
    """The runner this test uses reports a wrong example with its object and line."""
    source = 'def f():\n    """Doc.\n\n    >>> 1 + 1\n    3\n    """\n'
    namespace: dict[str, object] = {"__name__": "made_up"}
    exec(compile(source, "made_up.py", "exec"), namespace)
    (test,) = doctest.DocTestFinder().find(namespace["f"], "made_up.f", globs={})
    report = io.StringIO()
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test, out=report.write)
    assert result.failed == 1
    assert "made_up.f" in report.getvalue()
    assert "Expected:\n    3\nGot:\n    2" in report.getvalue()
