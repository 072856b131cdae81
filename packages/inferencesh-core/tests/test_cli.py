"""The `inferencesh` command's groups: a sibling's group that is not installed says what to install."""

from __future__ import annotations

import pytest
from inferencesh.core import cli


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
