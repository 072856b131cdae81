"""The guide pages no other test runs say what the code does.

* Every ```python block of ``docs/local-platform.md``, ``docs/worker.md`` and
  ``docs/local-agents.md`` runs as written (``tests/docs/docs_examples.py`` has the rules: skip
  markers, and ``# claimed output`` comments on print lines). The environment is the one the
  pages describe: ``inferencesh dev examples/apps --agents-dir examples/agents --aliases
  aliases.yaml`` (the page's own ``aliases.yaml`` block), ``INFERENCE_BASE_URL`` and
  ``INFERENCE_API_KEY`` exported, and a working directory holding ``examples/`` and
  ``notes.txt``. The real-model example talks to a loopback fake of the OpenAI API.
* Every ``--option`` the pages name exists in the real ``--help`` of the command it belongs to
  (for ``docs/apps.md``, line by line: each ``inferencesh app ...`` command against its own
  subcommand), every ``inferencesh dev`` option is in the page's options table, and the table's
  defaults are the parser's.
* The route tables of local-platform.md and local-agents.md are the routes the server serves.
* The start-up banner the page shows is what the server prints; the one-command demo runs.
* ``docs/index.md``: the install table's imports come from the distribution it names, the
  missing-distribution error is the real one, the Python versions are the declared ones.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docs_examples as docs
import httpx
import pytest
from agentloop_testkit import FakeOpenAI, chunk
from inferencesh.platform.cli import register_dev
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import OWN, PlatformFactory

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _fenced(page: str, lang: str) -> list[str]:
    """The bodies of a page's ```<lang> blocks."""
    return re.findall(rf"^```{lang}\n(.*?)^```$", _page(page), re.M | re.S)


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[Any]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def platform(local_platform: PlatformFactory, fake_openai: Any) -> LocalPlatform:
    # The aliases file the page shows, as written.
    aliases = next(b for b in _fenced("local-platform.md", "yaml") if "infsh/flux-schnell" in b)
    env = {
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_MODEL": "fake-model",
        "SCRIPTED_MODEL_SCRIPT": "",
    }
    return local_platform(
        [ROOT / "examples" / "apps"],
        agents=[ROOT / "examples" / "agents"],
        files={"aliases.yaml": aliases},
        args=["--aliases", OWN / "aliases.yaml", "--heartbeat", "1"],
        env=env,
    )


