"""Token deltas against the published 0.36 package (in `.venvs/published`):

* its task stream reads our platform's delta lines: ``client.run(..., stream=True)`` yields its
  ``_delta`` updates carrying the output merged so far, and the last one equals the result;
* differential: the same deltas merged by its ``DeltaAccumulator`` and by ours give the same
  state (its merge rules are the ``_field_tags`` convention ours follows).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from inferencesh.models import DeltaAccumulator, LLMDelta
from inferencesh.platform.launcher import LocalPlatform
from platform_testkit import PlatformFactory, run_published

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "apps"

STREAM = textwrap.dedent(
    """
    import json, sys
    import inferencesh
    from inferencesh import inference

    base_url, api_key = sys.argv[1:3]
    client = inference(api_key=api_key, base_url=base_url)
    script = [{"text": "tokens arrive one by one", "delay": 0.05,
               "tool_calls": [{"name": "note", "arguments": {"k": 1}}]}]
    params = {"app": "local/scripted-model", "input": {"text": "x", "script": script}}
    deltas, final = [], None
    for update in client.run(params, stream=True):
        if update.get("_delta"):
            deltas.append(update["output"])
        else:
            final = update
    print(json.dumps({"version": inferencesh.__version__, "deltas": deltas,
                      "final": final and final.get("output"), "status": final and final.get("status")}))
    """
)


@pytest.fixture(scope="module")
def server(local_platform: PlatformFactory) -> LocalPlatform:
    return local_platform([EXAMPLES / "scripted-model"])


def test_published_client_reads_our_delta_lines(
    server: LocalPlatform, published_python: Path, tmp_path: Path
) -> None:
    out = run_published(published_python, STREAM, [server.base_url, server.api_key], tmp_path)
    assert out["status"] == 10
    texts = [d.get("response", "") for d in out["deltas"]]
    # Its synthetic updates carry the accumulated text, growing word by word.
    assert texts[:5] == [
        "tokens",
        "tokens arrive",
        "tokens arrive one",
        "tokens arrive one by",
        "tokens arrive one by one",
    ]
    assert out["final"]["response"] == "tokens arrive one by one"
    assert out["final"]["tool_calls"][0]["function"]["name"] == "note"


# Deltas as plain JSON (the wire form): both accumulators merge the LLMDelta of each.
CASES: list[list[dict[str, Any]]] = [
    [{"response": "Hel"}, {"response": "lo"}, {"response": " world", "reasoning": "r1"}],
    [{"reasoning": "think "}, {"reasoning": "more"}, {"response": "ok"}],
    [
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a"'},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
        {"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "sub"}}]},
        {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]},
    ],
    [
        {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "second"}}]},
        {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "first"}}]},
        {"tool_calls": [{"index": 1, "function": {"name": "renamed", "arguments": "x"}}]},
    ],
    [{"response": "a", "usage": {"prompt_tokens": 3}}, {"usage": {"completion_tokens": 5}}],
    [{"response": ""}, {"response": "x"}, {"reasoning": None, "response": "y"}],
    [
        {"tool_calls": [{"id": "no-index", "function": {"arguments": "1"}}]},
        {"tool_calls": [{"function": {"arguments": "2"}}]},
    ],
]

DIFF = textwrap.dedent(
    """
    import json, sys
    import inferencesh
    from inferencesh import DeltaAccumulator
    from inferencesh.models import LLMDelta

    cases = json.loads(sys.stdin.read())
    results = []
    for case in cases:
        acc = DeltaAccumulator()
        for delta in case:
            acc.apply(LLMDelta.model_validate(delta))
        results.append(json.loads(json.dumps(acc.to_dict(), default=lambda v: v.value)))
    print(json.dumps({"version": inferencesh.__version__, "results": results}))
    """
)


def _ours(case: list[dict[str, Any]]) -> dict[str, Any]:
    acc = DeltaAccumulator()
    for delta in case:
        acc.apply(LLMDelta.model_validate(delta))
    result: dict[str, Any] = json.loads(json.dumps(acc.to_dict()))
    return result


def test_delta_merging_equals_the_published_accumulator(
    published_python: Path, tmp_path: Path
) -> None:
    published = run_published(published_python, DIFF, [], tmp_path, stdin=json.dumps(CASES))
    assert published["version"].startswith("0.36")
    for case, theirs in zip(CASES, published["results"], strict=True):
        assert _ours(case) == theirs, case
