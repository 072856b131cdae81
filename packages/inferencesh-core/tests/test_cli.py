"""The `inferencesh` command's groups: a sibling's group that is not installed says what to install."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from core_testkit import BASE, KEY, Driver, FakePlatform
from inferencesh.core import (
    cli,
)
from inferencesh.core.cli import main
from pytest_httpx import HTTPXMock


@pytest.fixture
def core_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in an install of inferencesh-core alone: no sibling registers a command group."""
    monkeypatch.setattr(cli, "entry_points", lambda group: [])


@pytest.mark.usefixtures("core_only")
@pytest.mark.parametrize(
    ("argv", "distribution"),
    [
        (["dev", "examples/apps", "--port", "0"], "inferencesh-platform"),
        (["dev", "--help"], "inferencesh-platform"),
        (["app", "test", "my-app"], "inferencesh-apps"),
        (["app"], "inferencesh-apps"),
    ],
)
def test_missing_group_names_its_distribution(
    argv: list[str], distribution: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert f"`inferencesh {argv[0]}` is provided by the `{distribution}` distribution" in err
    assert f"pip install {distribution}" in err


@pytest.mark.usefixtures("core_only")
def test_missing_groups_are_listed_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "(not installed: pip install inferencesh-platform)" in out
    assert "(not installed: pip install inferencesh-apps)" in out


@pytest.mark.usefixtures("core_only")
def test_unknown_arguments_of_core_commands_still_fail(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "some/app", "--no-such-flag"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_each_group_is_real_exactly_when_its_entry_point_is_installed() -> None:
    """No placeholder shadows an installed group, and each absent one gets a placeholder."""
    from importlib.metadata import entry_points

    installed = {ep.name for ep in entry_points(group=cli.ENTRY_POINT_GROUP)}
    parser = cli.build_parser()
    groups = next(a for a in parser._actions if isinstance(a.choices, dict))
    for name in cli.COMMAND_GROUPS:
        # Placeholders are built without --help, so it tells them from the real parsers.
        assert groups.choices[name].add_help == (name in installed), name


# -- inferencesh run: output encodings, input files, timeouts ------------------------------


@pytest.fixture
def cli_platform(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> FakePlatform:
    monkeypatch.setenv("INFERENCE_API_KEY", KEY)
    monkeypatch.setenv("INFERENCE_BASE_URL", BASE)
    return FakePlatform().install(httpx_mock)


def _stdout(monkeypatch: pytest.MonkeyPatch, encoding: str) -> io.BytesIO:
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding=encoding))
    return raw


def test_run_output_survives_a_narrow_stdout_encoding(
    cli_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _stdout(monkeypatch, "cp1252")  # a Windows console or pipe
    text = "snow ☃ and café 😀"
    code = main(["run", "local/echo", "--input", json.dumps({"prompt": text})])
    sys.stdout.flush()
    assert code == 0
    printed = raw.getvalue().decode("cp1252")
    assert json.loads(printed)["echo"]["prompt"] == text  # escaped, nothing lost


def test_run_output_stays_readable_when_the_encoding_can_hold_it(
    cli_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _stdout(monkeypatch, "utf-8")
    assert main(["run", "local/echo", "--input", '{"prompt": "café ☃"}']) == 0
    sys.stdout.flush()
    assert '"prompt": "café ☃"' in raw.getvalue().decode("utf-8")


def test_run_reads_an_input_file_with_a_byte_order_mark(
    cli_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    request = tmp_path / "request.json"
    request.write_text('{"prompt": "from a BOM file"}', encoding="utf-8-sig")
    raw = _stdout(monkeypatch, "utf-8")
    assert main(["run", "local/echo", "--input", f"@{request}"]) == 0
    sys.stdout.flush()
    assert json.loads(raw.getvalue())["echo"] == {"prompt": "from a BOM file"}
    assert cli_platform.runs[0]["input"] == {"prompt": "from a BOM file"}


def test_run_refuses_a_nan_timeout(
    cli_platform: FakePlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "local/echo", "--timeout", "nan"]) == 2
    assert "--timeout must be a positive number of seconds, got nan" in capsys.readouterr().err
    assert cli_platform.runs == []


def test_a_nan_wait_timeout_is_refused(driver: Driver) -> None:
    with pytest.raises(ValueError, match="timeout must be a number of seconds or None, got nan"):
        driver.call(lambda c: c.wait_for_completion("t1", timeout=float("nan")))