@pytest.fixture
def reader_env(platform: LocalPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What the pages' reader has: the exported key and URL, `examples/` and `notes.txt`."""
    monkeypatch.setenv("INFERENCE_API_KEY", platform.api_key)
    monkeypatch.setenv("INFERENCE_BASE_URL", platform.base_url)
    monkeypatch.delenv("INFERENCE_LOG", raising=False)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "notes.txt").write_text("meeting notes\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(page: str, namespace: dict[str, Any], **hooks: Any) -> list[Any]:
    try:
        ran, skipped = docs.run_page(page, namespace, **hooks)
    finally:
        client = namespace.get("client")
        if client is not None:
            client.close()
    assert [b.where for b in skipped] == []
    return list(ran)


def test_local_platform_page_runs(reader_env: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_local_platform"}
    ran = _run("local-platform.md", namespace)
    assert len(ran) == 9
    # The session example's second call ran on the first call's worker.
    assert namespace["again"]["session_id"] == namespace["first"]["session_id"]
    # The list example paged to the end of the task list.
    assert namespace["page"]["has_next"] is False
    assert namespace["page"]["total_items"] >= 5


def test_worker_page_runs(reader_env: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_worker"}
    ran = _run("worker.md", namespace)
    assert len(ran) == 1
    assert namespace["worker"].returncode == 0


def test_local_agents_page_runs(reader_env: Path, fake_openai: Any) -> None:
    def before_block(block: Any) -> None:
        if "local/openai-chat" in block.code:
            fake_openai.replies.append([chunk({"content": "Bonjour"}), chunk({"content": " !"})])

    namespace: dict[str, Any] = {"__name__": "docs_local_agents"}
    ran = _run("local-agents.md", namespace, before_block=before_block)
    assert len(ran) == 7
    # The MCP and hook examples ran their servers to the end.
    assert namespace["mcp_server"].poll() is not None
    # The real-model example sent the message to the model server, with its settings.
    _, body = fake_openai.requests[-1]
    assert body["model"] == "fake-model" and body["temperature"] == 0.2
    assert body["messages"][-1]["content"] == "Say hello in French"


def _help(*command: str) -> str:
    result = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout


def _options(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


def test_every_option_the_pages_name_exists() -> None:
    python = [sys.executable]
    cli = [*python, "-m", "inferencesh"]
    dev = _options(_help(*cli, "dev"))
    worker = _options(_help(*python, "-m", "inferencesh.apps.worker"))
    serve = _options(_help(*cli, "app", "serve"))
    for page, known in (
        ("local-platform.md", dev),
        ("local-agents.md", dev),
        ("worker.md", worker | serve),
    ):
        assert _options(_page(page)) - known == set(), page
    # Both ways of starting a worker, as worker.md shows them.
    usage = _fenced("worker.md", "bash")[0]
    assert _options(usage.splitlines()[0]) <= worker
    assert _options(usage.splitlines()[1]) <= serve


def _command_lines(page: str) -> list[str]:
    """Every ``inferencesh ...`` command a page shows: lines of its fenced blocks (a ``$ ``
    prompt and a trailing ``# comment`` dropped) and inline code spans."""
    text = _page(page)
    lines = []
    for body in re.findall(r"^```\w*\n(.*?)^```$", text, re.M | re.S):
        for line in body.splitlines():
            line = line.removeprefix("$ ").split("  #", 1)[0].strip()
            if line.startswith("inferencesh "):
                lines.append(line)
    outside = re.sub(r"^```\w*\n.*?^```$", "", text, flags=re.M | re.S)
    lines += [c for c in re.findall(r"`([^`\n]+)`", outside) if c.startswith("inferencesh ")]
    return lines


def test_every_command_line_of_the_apps_page_uses_options_that_exist() -> None:
    """Each ``inferencesh app ...`` line's options are in that subcommand's own ``--help``."""
    lines = _command_lines("apps.md")
    assert len(lines) >= 10
    helps: dict[tuple[str, ...], set[str]] = {}
    for line in lines:
        words = line.split()[1:]
        command = tuple(words[:2]) if words[0] == "app" else tuple(words[:1])
        if command not in helps:  # --help fails (check=True) for a subcommand that does not exist
            helps[command] = _options(_help(sys.executable, "-m", "inferencesh", *command))
        assert _options(line) - helps[command] == set(), line
    assert set(helps) == {("app", "init"), ("app", "test"), ("app", "schema"), ("app", "serve")}


def _table_defaults() -> dict[str, str]:
    """`inferencesh dev` options from local-platform.md's table: option -> default cell."""
    section = _page("local-platform.md").split("## Options", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        names = re.findall(r"`(--[a-z-]+)`", cells[0])
        defaults = [d.strip() for d in cells[1].split(",")]
        for index, name in enumerate(names):
            rows[name] = defaults[index] if len(defaults) == len(names) else cells[1]
    return rows


def test_the_options_table_lists_every_dev_option_with_its_default() -> None:
    commands = argparse.ArgumentParser().add_subparsers()
    register_dev(commands)
    dev = commands.choices["dev"]
    actions = {
        a.option_strings[0]: a
        for a in dev._actions
        if a.option_strings and a.option_strings[0] != "-h"
    }
    rows = _table_defaults()
    assert set(rows) == set(actions)
    for name, cell in rows.items():
        default = actions[name].default
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            assert float(cell) == default, name
        elif isinstance(default, bool):
            assert cell == ("on" if default else "off"), name
        elif isinstance(default, Path):
            assert cell.strip("`") == f"./{default}", name
        elif default == []:
            assert cell == "none", name
        elif name == "--log-level":
            assert cell.strip("`") == default, name


def test_the_start_banner_is_what_the_server_prints(platform: LocalPlatform) -> None:
    shown = next(b for b in _fenced("local-platform.md", "text") if "inferencesh dev:" in b)
    printed = platform.log_path.read_text().splitlines()
    for line in shown.splitlines():
        if line.strip() == "...":
            continue
        label = line.split(":", 1)[0]
        assert any(p.startswith(label + ":") for p in printed), (line, printed)
    assert printed[0] == f"inferencesh dev: {platform.base_url}"
    assert printed[1] == f"  api key: {platform.api_key}"
    # Generated on the first start and kept, readable by its owner only.
    key_file = platform.data_dir / "api_key"
    assert key_file.read_text().strip() == platform.api_key
    assert key_file.stat().st_mode & 0o777 == 0o600


def _documented_routes(page: str, heading: str) -> set[tuple[str, str]]:
    """(method, path) pairs in the first column of the route table under ``heading``."""
    section = _page(page).split(heading, 1)[1].split("\n## ", 1)[0]
    routes: set[tuple[str, str]] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        method = ""
        for code in re.findall(r"`([^`]+)`", line.split("|")[1]):
            found = re.fullmatch(r"(?:(GET|POST|PUT|DELETE) )?(/\S*)", code)
            if found is None:
                continue  # `PUT <upload_url>`: the signed storage URLs, not API routes
            method = found.group(1) or method
            routes.add((method, re.sub(r"\{[^}]*\}", "{}", found.group(2))))
    return routes


def test_the_route_tables_are_the_served_routes(platform: LocalPlatform) -> None:
    spec = httpx.get(
        f"{platform.base_url}/openapi.json",
        headers={"Authorization": f"Bearer {platform.api_key}"},
        trust_env=False,
    ).json()
    served = {
        (method.upper(), re.sub(r"\{[^}]*\}", "{}", path))
        for path, operations in spec["paths"].items()
        if not path.startswith("/storage/")
        for method in operations
    } | {("GET", "/openapi.json")}
    platform_routes = _documented_routes("local-platform.md", "## What it serves")
    agent_routes = _documented_routes("local-agents.md", "## Routes")
    # `/run` inherits POST from `/apps/run` in the same cell.
    assert ("POST", "/run") in platform_routes
    assert platform_routes | agent_routes == served


def test_the_home_page_names_the_right_distributions_and_pythons() -> None:
    import inferencesh

    page = _page("index.md")
    # Each row of the install table imports names its distribution provides.
    rows = re.findall(
        r"^\|[^|]+\| `pip install (inferencesh-\w+)` \| `from inferencesh import ([^`]+)` \|$",
        page,
        re.M,
    )
    assert len(rows) == 3
    for distribution, names in rows:
        for name in names.split(", "):
            assert inferencesh._EXPORTS[name][1] == distribution, (name, distribution)
    # The error shown for a missing distribution is the real message.
    shown = re.search(r"^ImportError: (.+)$", page, re.M)
    assert shown is not None
    assert shown.group(1) == str(inferencesh._missing("inferencesh-apps", "BaseApp"))
    # The Python versions are those every distribution declares.
    versions = re.search(r"Supported Python versions: (3\.\d+) to (3\.\d+)\.", page)
    assert versions is not None
    low, high = versions.groups()
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        text = pyproject.read_text()
        assert f'requires-python = ">={low}"' in text, pyproject
        declared = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', text)
        assert (declared[0], declared[-1]) == (low, high), pyproject


def test_the_one_command_demo_runs(tmp_path: Path) -> None:
    command = next(b for b in _fenced("local-agents.md", "bash") if "demo.py" in b).split()
    assert command == ["python", "examples/agents/demo.py"]
    result = subprocess.run(
        [sys.executable, command[1]], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "agent: Hello! You said: Hello!" in result.stdout
    assert "The dictionary says ion: " in result.stdout
