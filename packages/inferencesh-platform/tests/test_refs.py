"""App refs on the local platform: the parser, aliases (files, errors, chains) and the resolver,
unit by unit and end to end (the seed's ``infsh/flux-schnell`` run through ``/apps/run``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from inferencesh import NotFoundError, inference
from inferencesh.platform.config import AppEntry, PlatformConfig, discover_apps
from inferencesh.platform.errors import PlatformError
from inferencesh.platform.launcher import LocalPlatform
from inferencesh.platform.refs import (
    AliasError,
    Aliases,
    AppRef,
    AppResolver,
    RefError,
    UnknownAppError,
    parse_ref,
)
from inferencesh.platform.server import Platform
from platform_testkit import OWN, PlatformFactory

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "apps"

# --- the parser --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", AppRef("hello")),
        ("local/hello", AppRef("hello", "local")),
        ("infsh/flux-schnell@latest", AppRef("flux-schnell", "infsh", "latest")),
        ("ns/app@1.2.0:reverse", AppRef("app", "ns", "1.2.0", "reverse")),
        ("app:run", AppRef("app", function="run")),
        ("  my-org/My_App@abc123  ", AppRef("My_App", "my-org", "abc123")),
    ],
)
def test_parse_ref_forms(text: str, expected: AppRef) -> None:
    parsed = parse_ref(text)
    assert parsed == expected
    assert str(parsed) == text.strip()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("@v1", "empty name"),
        ("/hello", "empty namespace"),
        ("ns/hello@", "empty version"),
        ("ns/hello:", "empty function"),
        ("a/b/c", "namespace 'a/b'"),
        ("ns/my app", "name 'my app' must not contain spaces"),
        ("ns/x@1@2", "version '1@2'"),
    ],
)
def test_parse_ref_errors_say_which_part(text: str, message: str) -> None:
    with pytest.raises(RefError, match=message):
        parse_ref(text)


# --- alias files -------------------------------------------------------------------------------


def _aliases(tmp_path: Path, text: str, name: str = "aliases.yaml") -> Aliases:
    path = tmp_path / name
    path.write_text(text)
    return Aliases(files=[path])


def test_aliases_match_versioned_first_then_unversioned(tmp_path: Path) -> None:
    aliases = _aliases(
        tmp_path,
        "# cloud refs on local apps\n"
        "infsh/flux-schnell: local/image-generation\n"
        "infsh/flux-schnell@v2: local/hello\n"
        "Infsh/Reverse: local/multi-function:reverse\n",
    )

    def apply(ref: str) -> str:
        return str(aliases.apply(parse_ref(ref))[0])

    assert apply("infsh/flux-schnell@latest") == "local/image-generation"
    assert apply("infsh/flux-schnell") == "local/image-generation"
    assert apply("infsh/flux-schnell@v2") == "local/hello"
    # case-insensitive; the target's function applies unless the ref names its own
    assert apply("infsh/reverse@latest") == "local/multi-function:reverse"
    assert apply("infsh/reverse:run") == "local/multi-function:run"
    assert apply("local/hello") == "local/hello"  # no alias: unchanged
    origin = aliases.table()["infsh/flux-schnell"].origin
    assert origin == f"{tmp_path / 'aliases.yaml'}:2"


def test_alias_chains_are_followed_and_cycles_rejected(tmp_path: Path) -> None:
    aliases = _aliases(tmp_path, "infsh/a: infsh/b@latest\ninfsh/b: local/hello\n")
    target, used = aliases.apply(parse_ref("infsh/a"))
    assert str(target) == "local/hello" and [str(a.source) for a in used] == ["infsh/a", "infsh/b"]
    cyclic = _aliases(tmp_path, "infsh/a: infsh/b\ninfsh/b: infsh/a\n", "cycle.yaml")
    with pytest.raises(AliasError, match=r"cycle: infsh/a -> infsh/b -> infsh/a .*cycle\.yaml:2"):
        cyclic.apply(parse_ref("infsh/a"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("infsh/a: local/a\ninfsh/b: [local/b]\n", r"aliases\.yaml:2: each entry must be"),
        ("infsh/a: local/a\n\ninfsh/b:\n", r"aliases\.yaml:3: alias 'infsh/b' has no target"),
        ("infsh/a: local/a b\n", r"aliases\.yaml:1: alias 'infsh/a': target .*spaces"),
        ("infsh/a:run: local/a\n", r"aliases\.yaml:1: alias 'infsh/a:run' names a function"),
        (
            "infsh/a: local/a\nINFSH/A: local/b\n",
            r"aliases\.yaml:2: .* repeated \(first at line 1\)",
        ),
        ("- infsh/a\n", r"aliases\.yaml:1: expected a mapping"),
        (
            "infsh/a: [unclosed\n",
            r"aliases\.yaml:2: not valid YAML: while parsing a flow sequence expected ','",
        ),
    ],
)
def test_bad_alias_files_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(AliasError, match=message):
        _aliases(tmp_path, text).table()


def test_bad_json_alias_files_name_the_key(tmp_path: Path) -> None:
    bad = _aliases(tmp_path, '{"infsh/a": "local/a", "infsh/b": 3}', "aliases.json")
    with pytest.raises(AliasError, match=r"aliases\.json: key 'infsh/b': the target must be"):
        bad.table()
    good = _aliases(tmp_path, '{"infsh/a": "local/a"}', "good.json")
    assert good.apply(parse_ref("infsh/a@latest"))[0] == AppRef("a", "local")
    with pytest.raises(AliasError, match=r"missing\.yaml: cannot read"):
        Aliases(files=[tmp_path / "missing.yaml"]).table()


def test_alias_sources_later_win_and_edits_apply(tmp_path: Path) -> None:
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "aliases.yaml").write_text("infsh/a: local/from-agents\ninfsh/b: local/b\n")
    explicit = tmp_path / "platform-aliases.yml"
    explicit.write_text("infsh/a: local/from-file\n")
    aliases = Aliases(files=[explicit], dirs=[agents, tmp_path / "no-such-dir"])
    assert aliases.sources() == [agents / "aliases.yaml", explicit]
    assert str(aliases.apply(parse_ref("infsh/a"))[0]) == "local/from-file"
    assert str(aliases.apply(parse_ref("infsh/b"))[0]) == "local/b"
    explicit.write_text("infsh/a: local/edited-and-longer\n")
    stat = explicit.stat()  # a different size and mtime, so the cache sees the edit
    os.utime(explicit, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert str(aliases.apply(parse_ref("infsh/a"))[0]) == "local/edited-and-longer"


def test_resolver_finds_the_local_app_and_lists_apps_and_aliases(tmp_path: Path) -> None:
    apps = [AppEntry("hello", tmp_path / "hello"), AppEntry("image-generation", tmp_path / "img")]
    aliases = _aliases(
        tmp_path, "infsh/flux-schnell: local/image-generation\ninfsh/gone: local/missing\n"
    )
    resolver = AppResolver(apps, aliases)
    for ref in ("local/hello", "hello", "infsh/hello@abc", "HELLO"):
        assert resolver.resolve(ref).app.name == "hello"
    found = resolver.resolve("infsh/flux-schnell@latest:run")
    assert found.app.name == "image-generation" and found.function == "run"
    assert [str(a.source) for a in found.via] == ["infsh/flux-schnell"]
    with pytest.raises(UnknownAppError) as info:
        resolver.resolve("someone/unknown")
    message = str(info.value)
    assert "available: local/hello, local/image-generation" in message
    assert "infsh/flux-schnell -> local/image-generation" in message
    with pytest.raises(UnknownAppError, match=r"alias of local/missing, .*aliases\.yaml:2"):
        resolver.resolve("infsh/gone")


# --- end to end: /apps/run with our client ------------------------------------------------------


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform(
        [EXAMPLES / "image-generation", EXAMPLES / "multi_function", EXAMPLES / "hello"],
        agents=[OWN / "agents"],
        files={
            "aliases.yaml": (
                "infsh/flux-schnell: local/image-generation\n"
                "infsh/reverse: local/multi-function:reverse\n"
            ),
            "agents/aliases.yaml": "infsh/greeter: local/hello\n",
        },
        args=["--aliases", OWN / "aliases.yaml"],
    )


def test_seed_cloud_ref_runs_through_an_alias(server: LocalPlatform) -> None:
    with inference(api_key=server.api_key, base_url=server.base_url) as client:
        # The seed's first example, as written.
        result = client.run(
            {"app": "infsh/flux-schnell", "input": {"prompt": "A sunset over mountains"}}
        )
        assert result["app"] == "local/image-generation"
        assert result["output"]["prompt"] == "A sunset over mountains"
        image = httpx.get(result["output"]["image"]["uri"], trust_env=False)
        assert image.content.startswith(b"\x89PNG")
        reversed_ = client.run({"app": "infsh/reverse@latest", "input": {"text": "abc"}})
        assert reversed_["function"] == "reverse"
        assert reversed_["output"] == {"reversed_text": "cba"}
        # An agents directory's aliases.yaml applies to /apps/run too.
        greeted = client.run({"app": "infsh/greeter@latest", "input": {"prompt": "hi"}})
        assert greeted["app"] == "local/hello"
        with pytest.raises(NotFoundError) as info:
            client.run({"app": "infsh/unknown-model", "input": {}})
    assert "local/hello" in str(info.value)
    assert "infsh/flux-schnell -> local/image-generation" in str(info.value)


def test_malformed_ref_is_a_400_saying_why(server: LocalPlatform) -> None:
    response = httpx.post(
        f"{server.base_url}/apps/run",
        json={"app": "infsh/flux@", "input": {}},
        headers={"Authorization": f"Bearer {server.api_key}"},
        trust_env=False,
    )
    assert response.status_code == 400
    assert "empty version" in response.json()["error"]["message"]


def test_server_lists_aliases_at_start(server: LocalPlatform) -> None:
    log = server.log_path.read_text()
    assert "alias:   infsh/flux-schnell -> local/image-generation" in log
    assert "alias:   infsh/greeter -> local/hello" in log


def test_bad_alias_file_stops_the_start_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "aliases.yaml"
    bad.write_text("infsh/a: local/hello\ninfsh/b: {nested: map}\n")
    platform = LocalPlatform(
        [EXAMPLES / "hello"], data_dir=tmp_path / "data", args=["--aliases", str(bad)]
    )
    with pytest.raises(RuntimeError) as info:
        platform.start()
    assert f"exited with code 2:\nerror: {bad}:2: each entry must be" in str(info.value)


def test_platform_maps_ref_errors_to_statuses(tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("infsh/flux-schnell: local/hello\n")
    config = PlatformConfig(
        data_dir=tmp_path / "data", apps=discover_apps([EXAMPLES / "hello"]), alias_files=[aliases]
    )
    platform = Platform(config)
    try:
        assert platform.resolve_app("infsh/flux-schnell@latest").app.name == "hello"
        for ref, status in [("infsh/", 400), ("infsh/nope", 404)]:
            with pytest.raises(PlatformError) as info:
                platform.resolve_app(ref)
            assert info.value.status == status
        # An alias file broken while the server runs fails runs, saying where.
        aliases.write_text("infsh/flux-schnell: [local/hello]\n")
        with pytest.raises(PlatformError) as info:
            platform.resolve_app("infsh/flux-schnell")
        assert info.value.status == 500 and info.value.code == "invalid_configuration"
        assert f"{aliases}:1: each entry must be" in info.value.message
    finally:
        platform.store.close()


def test_refs_are_resolved_once_only_when_no_alias_can_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps = discover_apps([EXAMPLES / "hello"])
    fixed = Platform(PlatformConfig(data_dir=tmp_path / "fixed", apps=apps))
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("infsh/x: local/hello\n")
    aliased = Platform(
        PlatformConfig(data_dir=tmp_path / "aliased", apps=apps, alias_files=[aliases])
    )
    try:
        for platform in (fixed, aliased):
            calls: list[str] = []
            real = platform.refs.resolve

            def counted(ref: str, real: Any = real, calls: list[str] = calls) -> Any:
                calls.append(ref)
                return real(ref)

            monkeypatch.setattr(platform.refs, "resolve", counted)
            for _ in range(3):
                assert platform.resolve_app("local/hello").app.name == "hello"
            with pytest.raises(PlatformError):  # a ref that names nothing is never kept
                platform.resolve_app("local/nope")
            with pytest.raises(PlatformError):
                platform.resolve_app("local/nope")
            expected = 1 if platform is fixed else 3
            assert calls.count("local/hello") == expected and calls.count("local/nope") == 2
        # With an alias file, an edit applies to the next run.
        aliases.write_text("infsh/x: local/nope\n")
        with pytest.raises(PlatformError):
            aliased.resolve_app("infsh/x")
    finally:
        fixed.store.close()
        aliased.store.close()
