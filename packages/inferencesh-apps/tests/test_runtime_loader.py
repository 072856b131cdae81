"""Loading app directories, discovering functions and binding the signatures used in the wild."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from apps_testkit import PRINTING_APP, app_in
from inferencesh.apps.runtime import AppLoadError, AppRunner, load_app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "apps"
# File's download cache in each test's own folder (conftest.py).
pytestmark = pytest.mark.usefixtures("file_cache")


def make_app(tmp_path: Path, source: str, manifest: str | None = None, **files: str) -> Path:
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "inference.py").write_text(textwrap.dedent(source))
    if manifest is not None:
        (app / "inf.yml").write_text(textwrap.dedent(manifest))
    for name, text in files.items():
        (app / f"{name}.py").write_text(textwrap.dedent(text))
    return app


def test_example_with_relative_import_and_manifest() -> None:
    app = load_app(EXAMPLES / "hello")
    assert app.name == "hello"
    assert app.manifest["category"] == "text"
    assert list(app.functions) == ["run"]
    assert app.setup_model is not None
    assert app.setup_model.__name__ == "AppSetup"
    assert app.default_function == "run"


def test_name_falls_back_to_directory_and_absolute_sibling_imports_work(tmp_path: Path) -> None:
    app_dir = make_app(
        tmp_path,
        """
        from pydantic import BaseModel
        import sibling_helpers_xyz

        class In(BaseModel):
            x: int

        class App:
            def run(self, data: In) -> In:
                return In(x=sibling_helpers_xyz.double(data.x))
        """,
        sibling_helpers_xyz="def double(x):\n    return 2 * x\n",
    )
    app = load_app(app_dir)
    assert app.name == "app"
    assert app.manifest == {}


def test_multi_function_discovery_skips_lifecycle_private_and_untyped(tmp_path: Path) -> None:
    app_dir = make_app(
        tmp_path,
        '''
        from collections.abc import AsyncGenerator
        from pydantic import BaseModel
        from inferencesh import BaseApp, Metadata

        class A(BaseModel):
            x: int = 0

        class B(BaseModel):
            y: int = 0

        class App(BaseApp):
            async def setup(self, config: A): ...
            async def unload(self): ...
            async def on_cancel(self): ...

            async def second(self, data: A, metadata: Metadata) -> B:
                """Turn an A into a B.

                More text that is not part of the description."""
                return B(y=data.x)

            async def stream(self, data: A) -> AsyncGenerator[B, None]:
                yield B()

            def helper(self, value: int) -> int:
                return value

            def _private(self, data: A) -> B:
                return B()

            def untyped(self, data):
                return data

            @staticmethod
            def static(data: A) -> B:
                return B()
        ''',
    )
    app = load_app(app_dir)
    # BaseApp's default `run` is not a function of an app that does not define one.
    assert list(app.functions) == ["second", "stream"]
    assert app.default_function == "second"
    assert app.functions["second"].description == "Turn an A into a B."
    assert app.functions["stream"].output_model is not None
    assert app.functions["stream"].output_model.__name__ == "B"


def test_default_function_from_manifest(tmp_path: Path) -> None:
    source = """
        from pydantic import BaseModel
        class M(BaseModel):
            v: int = 1
        class App:
            def run(self, m: M) -> M:
                return m
            def other(self, m: M) -> M:
                return M(v=m.v + 1)
        """
    app = load_app(make_app(tmp_path, source, "default_function: other\n"))
    assert app.default_function == "other"
    with pytest.raises(AppLoadError, match="default_function 'nope' is not a function"):
        load_app(make_app(tmp_path, source, "default_function: nope\n"))


@pytest.mark.parametrize(
    ("source", "manifest", "message"),
    [
        (None, None, "has no inference.py"),
        ("x = 1\n", None, "defines no `App` class"),
        ("class App:\n    pass\n", None, "`App` has no functions"),
        ("def broken(:\n", None, "SyntaxError"),
        ("raise RuntimeError('at import')\n", None, "RuntimeError: at import"),
        ("class App:\n    def run(self, x): ...\n", "name: [unclosed\n", "not valid YAML"),
        ("class App:\n    def run(self, x): ...\n", "- a list\n", "must be a mapping"),
    ],
)
def test_load_errors_say_what_is_wrong(
    tmp_path: Path, source: str | None, manifest: str | None, message: str
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    if source is not None:
        (app / "inference.py").write_text(source)
    if manifest is not None:
        (app / "inf.yml").write_text(manifest)
    with pytest.raises(AppLoadError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_app(app)


def test_import_error_shows_the_apps_own_frame(tmp_path: Path) -> None:
    app = make_app(tmp_path, "x = 1\nraise ValueError('line two')\n")
    with pytest.raises(AppLoadError) as info:
        load_app(app)
    assert 'inference.py", line 2' in str(info.value)
    assert "importlib" not in str(info.value)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError, match="app directory not found"):
        load_app(tmp_path / "nowhere")


def test_app_constructor_failure_is_a_load_error(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        """
        class App:
            def __init__(self):
                raise OSError("no GPU")
            def run(self, x): ...
        """,
    )
    with pytest.raises(AppLoadError, match="OSError: no GPU"):
        AppRunner.from_dir(app)


def test_loading_twice_gives_fresh_module_state(tmp_path: Path) -> None:
    source = """
        from pydantic import BaseModel
        class M(BaseModel):
            v: int = 0
        CALLS = []
        class App:
            def run(self, m: M) -> M:
                CALLS.append(1)
                return M(v=len(CALLS))
        """
    app_dir = make_app(tmp_path, source)
    first = load_app(app_dir)
    second = load_app(app_dir)
    assert first.module is not second.module


# -- signatures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "setup_args", "run_args"),
    [
        ("setup_none", [], ["In", "hi"]),
        ("setup_config", ["AppSetup", "base"], ["In", "hi", "Metadata"]),
        ("setup_metadata", ["Metadata", "t-42"], ["In", "hi", "Metadata", "t-42"]),
        ("setup_config_metadata", ["AppSetup", "base", "Metadata"], ["AppInput", "hi", "Metadata"]),
    ],
)
async def test_signature_examples_get_exactly_what_they_declare(
    app: str, setup_args: list[str], run_args: list[str]
) -> None:
    runner = AppRunner.from_dir(EXAMPLES / "signatures" / app)
    result = await runner.run({"word": "hi"}, metadata={"task_id": "t-42"})
    await runner.unload()
    assert result.error is None, result.error
    assert result.output == {"setup_args": setup_args, "run_args": run_args}


@pytest.mark.parametrize(
    ("setup", "run", "expected"),
    [
        # Parameter names and annotations decide; position breaks ties.
        ("def setup(self, meta): self.got = [type(meta).__name__]", "", ["Metadata"]),
        ("def setup(self, c): self.got = [type(c).__name__]", "", ["Metadata"]),
        (
            "def setup(self, settings): self.got = [type(settings).__name__]",
            "",
            ["Metadata"],
        ),
        (
            "def setup(self, m: Metadata, cfg: Cfg): self.got = [type(m).__name__, type(cfg).__name__]",
            "",
            ["Metadata", "Cfg"],
        ),
        ("def setup(self, *, metadata): self.got = [type(metadata).__name__]", "", ["Metadata"]),
        (
            "def setup(self, config: Cfg, metadata=None, extra=3): self.got = [type(config).__name__, type(metadata).__name__, extra]",
            "",
            ["Cfg", "Metadata", 3],
        ),
        (
            "def setup(self, **kwargs): self.got = sorted(kwargs)",
            "",
            [],
        ),
    ],
)
async def test_setup_binding_forms(
    tmp_path: Path, setup: str, run: str, expected: list[object]
) -> None:
    app_dir = make_app(
        tmp_path,
        f"""
        from typing import Any
        from pydantic import BaseModel
        from inferencesh import Metadata

        class Cfg(BaseModel):
            size: int = 1

        class Out(BaseModel):
            got: list[Any]

        class App:
            {setup}

            def run(self, data: Cfg, flag: bool = True, *, metadata: Metadata) -> Out:
                assert flag is True and isinstance(metadata, Metadata)
                return Out(got=self.got)
        """,
    )
    runner = AppRunner.from_dir(app_dir)
    result = await runner.run({})
    await runner.unload()
    assert result.output == {"got": expected}, result.error


async def test_a_run_parameter_the_runtime_cannot_fill_is_a_load_error(tmp_path: Path) -> None:
    app_dir = make_app(
        tmp_path,
        """
        class App:
            def run(self, a, b, c):
                return {}
        """,
    )
    with pytest.raises(AppLoadError, match="parameter `c` the runtime cannot fill"):
        load_app(app_dir)


# -- load errors name file and line; sibling modules; installed packages left alone --------


def test_a_syntax_error_names_file_and_line_without_import_machinery(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "inference.py").write_text("x = 1\n\ndef run(self) -> None\n    pass\n")
    with pytest.raises(AppLoadError) as info:
        load_app(app)
    text = str(info.value)
    assert "inference.py, line 3" in text
    assert "def run(self) -> None" in text
    # Before: the whole importlib traceback followed the message.
    assert "importlib" not in text
    assert "Traceback" not in text


def test_a_runtime_error_at_import_names_file_and_line_in_its_first_line(tmp_path: Path) -> None:
    app = app_in(tmp_path, "\nVALUE = undefined_name\n")
    with pytest.raises(AppLoadError) as info:
        load_app(app)
    first = str(info.value).splitlines()[0]
    assert "NameError: name 'undefined_name' is not defined" in first
    assert f"{app / 'inference.py'}, line 6" in first


async def test_apps_with_same_named_sibling_modules_each_get_their_own(tmp_path: Path) -> None:
    source = """
    import review_shared_helpers

    class In(BaseModel):
        x: int = 1

    class Out(BaseModel):
        who: str

    class App:
        def run(self, data: In) -> Out:
            return Out(who=review_shared_helpers.WHO)
    """
    first = app_in(tmp_path, source, name="first")
    second = app_in(tmp_path, source, name="second")
    (first / "review_shared_helpers.py").write_text("WHO = 'first'\n")
    (second / "review_shared_helpers.py").write_text("WHO = 'second'\n")

    async def who(app: Path) -> Any:
        runner = AppRunner.from_dir(app)
        try:
            return (await runner.run({})).output
        finally:
            await runner.unload()

    # Before: the second app silently imported the first app's module of the same name, and a
    # reload never saw an edited sibling module.
    assert await who(first) == {"who": "first"}
    assert await who(second) == {"who": "second"}
    assert await who(first) == {"who": "first"}
    (first / "review_shared_helpers.py").write_text("WHO = 'first, edited'\n")
    assert await who(first) == {"who": "first, edited"}


def test_loading_an_app_leaves_installed_packages_alone_even_in_a_venv_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pydantic

    app = app_in(tmp_path, PRINTING_APP)
    (app / "labels.txt").write_text("x\n")
    # A virtual environment kept in the app folder, holding a package that is already imported.
    site = app / ".venv" / "lib" / "site-packages" / "review_venv_pkg"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(site.parent)  # as if installed there (pytest restores sys.path)
    try:
        import review_venv_pkg  # type: ignore[import-not-found]

        cwd = os.getcwd()
        os.chdir(app)
        try:
            load_app(app)
            load_app(app)
        finally:
            os.chdir(cwd)
        assert sys.modules["review_venv_pkg"] is review_venv_pkg
        assert sys.modules["pydantic"] is pydantic
    finally:
        sys.modules.pop("review_venv_pkg", None)


def test_a_default_function_that_is_not_a_name_is_a_load_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_in(tmp_path, PRINTING_APP)
    (app / "labels.txt").write_text("x\n")
    monkeypatch.chdir(app)
    (app / "inf.yml").write_text("default_function: [run]\n")
    # Before: TypeError: unhashable type: 'list'.
    with pytest.raises(AppLoadError, match=r"default_function \['run'\] is not a function"):
        load_app(app)
